"""Blob storage: a tiny interface plus a local-filesystem implementation.

Other backends plug in through the ``cityloop.storage`` entry-point group: each entry point is
named after a URL scheme and points at a factory taking the full URL and returning a
:class:`Storage`. The S3-compatible one (``s3://``) is in ``storage_s3.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import BinaryIO, Final, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from cityloop.base.outbound.policy import AddressPolicy

__all__ = [
    "ENTRY_POINT_GROUP",
    "LocalFileStorage",
    "Presigning",
    "Storage",
    "StorageKeyNotFound",
    "StorageUnavailable",
    "check_storage_endpoint",
    "presigned_get",
    "presigned_origin",
    "storage_from_url",
    "validate_key",
]

ENTRY_POINT_GROUP: Final = "cityloop.storage"

# Blobs are served to other processes (web server, workers), so use the usual
# 0644 instead of mkstemp's 0600.
_FILE_MODE: Final = 0o644


# Chunk size when copying a stream into a file.
_COPY_CHUNK: Final = 1024 * 1024


class StorageKeyNotFound(KeyError):
    """No blob is stored under the key."""


class StorageUnavailable(Exception):
    """The backend could not be reached or refused the call (a network store that is down,
    timed out, or is misconfigured); nothing was stored. The message is for server logs."""


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def put_stream(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store what ``source`` holds from its position to its end, read in chunks, so that a
        large blob is never held whole in memory."""
        ...

    def get(self, key: str) -> bytes:
        """Return the blob; raise :class:`StorageKeyNotFound` if there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""
        ...


@runtime_checkable
class Presigning(Protocol):
    """A backend whose blobs a client can fetch itself, by a signed URL that expires."""

    def presigned_get(
        self, key: str, *, expires_in: int, content_type: str, disposition: str, cache_control: str
    ) -> str | None:
        """A URL that serves the blob with these headers for ``expires_in`` seconds, or None
        when this backend is set not to hand out URLs."""
        ...


def presigned_get(
    storage: Storage,
    key: str,
    *,
    expires_in: int,
    content_type: str,
    disposition: str,
    cache_control: str,
) -> str | None:
    """A signed URL for the blob when the backend offers one, else None (serve the bytes)."""
    validate_key(key)
    if not isinstance(storage, Presigning):
        return None
    return storage.presigned_get(
        key,
        expires_in=expires_in,
        content_type=content_type,
        disposition=disposition,
        cache_control=cache_control,
    )


def presigned_origin(storage: Storage) -> str | None:
    """The origin (scheme://host[:port]) signed URLs point at, for the pages' image policy;
    None when the backend hands out none. Signing is local: nothing is sent."""
    url = presigned_get(
        storage,
        "origin-probe",
        expires_in=60,
        content_type="application/octet-stream",
        disposition="inline",
        cache_control="no-store",
    )
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@runtime_checkable
class Networked(Protocol):
    """A backend that opens its own connections (not through the base's outbound client)."""

    def check_endpoint(self, policy: AddressPolicy) -> None:
        """Raise ValueError naming the address when ``policy`` refuses where it connects."""
        ...


def check_storage_endpoint(storage: Storage, policy: AddressPolicy) -> None:
    """At start-up: refuse a backend whose configured endpoint the address policy refuses."""
    if isinstance(storage, Networked):
        storage.check_endpoint(policy)


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative slash path, else raise ValueError.

    Keys come from our own code, but are checked anyway so that no caller mistake
    can ever reach outside the storage root. Rules are deliberately stricter than
    necessary (any ``..``, not just a ``..`` segment) because legitimate keys never
    need them, and every backend gets the same rules.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if key.startswith("/"):
        raise ValueError(f"storage key must be relative, got {key!r}")
    if "\\" in key:
        raise ValueError(f"storage key must use forward slashes only, got {key!r}")
    if ".." in key:
        raise ValueError(f"storage key must not contain '..', got {key!r}")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in key):
        raise ValueError(f"storage key must not contain control characters, got {key!r}")
    if any(part in ("", ".") for part in key.split("/")):
        raise ValueError(f"storage key has an empty or '.' path segment: {key!r}")
    return key


class LocalFileStorage:
    """Stores each blob as a file under ``root``; ``content_type`` is not kept."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalFileStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = self.root.joinpath(*validate_key(key).split("/"))
        # Defence in depth: the key rules already make escaping impossible.
        if os.path.commonpath([self.root, path]) != str(self.root):
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._write(key, lambda tmp: tmp.write(data))

    def put_stream(self, key: str, source: BinaryIO, content_type: str) -> None:
        self._write(key, lambda tmp: shutil.copyfileobj(source, tmp, _COPY_CHUNK))

    def _write(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a temp file next to the target and rename it over: os.replace is
        # atomic within a filesystem, so readers see the old or the new blob,
        # never a half-written one, even if we crash mid-write.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                fill(tmp)
                tmp.flush()
                os.fchmod(tmp.fileno(), _FILE_MODE)
                os.fsync(tmp.fileno())  # data on disk before the rename makes it visible
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)  # make the rename itself durable

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise StorageKeyNotFound(key) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        # A directory is not a blob, so treat it like a missing key.
        if path.is_file() or path.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # lost a race: already gone
                path.unlink()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms where directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def storage_from_url(url: str) -> Storage:
    """Build a storage backend from a URL.

    ``file:///abs/path`` and plain filesystem paths give :class:`LocalFileStorage`;
    any other scheme is looked up in the ``cityloop.storage`` entry-point group.
    """
    if not url:
        raise ValueError("storage URL is empty")
    parts = urlsplit(url)
    if not parts.scheme:
        return LocalFileStorage(Path(url))
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file storage URL must not name a host: {url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"file storage URL must not have a query or fragment: {url!r}")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise ValueError(f"file storage URL must hold an absolute path: {url!r}")
        return LocalFileStorage(Path(path))

    factory = _backend_factory(parts.scheme)
    storage = factory(url)
    if not isinstance(storage, Storage):
        raise TypeError(
            f"storage backend for scheme {parts.scheme!r} returned {type(storage).__name__}, "
            "which does not implement Storage"
        )
    return storage


def _backend_factory(scheme: str) -> Callable[[str], object]:
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == scheme]
    # The same distribution installed twice (e.g. editable + wheel) lists the same
    # target twice; that is harmless. Two different targets is ambiguous.
    targets = sorted({ep.value for ep in matches})
    if not targets:
        raise ValueError(
            f"no storage backend for scheme {scheme!r}: built-in is 'file'; others are "
            f"registered in the {ENTRY_POINT_GROUP!r} entry-point group"
        )
    if len(targets) > 1:
        raise ValueError(
            f"several storage backends registered for scheme {scheme!r}: {', '.join(targets)}"
        )
    factory: Callable[[str], object] = matches[0].load()
    return factory
