"""A verifier's trust store: the issuers it trusts with their keys (from their SD-JWT VC issuer
metadata) and their status list tokens, kept in a directory so verification works offline.

Online, a store with a ``fetch`` function refreshes what it holds, and only that: the metadata of
an issuer it already trusts (a key it does not know may be a new one after a rotation), and a
status list on that issuer's own origin once its ``ttl`` has passed or it has expired. A
credential naming an issuer the store does not hold is refused, never looked up: trust comes from
``fetch-trust`` against the city's own address, not from the credential.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cityloop.base.outbound import Outbound, OutboundError
from cityloop.platforms.application.credentials import statuslist
from cityloop.platforms.application.credentials.keys import key_from_jwk
from cityloop.platforms.application.credentials.sdjwt import FormatError, parse_jwt
from cityloop.platforms.application.credentials.service import metadata_url

INDEX = "trust.json"
# Answers larger than this are not read (a JWKS or a status list token is a few KiB).
MAX_DOCUMENT = 2_000_000
# An issuer's metadata is fetched again for an unknown key at most this often.
REFRESH_SECONDS = 60.0

Fetch = Callable[[str], bytes]


class TrustError(Exception):
    """Trust material that could not be fetched, read or checked."""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _name(url: str, suffix: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:24] + suffix


@dataclass
class _Token:
    text: str
    fetched_at: float
    read: statuslist.ReadList | None = None  # set once its signature was checked


class TrustStore:
    """Trusted issuers, their keys and their status list tokens (see the module's doc)."""

    def __init__(self, *, fetch: Fetch | None = None) -> None:
        self.fetch = fetch
        self.base_url: str | None = None
        self._metadata: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, dict[str, Ed25519PublicKey]] = {}
        self._tokens: dict[str, _Token] = {}
        self._refreshed: dict[str, float] = {}

    # What it holds.

    @property
    def issuers(self) -> list[str]:
        return sorted(self._keys)

    @property
    def status_lists(self) -> list[str]:
        return sorted(self._tokens)

    def add_issuer(self, metadata: object, *, issuer: str | None = None) -> str:
        """Trust an issuer's metadata (``issuer`` + ``jwks``); ``issuer`` is what it must say."""
        if not isinstance(metadata, dict) or not isinstance(metadata.get("issuer"), str):
            raise TrustError("issuer metadata names its issuer")
        name = metadata["issuer"]
        if issuer is not None and name != issuer:
            raise TrustError(f"the metadata of {issuer} names another issuer, {name}")
        jwks = metadata.get("jwks")
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list):
            raise TrustError(f"the metadata of {name} has no jwks")
        parsed: dict[str, Ed25519PublicKey] = {}
        for jwk in keys:
            try:
                key = key_from_jwk(jwk)
            except FormatError as exc:
                raise TrustError(f"a key of {name}: {exc}") from None
            if isinstance(jwk.get("kid"), str):
                parsed[jwk["kid"]] = key
        self._metadata[name] = metadata
        self._keys[name] = parsed
        return name

    def add_status_list(self, uri: str, token: str, *, fetched_at: float | None = None) -> None:
        """Keep a status list token (checked when first used)."""
        self._tokens[uri] = _Token(token.strip(), time.time() if fetched_at is None else fetched_at)

    # The Trust protocol of ``verify``.

    def trusts(self, issuer: str) -> bool:
        return issuer in self._keys

    def key(self, issuer: str, kid: str) -> Ed25519PublicKey | None:
        keys = self._keys.get(issuer, {})
        if kid not in keys and self._refresh_issuer(issuer):
            keys = self._keys.get(issuer, {})
        return keys.get(kid)

    def status(self, *, issuer: str, uri: str, idx: int, now: int) -> int | None:
        if origin(uri) != origin(issuer):
            return None  # an issuer's lists live on its own origin
        token = self._tokens.get(uri)
        read = self._read(issuer, uri, token)
        if self.fetch is not None and self._stale(token, read, now):
            read = self._refresh_list(issuer, uri) or read
        if read is None or (read.expires_at is not None and read.expires_at <= now):
            return None
        return statuslist.bit(read.bits, idx)

    @staticmethod
    def _stale(token: _Token | None, read: statuslist.ReadList | None, now: int) -> bool:
        if token is None or read is None:
            return True
        if read.expires_at is not None and read.expires_at <= now:
            return True
        return read.ttl is not None and token.fetched_at + read.ttl <= time.time()

    def _read(self, issuer: str, uri: str, token: _Token | None) -> statuslist.ReadList | None:
        if token is None:
            return None
        if token.read is None:
            try:
                jwt = parse_jwt(token.text)
                kid = jwt.header.get("kid")
                key = self.key(issuer, kid) if isinstance(kid, str) else None
                if key is None or not jwt.signed_by(key):
                    return None
                read = statuslist.read_token(jwt)
            except FormatError:
                return None
            if read.uri != uri:
                return None  # a valid token of another list
            token.read = read
        return token.read

    # Online refresh.

    def _get(self, url: str) -> bytes | None:
        if self.fetch is None:
            return None
        try:
            return self.fetch(url)
        except TrustError:
            return None

    def _refresh_issuer(self, issuer: str) -> bool:
        if self.fetch is None or issuer not in self._keys:
            return False
        last = self._refreshed.get(issuer, 0.0)
        if time.monotonic() - last < REFRESH_SECONDS and last:
            return False
        self._refreshed[issuer] = time.monotonic()
        body = self._get(metadata_url(issuer))
        try:
            self.add_issuer(json.loads(body or b"null"), issuer=issuer)
        except (TrustError, ValueError):
            return False
        return True

    def _refresh_list(self, issuer: str, uri: str) -> statuslist.ReadList | None:
        """Fetch the list again; the new token replaces the old one only if it checks out."""
        body = self._get(uri)
        if body is None:
            return None
        try:
            token = _Token(body.decode("ascii").strip(), time.time())
        except UnicodeDecodeError:
            return None
        read = self._read(issuer, uri, token)
        if read is not None:
            self._tokens[uri] = token
        return read

    # A directory.

    def save(self, directory: Path) -> None:
        """Write the store to ``directory``: the documents as fetched, and an index."""
        (directory / "issuers").mkdir(parents=True, exist_ok=True)
        (directory / "status-lists").mkdir(parents=True, exist_ok=True)
        index: dict[str, Any] = {"base_url": self.base_url, "issuers": {}, "status_lists": {}}
        for issuer, metadata in sorted(self._metadata.items()):
            name = "issuers/" + _name(issuer, ".json")
            _write(directory / name, json.dumps(metadata, indent=2, ensure_ascii=False))
            index["issuers"][issuer] = name
        for uri, token in sorted(self._tokens.items()):
            name = "status-lists/" + _name(uri, ".jwt")
            _write(directory / name, token.text)
            index["status_lists"][uri] = {"file": name, "fetched_at": token.fetched_at}
        _write(directory / INDEX, json.dumps(index, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, directory: Path, *, fetch: Fetch | None = None) -> TrustStore:
        """The store saved in ``directory``; TrustError if there is none or it is damaged."""
        store = cls(fetch=fetch)
        try:
            index = json.loads((directory / INDEX).read_text(encoding="utf-8"))
            store.base_url = index.get("base_url")
            for issuer, name in index["issuers"].items():
                metadata = json.loads((directory / name).read_text(encoding="utf-8"))
                store.add_issuer(metadata, issuer=issuer)
            for uri, entry in index["status_lists"].items():
                text = (directory / entry["file"]).read_text(encoding="ascii")
                store.add_status_list(uri, text, fetched_at=float(entry["fetched_at"]))
        except FileNotFoundError:
            raise TrustError(f"{directory} holds no trust store; run fetch-trust first") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TrustError(f"the trust store in {directory} cannot be read: {exc}") from None
        return store


def _write(path: Path, text: str) -> None:
    """Write atomically, so a verifier never reads half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def outbound_fetch(outbound: Outbound, *, timeout: float = 10.0) -> Fetch:
    """A ``fetch`` through the base's outbound client (its address policy applies)."""

    def fetch(url: str) -> bytes:
        try:
            reply = outbound.get(url, timeout=timeout, read_limit=MAX_DOCUMENT)
        except OutboundError as exc:
            raise TrustError(f"{url}: {exc} ({exc.kind})") from None
        if reply.status_code != 200:
            raise TrustError(f"{url} answered {reply.status_code}")
        return reply.content

    return fetch


def fetch_trust(base_url: str, *, fetch: Fetch) -> TrustStore:
    """Download every issuer's metadata and status lists that ``base_url`` publishes."""
    base = base_url.rstrip("/")
    home = origin(base)
    try:
        index = json.loads(fetch(f"{base}/api/v1/credentials/issuers"))
        entries = index["issuers"]
    except (ValueError, KeyError, TypeError):
        raise TrustError(f"{base} publishes no issuer list") from None
    store = TrustStore(fetch=fetch)
    store.base_url = base
    for entry in entries:
        try:
            issuer, metadata = str(entry["issuer"]), str(entry["metadata_url"])
            lists = [str(uri) for uri in entry["status_lists"]]
        except (KeyError, TypeError):
            raise TrustError(f"{base} publishes a damaged issuer list") from None
        # Everything comes from the city's own origin: an index cannot send us elsewhere.
        if any(origin(url) != home for url in (issuer, metadata, *lists)):
            raise TrustError(f"{issuer} is not on {home}")
        try:
            store.add_issuer(json.loads(fetch(metadata)), issuer=issuer)
        except ValueError:
            raise TrustError(f"{metadata} is not JSON") from None
        for uri in lists:
            try:
                store.add_status_list(uri, fetch(uri).decode("ascii"))
            except UnicodeDecodeError:
                raise TrustError(f"{uri} is not a token") from None
    return store
