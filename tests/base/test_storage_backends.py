"""One behaviour suite for every storage backend: the local files and S3 (against an emulator
spoken to over HTTP) must answer the same way."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cityloop.base.storage import (
    LocalFileStorage,
    Storage,
    StorageKeyNotFound,
    StorageUnavailable,
    presigned_get,
    storage_from_url,
)
from tests.support.s3 import S3Server, aws_credentials, s3_server

BAD_KEYS = ["", "/etc/passwd", "../outside.txt", "media/../x", "media\\x.jpg", "media//x.jpg",
            "./x.jpg", "media/x.jpg/", "media/\x00x.jpg"]  # fmt: skip
MIB = 1024 * 1024
# A 251-byte cycle (prime, so parts never line up with it), long enough for any one read.
_CYCLE = bytes(range(251)) * (9 * MIB // 251 + 2)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with aws_credentials(), s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalFileStorage(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue("s3")
    return storage_from_url(server.url(server.new_bucket(), "blobs"))


class Generated(io.RawIOBase):
    """``size`` bytes made as they are read, never held whole; records each read's size and
    can fail after ``fail_after`` bytes, as a dropped upload does."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self.size, self.sent, self.fail_after = size, 0, fail_after
        self.reads: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise OSError("the client went away")
        count = min(len(buffer), self.size - self.sent)
        self.reads.append(count)
        start = self.sent % 251
        buffer[:count] = _CYCLE[start : start + count]
        self.sent += count
        return count


def expected_digest(size: int) -> str:
    digest, made = hashlib.sha256(), 0
    while made < size:
        count = min(MIB, size - made)
        digest.update(_CYCLE[made % 251 : made % 251 + count])
        made += count
    return digest.hexdigest()


def test_every_backend_implements_the_storage_protocol(store: Storage) -> None:
    assert isinstance(store, Storage)


def test_a_blob_put_is_read_back_and_exists(store: Storage) -> None:
    store.put("media/ab/abcdef.jpg", b"\xff\xd8\xffdata", "image/jpeg")

    assert store.get("media/ab/abcdef.jpg") == b"\xff\xd8\xffdata"
    assert store.exists("media/ab/abcdef.jpg")


def test_an_empty_blob_round_trips(store: Storage) -> None:
    store.put("empty.bin", b"", "application/octet-stream")
    assert store.get("empty.bin") == b""


def test_a_second_put_replaces_the_blob(store: Storage) -> None:
    store.put("media/x.jpg", b"old", "image/jpeg")
    store.put("media/x.jpg", b"new and longer", "image/jpeg")
    assert store.get("media/x.jpg") == b"new and longer"


def test_a_missing_key_is_not_found_and_does_not_exist(store: Storage) -> None:
    with pytest.raises(StorageKeyNotFound):
        store.get("media/nope.jpg")
    assert not store.exists("media/nope.jpg")


def test_delete_removes_the_blob_and_a_missing_key_is_no_error(store: Storage) -> None:
    store.put("media/x.jpg", b"x", "image/jpeg")

    store.delete("media/x.jpg")
    store.delete("media/x.jpg")
    store.delete("never/existed.jpg")

    assert not store.exists("media/x.jpg")
    with pytest.raises(StorageKeyNotFound):
        store.get("media/x.jpg")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_refused_by_every_operation(store: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        store.put_stream(key, io.BytesIO(b"x"), "text/plain")
    with pytest.raises(ValueError):
        store.get(key)
    with pytest.raises(ValueError):
        store.exists(key)
    with pytest.raises(ValueError):
        store.delete(key)
    with pytest.raises(ValueError):
        presigned_get(store, key, expires_in=60, content_type="text/plain",
                      disposition="inline", cache_control="no-store")  # fmt: skip


def test_a_large_blob_is_streamed_never_held_whole_in_memory(store: Storage) -> None:
    size = 40 * MIB + 12345
    source = Generated(size)

    tracemalloc.start()
    try:
        store.put_stream("datasets/big.bin", io.BufferedReader(source, MIB), "application/x-big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert source.sent == size
    # One upload part (8 MiB) and its buffers at most; reading the blob whole would be 40 MiB.
    assert peak < 24 * MIB, f"{peak / MIB:.1f} MiB held while streaming"
    assert hashlib.sha256(store.get("datasets/big.bin")).hexdigest() == expected_digest(size)


def test_a_stream_that_fails_midway_leaves_the_earlier_blob(store: Storage) -> None:
    store.put("datasets/big.bin", b"the earlier blob", "application/octet-stream")
    source = Generated(12 * MIB, fail_after=9 * MIB)

    with pytest.raises((OSError, StorageUnavailable)):
        store.put_stream("datasets/big.bin", io.BufferedReader(source, MIB), "application/x")

    assert store.get("datasets/big.bin") == b"the earlier blob"


def test_the_local_backend_signs_no_urls(tmp_path: Path) -> None:
    store = LocalFileStorage(tmp_path)
    store.put("media/x.jpg", b"x", "image/jpeg")
    url = presigned_get(store, "media/x.jpg", expires_in=60, content_type="image/jpeg",
                        disposition="inline", cache_control="no-store")  # fmt: skip
    assert url is None


def test_a_signed_url_serves_the_blob_with_the_asked_headers(s3: S3Server) -> None:
    store = storage_from_url(s3.url(s3.new_bucket(), "blobs"))
    store.put("media/ab/x.jpg", b"\xff\xd8\xffphoto", "image/jpeg")

    url = presigned_get(
        store, "media/ab/x.jpg", expires_in=120, content_type="image/jpeg",
        disposition='inline; filename="x.jpg"', cache_control="public, max-age=60",
    )  # fmt: skip
    assert url is not None
    fetched = httpx.get(url)  # no credentials: the signature is the permission

    assert fetched.status_code == 200
    assert fetched.content == b"\xff\xd8\xffphoto"
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == 'inline; filename="x.jpg"'
    assert fetched.headers["cache-control"] == "public, max-age=60"


def test_a_signed_url_carries_the_lifetime_asked_for(s3: S3Server) -> None:
    # The emulator does not enforce expiry; what the adapter controls is the signed lifetime,
    # which any real S3 server enforces (X-Amz-Expires counts from X-Amz-Date).
    store = storage_from_url(s3.url(s3.new_bucket()))
    store.put("k.bin", b"v", "application/octet-stream")

    url = presigned_get(store, "k.bin", expires_in=90, content_type="application/octet-stream",
                        disposition="inline", cache_control="no-store")  # fmt: skip

    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["90"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert len(query["X-Amz-Date"][0]) == len("20260101T000000Z")


def test_presigning_can_be_turned_off_so_the_app_serves_the_bytes(s3: S3Server) -> None:
    store = storage_from_url(s3.url(s3.new_bucket(), presign="false"))
    store.put("k.bin", b"v", "application/octet-stream")
    url = presigned_get(store, "k.bin", expires_in=90, content_type="application/octet-stream",
                        disposition="inline", cache_control="no-store")  # fmt: skip
    assert url is None
