"""Issuer keys, status lists and the record of each credential issued (never its claims)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class IssuerKey(Base):
    """One Ed25519 key pair of an issuer (a department). The private key is stored encrypted
    (AES-GCM under a key derived from the app's secret, see ``keys.py``); the public key is a
    JWK. A retired key signs nothing new but stays published while credentials it signed are
    still valid."""

    __tablename__ = "credential_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    issuer_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    # nonce (12 bytes) + AES-GCM ciphertext of the raw 32-byte private key; the kid is the AAD.
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_credential_keys_issuer", "issuer_code", "retired_at"),)


class StatusList(Base):
    """One status list of an issuer: ``size`` one-bit entries (0 valid, 1 revoked). Its bits
    are not stored: they are the revoked credentials that point into it, so a revocation is a
    one-row update and the list can never disagree with the records."""

    __tablename__ = "credential_status_lists"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    issuer_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    # The list's number within its issuer (1, 2, …): part of its public URL.
    number: Mapped[int] = mapped_column()
    size: Mapped[int] = mapped_column()
    used: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("issuer_code", "number"),)


class Credential(Base):
    """A credential issued: who issued what type, when, until when, signed by which key, at
    which status index, for which subject reference (the caller's, e.g. a licence number). The
    claims are not kept: the holder has them, and the issuer needs only this to revoke."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    issuer_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    vct: Mapped[str] = mapped_column(String(300))
    kid: Mapped[str] = mapped_column(ForeignKey("credential_keys.kid"))
    status_list_id: Mapped[int] = mapped_column(ForeignKey("credential_status_lists.id"))
    status_idx: Mapped[int] = mapped_column()
    subject_ref: Mapped[str] = mapped_column(String(200), default="")
    # SHA-256 (base64url) of the issuer-signed JWT: finds the record from any presentation.
    jwt_digest: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        UniqueConstraint("status_list_id", "status_idx"),
        Index("ix_credentials_kid_expires", "kid", "expires_at"),
        Index("ix_credentials_subject", "subject_ref"),
    )
