"""The access log (数据访问记录): one row per read of a person's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class DataAccess(Base):
    """Who read which fields of whose data, when, for what and on what legal basis.

    Append-only: the package has no function that changes or deletes a row, so the citizen's
    view of it is the whole history."""

    __tablename__ = "data_access_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # Whose data: a person (user_id) or an enterprise (enterprise_uscc); one of the two.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    enterprise_uscc: Mapped[str | None] = mapped_column(
        ForeignKey("enterprises.uscc"), default=None
    )
    # A staff member's username, or "system:<purpose>" for the platform reading on its own.
    actor: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    actor_department: Mapped[str | None] = mapped_column(String(40), default=None)
    fields: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(120), default="")
    legal_basis: Mapped[str] = mapped_column(String(20))
    consent_id: Mapped[str | None] = mapped_column(String(80), default=None)
    consent_at: Mapped[datetime | None] = mapped_column(default=None)
    # The sharing grant the read went through (platforms/data/sharing), if it went through one.
    grant_id: Mapped[int | None] = mapped_column(default=None, index=True)
    # The outbox event that reported the read, if one did: a redelivery records nothing twice.
    source_event_id: Mapped[int | None] = mapped_column(unique=True, default=None)
    # The hash chain (chain.py): this entry's SHA-256 over the previous entry's hash and its own
    # content, so an edited, deleted or reordered entry breaks every link after it.
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    entry_hash: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        Index("ix_data_access_user", "user_id", "id"),
        Index("ix_data_access_enterprise", "enterprise_uscc", "id"),
    )


class ChainHead(Base):
    """The chain's newest link (one row): appending locks it, so entries chain in one order,
    and a deleted tail shows as a head that no entry matches."""

    __tablename__ = "data_access_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


class ChainCheckpoint(Base):
    """The chain's hash at an entry, signed with the platform's Ed25519 key: a copy of the
    database rewritten from the start cannot carry a valid signature."""

    __tablename__ = "data_access_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    upto_id: Mapped[int] = mapped_column()
    upto_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class PlatformKey(Base):
    """The data platform's own signing key (sealed with the server's secret)."""

    __tablename__ = "data_access_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
