"""Tests for cityloop.base.storage: local blob storage and URL resolution."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from cityloop.base import storage as storage_module
from cityloop.base.storage import (
    LocalFileStorage,
    Storage,
    StorageKeyNotFound,
    storage_from_url,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStorage:
    return LocalFileStorage(tmp_path / "blobs")


def _leftover_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_put_then_get_round_trips_bytes(store: LocalFileStorage) -> None:
    store.put("media/ab/abcdef.jpg", b"\xff\xd8\xffdata", "image/jpeg")

    assert store.get("media/ab/abcdef.jpg") == b"\xff\xd8\xffdata"
    assert store.exists("media/ab/abcdef.jpg")
    assert (store.root / "media" / "ab" / "abcdef.jpg").read_bytes() == b"\xff\xd8\xffdata"


def test_put_creates_root_and_nested_directories(tmp_path: Path) -> None:
    store = LocalFileStorage(tmp_path / "does" / "not" / "exist")
    store.put("a/b/c/d.bin", b"x", "application/octet-stream")
    assert store.get("a/b/c/d.bin") == b"x"


def test_stored_files_are_readable_by_other_processes(store: LocalFileStorage) -> None:
    store.put("media/x.jpg", b"x", "image/jpeg")
    mode = stat.S_IMODE((store.root / "media" / "x.jpg").stat().st_mode)
    assert mode == 0o644


def test_overwrite_replaces_content_and_leaves_no_temp_files(store: LocalFileStorage) -> None:
    store.put("media/x.jpg", b"old", "image/jpeg")
    store.put("media/x.jpg", b"new and longer", "image/jpeg")

    assert store.get("media/x.jpg") == b"new and longer"
    assert _leftover_temp_files(store.root) == []


def test_failed_write_keeps_the_old_blob_and_cleans_up(
    store: LocalFileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("media/x.jpg", b"old", "image/jpeg")

    def crash(*_args: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(storage_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        store.put("media/x.jpg", b"new", "image/jpeg")

    assert store.get("media/x.jpg") == b"old"
    assert _leftover_temp_files(store.root) == []


def test_write_is_fsynced_before_it_becomes_visible(
    store: LocalFileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: str, dst: object) -> None:
        events.append("replace")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(storage_module.os, "fsync", fsync)
    monkeypatch.setattr(storage_module.os, "replace", replace)
    store.put("media/x.jpg", b"data", "image/jpeg")

    assert events[:2] == ["fsync", "replace"]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside.txt",
        "media/../../outside.txt",
        "media/..",
        "..",
        "media\\x.jpg",
        "..\\outside.txt",
        "media//x.jpg",
        "./x.jpg",
        "media/x.jpg/",
        "media/\x00x.jpg",
    ],
)
def test_unsafe_keys_are_rejected_by_every_operation(store: LocalFileStorage, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        store.get(key)
    with pytest.raises(ValueError):
        store.exists(key)
    with pytest.raises(ValueError):
        store.delete(key)


def test_traversal_never_writes_outside_the_root(tmp_path: Path) -> None:
    store = LocalFileStorage(tmp_path / "root")
    with pytest.raises(ValueError):
        store.put("../escaped.txt", b"x", "text/plain")
    assert not (tmp_path / "escaped.txt").exists()


def test_missing_key_raises_storage_key_not_found(store: LocalFileStorage) -> None:
    with pytest.raises(StorageKeyNotFound) as info:
        store.get("media/nope.jpg")
    assert isinstance(info.value, KeyError)
    assert not store.exists("media/nope.jpg")


def test_directory_is_not_a_blob(store: LocalFileStorage) -> None:
    store.put("media/ab/x.jpg", b"x", "image/jpeg")

    assert not store.exists("media/ab")
    with pytest.raises(StorageKeyNotFound):
        store.get("media/ab")
    store.delete("media/ab")
    assert store.exists("media/ab/x.jpg")


def test_storage_from_file_url_gives_local_storage(tmp_path: Path) -> None:
    store = storage_from_url(f"file://{tmp_path}/blobs")

    assert isinstance(store, LocalFileStorage)
    assert store.root == tmp_path / "blobs"
    store.put("k.bin", b"v", "application/octet-stream")
    assert (tmp_path / "blobs" / "k.bin").read_bytes() == b"v"


def test_storage_from_plain_path_gives_local_storage(tmp_path: Path) -> None:
    store = storage_from_url(str(tmp_path / "plain"))
    assert isinstance(store, LocalFileStorage)
    assert store.root == tmp_path / "plain"


def test_storage_from_file_url_with_escaped_characters(tmp_path: Path) -> None:
    store = storage_from_url(f"file://{tmp_path}/with%20space")
    assert isinstance(store, LocalFileStorage)
    assert store.root == tmp_path / "with space"


@pytest.mark.parametrize("url", ["", "file://otherhost/srv/blobs", "file:relative/dir"])
def test_storage_from_url_rejects_malformed_file_urls(url: str) -> None:
    with pytest.raises(ValueError):
        storage_from_url(url)


def test_storage_from_url_names_the_unknown_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_module, "entry_points", lambda group: [])
    with pytest.raises(ValueError, match="no storage backend for scheme 'gopher'"):
        storage_from_url("gopher://example.org/blobs")


def test_storage_from_url_uses_the_entry_point_registered_for_the_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def factory(url: str) -> Storage:
        calls.append(url)
        return LocalFileStorage(tmp_path / "plugin")

    registered = [
        SimpleNamespace(name="other", value="pkg:other", load=lambda: None),
        SimpleNamespace(name="s3", value="pkg:make_s3", load=lambda: factory),
    ]
    seen_groups: list[str] = []

    def fake_entry_points(group: str) -> list[SimpleNamespace]:
        seen_groups.append(group)
        return registered

    monkeypatch.setattr(storage_module, "entry_points", fake_entry_points)
    store = storage_from_url("s3://bucket/prefix")

    assert seen_groups == ["cityloop.storage"]
    assert calls == ["s3://bucket/prefix"]
    assert isinstance(store, LocalFileStorage)


def test_storage_from_url_rejects_a_backend_that_is_not_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bogus = SimpleNamespace(name="s3", value="pkg:bogus", load=lambda: lambda url: object())
    monkeypatch.setattr(storage_module, "entry_points", lambda group: [bogus])
    with pytest.raises(TypeError, match="does not implement Storage"):
        storage_from_url("s3://bucket")
