"""Issuer keys: one Ed25519 key pair per issuing department, rotated on demand, published as JWKs.

Private keys are kept in the database, sealed with AES-256-GCM under a key derived (HKDF-SHA256)
from the app's secret (``settings.resolved_secret_key``: the CITYLOOP_SECRET_KEY setting, or the
file the data dir keeps). The database is the one place every process and host of a deployment
shares, so a rotation in one is seen by all; a stolen database dump or backup without the secret
reveals no key; and the key id is the AAD, so a sealed key moved to another row does not open.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import Problem
from cityloop.platforms.application.credentials.messages import Message
from cityloop.platforms.application.credentials.models import Credential, IssuerKey
from cityloop.platforms.application.credentials.sdjwt import ALG, FormatError, b64url, b64url_decode
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import Actor

# Why these bytes: they name what the derived key is for, so the same secret never yields the
# same key for two purposes (the secret also signs staff tokens).
_HKDF_SALT = b"cityloop/credentials"
_HKDF_INFO = b"issuer private keys, AES-256-GCM, v1"


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK of an Ed25519 key (RFC 8037), with its kid, alg and use."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    return {**jwk, "kid": thumbprint(jwk), "alg": ALG, "use": "sig"}


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 thumbprint of an OKP key: SHA-256 of its required members, sorted."""
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    text = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(text.encode("utf-8")).digest())


def key_from_jwk(jwk: object) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; FormatError unless it is one (and has no private part)."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise FormatError("not an Ed25519 JWK")
    if "d" in jwk:
        raise FormatError("a published JWK must not carry its private part")
    x = jwk.get("x")
    raw = b64url_decode(x) if isinstance(x, str) else b""
    if len(raw) != 32:
        raise FormatError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


class KeyVault:
    """Seals and opens issuer private keys; opened keys are cached, so signing never pays for
    the decryption twice."""

    def __init__(self, secret: str) -> None:
        derived = HKDF(hashes.SHA256(), 32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
            secret.encode("utf-8")
        )
        self._aead = AESGCM(derived)
        self._opened: dict[str, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()

    def seal(self, kid: str, key: Ed25519PrivateKey) -> bytes:
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, raw, kid.encode("ascii"))

    def open(self, row: IssuerKey) -> Ed25519PrivateKey:
        """An issuer's private key."""
        return self.open_sealed(
            row.kid, bytes(row.private_sealed), owner=f"issuer {row.issuer_code}"
        )

    def open_sealed(self, kid: str, sealed: bytes, *, owner: str) -> Ed25519PrivateKey:
        """A private key sealed by :meth:`seal` (an issuer's, or another package's own key)."""
        with self._lock:
            cached = self._opened.get(kid)
        if cached is not None:
            return cached
        try:
            raw = self._aead.decrypt(sealed[:12], sealed[12:], kid.encode("ascii"))
        except InvalidTag:
            # The secret changed since the key was sealed (or the row was tampered with).
            raise Problem(
                500,
                "issuer-key-sealed",
                Message(
                    "credentials.private_key_opened_server",
                    {
                        "kid": str(kid),
                        "owner": str(owner),
                    },
                ),
            ) from None
        key = Ed25519PrivateKey.from_private_bytes(raw)
        with self._lock:
            self._opened[kid] = key
        return key


@dataclass(frozen=True)
class SigningKey:
    """An issuer's current key, ready to sign."""

    kid: str
    issuer_code: str
    private: Ed25519PrivateKey


def _new_key(session: Session, vault: KeyVault, issuer_code: str) -> IssuerKey:
    private = Ed25519PrivateKey.generate()
    jwk = public_jwk(private.public_key())
    row = IssuerKey(
        kid=jwk["kid"],
        issuer_code=issuer_code,
        public_jwk=jwk,
        private_sealed=vault.seal(jwk["kid"], private),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _current_row(session: Session, issuer_code: str) -> IssuerKey | None:
    return session.scalar(
        select(IssuerKey)
        .where(IssuerKey.issuer_code == issuer_code, IssuerKey.retired_at.is_(None))
        .order_by(IssuerKey.created_at.desc(), IssuerKey.id.desc())
        .limit(1)
    )


def signing_key(session: Session, *, vault: KeyVault, issuer_code: str) -> SigningKey:
    """The issuer's current key, made on first use."""
    row = _current_row(session, issuer_code) or _new_key(session, vault, issuer_code)
    return SigningKey(row.kid, issuer_code, vault.open(row))


def current_key(session: Session, *, vault: KeyVault, issuer_code: str) -> SigningKey | None:
    """The issuer's current key, or None if it has none yet (it has issued nothing)."""
    row = _current_row(session, issuer_code)
    return SigningKey(row.kid, issuer_code, vault.open(row)) if row else None


def rotate_key(session: Session, *, vault: KeyVault, issuer_code: str, actor: Actor) -> IssuerKey:
    """Give the issuer a new current key; the old one signs nothing more (audited)."""
    identity.require_department(session, code=issuer_code, field="issuer")
    now = utcnow()
    retired = list(
        session.scalars(
            select(IssuerKey)
            .where(IssuerKey.issuer_code == issuer_code, IssuerKey.retired_at.is_(None))
            .with_for_update()
        )
    )
    for row in retired:
        row.retired_at = now
    row = _new_key(session, vault, issuer_code)
    identity.audit(
        session,
        actor=actor,
        action="credentials.key.rotate",
        target=f"issuer:{issuer_code}",
        detail={"kid": row.kid, "retired": [r.kid for r in retired]},
    )
    return row


def published_keys(
    session: Session,
    *,
    now: datetime,
    status_validity: timedelta,
    issuer_code: str | None = None,
) -> list[IssuerKey]:
    """The keys verifiers need: current keys, and retired ones while a credential they signed
    is unexpired (or never expires) or a status list they signed may still be cached."""
    still_needed = exists().where(
        Credential.kid == IssuerKey.kid,
        or_(Credential.expires_at.is_(None), Credential.expires_at > now),
    )
    query = (
        select(IssuerKey)
        .where(
            or_(
                IssuerKey.retired_at.is_(None),
                IssuerKey.retired_at > now - status_validity,
                still_needed,
            )
        )
        .order_by(IssuerKey.issuer_code, IssuerKey.created_at, IssuerKey.id)
    )
    if issuer_code is not None:
        query = query.where(IssuerKey.issuer_code == issuer_code)
    return list(session.scalars(query))


def key_row(session: Session, *, kid: str) -> IssuerKey | None:
    """The key with this id, current or retired."""
    return session.scalar(select(IssuerKey).where(IssuerKey.kid == kid))
