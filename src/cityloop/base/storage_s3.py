"""S3-compatible object storage behind the :class:`~cityloop.base.storage.Storage` interface.

URL form (docs/operations.md, "Media on S3-compatible storage")::

    s3://BUCKET[/PREFIX]?endpoint=https://host:port&region=REGION&addressing=path
        &timeout=SECONDS&attempts=N&presign=true

Every query parameter is optional: without ``endpoint`` the client talks to AWS itself.
Credentials never go in the URL; boto3 finds them where every AWS tool does (the
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` variables, ``~/.aws``, an instance role).

boto3 opens its own connections, not through the base's outbound client: the endpoint is the
operator's, not a user's, so its addresses are checked against the outbound address policy once
at start-up (:meth:`S3Storage.check_endpoint`) instead of on every call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Final
from urllib.parse import parse_qs, urlsplit

import boto3
import boto3.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cityloop.base.outbound.policy import AddressPolicy
from cityloop.base.storage import StorageKeyNotFound, StorageUnavailable, validate_key

__all__ = ["S3Storage", "s3_storage"]

_BUCKET: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OPTIONS: Final = frozenset({"endpoint", "region", "addressing", "timeout", "attempts", "presign"})
_NOT_FOUND: Final = frozenset({"NoSuchKey", "NotFound", "404"})
# A streamed upload goes up in parts of this size, one at a time: memory stays at one part
# whatever the blob's size; smaller blobs go in one request.
_PART_BYTES: Final = 8 * 1024 * 1024
# One boto3 session per process: each new session loads the service model again (~0.4 s).
# Making clients from a session is not thread-safe, hence the lock.
_SESSION_LOCK: Final = threading.Lock()
_sessions: list[boto3.session.Session] = []


def _client(**options: Any) -> Any:
    with _SESSION_LOCK:
        if not _sessions:
            _sessions.append(boto3.session.Session())
        return _sessions[0].client("s3", **options)


def _flag(text: str, url: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"s3 storage URL: presign must be true or false, got {text!r} in {url!r}")


def _number(text: str, name: str, url: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ValueError(f"s3 storage URL: {name} must be from {low:g} to {high:g}, got {text!r}")
    return value


def _endpoint(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"s3 storage URL: endpoint must be an http(s) URL, got {text!r}")
    if parts.username or parts.password:
        raise ValueError("s3 storage URL: the endpoint must not hold credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"s3 storage URL: endpoint must be scheme://host[:port], got {text!r}")
    return f"{parts.scheme}://{parts.netloc}"


class S3Storage:
    """Blobs as objects under ``prefix`` in one bucket of an S3-compatible store."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        addressing: str = "path",
        timeout: float = 10.0,
        attempts: int = 3,
        presign: bool = True,
    ) -> None:
        if not _BUCKET.match(bucket):
            raise ValueError(f"s3 storage URL: {bucket!r} is not a valid bucket name")
        if addressing not in ("path", "virtual", "auto"):
            raise ValueError(
                f"s3 storage URL: addressing must be path, virtual or auto, got {addressing!r}"
            )
        self.bucket = bucket
        self.prefix = f"{validate_key(prefix.strip('/'))}/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        self.presign = presign
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            # As many as the thread pool the routes' blocking work runs in (anyio's default
            # 40), so no request waits for a connection another thread holds.
            max_pool_connections=40,
            # "standard" mode retries throttling, 5xx answers and connection errors with
            # backoff; max_attempts counts the first try.
            retries={"max_attempts": attempts, "mode": "standard"},
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            # Checksums only where S3 requires them: many S3-compatible servers do not yet
            # accept the CRC headers botocore adds by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client = _client(
            endpoint_url=endpoint, region_name=region or "us-east-1", config=config
        )
        self._transfer = TransferConfig(
            multipart_threshold=_PART_BYTES, multipart_chunksize=_PART_BYTES, use_threads=False
        )

    def __repr__(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"S3Storage({self.bucket!r}, prefix={self.prefix!r}{where})"

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    @contextmanager
    def _call(self, action: str, key: str) -> Iterator[None]:
        """Turn the client's errors into the storage interface's: a missing object is
        StorageKeyNotFound, anything else (down, timed out, refused) StorageUnavailable."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if str(error.get("Code")) in _NOT_FOUND:
                raise StorageKeyNotFound(key) from exc
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise StorageUnavailable(
                f"{action} {key!r} in s3://{self.bucket}: {status} {error.get('Code')}"
            ) from exc
        except (BotoCoreError, boto3.exceptions.Boto3Error) as exc:
            raise StorageUnavailable(f"{action} {key!r} in s3://{self.bucket}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._key(key)
        with self._call("put", key):
            self._client.put_object(
                Bucket=self.bucket, Key=name, Body=data, ContentType=content_type
            )

    def put_stream(self, key: str, source: BinaryIO, content_type: str) -> None:
        name = self._key(key)
        with self._call("put", key):
            self._client.upload_fileobj(
                source,
                self.bucket,
                name,
                ExtraArgs={"ContentType": content_type},
                Config=self._transfer,
            )

    def get(self, key: str) -> bytes:
        name = self._key(key)
        with self._call("get", key):
            answer = self._client.get_object(Bucket=self.bucket, Key=name)
            return bytes(answer["Body"].read())

    def exists(self, key: str) -> bool:
        name = self._key(key)
        try:
            with self._call("head", key):
                self._client.head_object(Bucket=self.bucket, Key=name)
        except StorageKeyNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        name = self._key(key)
        with self._call("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=name)

    def presigned_get(
        self, key: str, *, expires_in: int, content_type: str, disposition: str, cache_control: str
    ) -> str | None:
        if not self.presign:
            return None
        name = self._key(key)
        with self._call("presign", key):
            url: str = self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": name,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition,
                    "ResponseCacheControl": cache_control,
                },
                ExpiresIn=expires_in,
            )
        return url

    def check_endpoint(self, policy: AddressPolicy) -> None:
        """Raise ValueError when the configured endpoint's addresses are not admitted by the
        outbound address policy (AWS's own endpoints, used without one, are public)."""
        if self.endpoint is None:
            return
        parts = urlsplit(self.endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            policy.check_host(parts.hostname or "", port)
        except ValueError as exc:
            raise ValueError(f"s3 storage endpoint {self.endpoint}: {exc}") from None


def s3_storage(url: str) -> S3Storage:
    """The ``cityloop.storage`` factory for ``s3://`` URLs (the form is in the module doc)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValueError(
            "s3 storage URL must not hold credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or an AWS profile) instead"
        )
    if parts.fragment:
        raise ValueError(f"s3 storage URL must not have a fragment: {url!r}")
    bucket = parts.netloc
    if not bucket or ":" in bucket:
        raise ValueError(f"s3 storage URL must name a bucket (and no port): {url!r}")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - _OPTIONS)
    if unknown:
        raise ValueError(
            f"s3 storage URL: unknown option {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_OPTIONS))}"
        )
    options = {name: values[-1] for name, values in query.items()}
    return S3Storage(
        bucket,
        prefix=parts.path,
        endpoint=_endpoint(options["endpoint"]) if "endpoint" in options else None,
        region=options.get("region") or None,
        addressing=options.get("addressing", "path"),
        timeout=_number(options.get("timeout", "10"), "timeout", url, 0.1, 300),
        attempts=int(_number(options.get("attempts", "3"), "attempts", url, 1, 10)),
        presign=_flag(options.get("presign", "true"), url),
    )
