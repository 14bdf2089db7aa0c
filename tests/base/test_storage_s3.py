"""The S3 backend's own rules: its URL, where objects land, errors when the server is down or
misconfigured, and the outbound address policy applied to its endpoint at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cityloop.app import build_context
from cityloop.base.outbound import AddressPolicy
from cityloop.base.storage import (
    StorageKeyNotFound,
    StorageUnavailable,
    check_storage_endpoint,
    presigned_origin,
    storage_from_url,
)
from cityloop.base.storage_s3 import S3Storage, s3_storage
from cityloop.settings import Settings
from tests.support.s3 import S3Server, aws_credentials, s3_server
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with aws_credentials(), s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


def down_storage(**options: str) -> S3Storage:
    """A backend whose endpoint nothing listens on: the server is down."""
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return s3_storage(f"s3://media/?endpoint=http://127.0.0.1:{free_port()}&{query}")


def test_the_s3_scheme_is_registered_as_a_storage_entry_point(s3: S3Server) -> None:
    store = storage_from_url(s3.url(s3.new_bucket(), "media"))
    assert isinstance(store, S3Storage)


def test_the_url_gives_bucket_prefix_and_options() -> None:
    store = s3_storage(
        "s3://city-media/prod/blobs/?endpoint=https://s3.example.org:9000/"
        "&region=cn-north-1&addressing=virtual&timeout=5&attempts=2&presign=no"
    )
    assert store.bucket == "city-media"
    assert store.prefix == "prod/blobs/"
    assert store.endpoint == "https://s3.example.org:9000"
    assert store.presign is False


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("s3://KEY:SECRET@media/", "must not hold credentials"),
        ("s3:///prefix", "must name a bucket"),
        ("s3://media:9000/", "must name a bucket"),
        ("s3://Bad_Bucket/", "not a valid bucket name"),
        ("s3://media/?endpont=http://x", "unknown option endpont"),
        ("s3://media/?endpoint=ftp://host", "endpoint must be an http(s) URL"),
        ("s3://media/?endpoint=http://u:p@host", "endpoint must not hold credentials"),
        ("s3://media/?endpoint=http://host/path", "endpoint must be scheme://host[:port]"),
        ("s3://media/?timeout=0", "timeout must be from"),
        ("s3://media/?timeout=soon", "timeout must be from"),
        ("s3://media/?attempts=99", "attempts must be from"),
        ("s3://media/?presign=maybe", "presign must be true or false"),
        ("s3://media/?addressing=sideways", "addressing must be path, virtual or auto"),
        ("s3://media/../up?endpoint=http://h", "must not contain '..'"),
    ],
)
def test_a_malformed_url_is_refused_naming_the_problem(url: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        storage_from_url(url)


def test_objects_land_under_the_prefix_with_their_content_type(s3: S3Server) -> None:
    bucket = s3.new_bucket()
    store = storage_from_url(s3.url(bucket, "city/blobs"))

    store.put("media/ab/x.jpg", b"jpeg", "image/jpeg")

    head = s3.client.head_object(Bucket=bucket, Key="city/blobs/media/ab/x.jpg")
    assert head["ContentType"] == "image/jpeg"
    listed = s3.client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["city/blobs/media/ab/x.jpg"]


def test_a_server_that_is_down_is_unavailable_for_every_operation() -> None:
    store = down_storage(attempts="2", timeout="2")
    with pytest.raises(StorageUnavailable, match=re.escape("put 'a.bin'")):
        store.put("a.bin", b"x", "application/octet-stream")
    with pytest.raises(StorageUnavailable):
        store.get("a.bin")
    with pytest.raises(StorageUnavailable):
        store.exists("a.bin")
    with pytest.raises(StorageUnavailable):
        store.delete("a.bin")


def test_a_missing_bucket_is_unavailable_not_a_missing_key(s3: S3Server) -> None:
    store = storage_from_url(s3.url("no-such-bucket-here"))
    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        store.put("a.bin", b"x", "application/octet-stream")
    with pytest.raises(StorageUnavailable) as raised:
        store.get("a.bin")
    assert not isinstance(raised.value, StorageKeyNotFound)


def test_a_loopback_endpoint_is_refused_at_start_up_unless_admitted(s3: S3Server) -> None:
    store = storage_from_url(s3.url(s3.new_bucket()))

    with pytest.raises(ValueError, match=r"127\.0\.0\.1.*CITYLOOP_OUTBOUND_ALLOW"):
        check_storage_endpoint(store, AddressPolicy.from_setting(""))
    check_storage_endpoint(store, AddressPolicy.from_setting("127.0.0.1"))


def test_an_endpoint_named_by_host_is_checked_by_its_addresses() -> None:
    store = s3_storage("s3://media/?endpoint=http://localhost:9000")
    with pytest.raises(ValueError, match="localhost:9000"):
        check_storage_endpoint(store, AddressPolicy.from_setting(""))
    check_storage_endpoint(store, AddressPolicy.from_setting("localhost:9000"))


def test_aws_itself_needs_no_endpoint_check() -> None:
    store = s3_storage("s3://media/")
    check_storage_endpoint(store, AddressPolicy.from_setting(""))


def test_the_pages_may_show_images_from_where_signed_urls_point(s3: S3Server) -> None:
    assert presigned_origin(storage_from_url(s3.url(s3.new_bucket()))) == s3.endpoint
    assert presigned_origin(storage_from_url(s3.url(s3.new_bucket(), presign="false"))) is None


def test_the_server_does_not_start_with_an_endpoint_the_policy_refuses(
    s3: S3Server, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        run_background=False,
        storage_url=s3.url(s3.new_bucket()),
        outbound_allow="",
    )
    with pytest.raises(ValueError, match=r"s3 storage endpoint .*CITYLOOP_OUTBOUND_ALLOW"):
        build_context(settings)
