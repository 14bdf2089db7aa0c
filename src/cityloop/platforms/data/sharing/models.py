"""Sharing grants (共享授权): a department's leave to read another's dataset or ask its lookup,
and the append-only history of each grant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class DataGrant(Base):
    """One request of a department for another's dataset or lookup, and the owner's decision:
    which fields, which rows, until when."""

    __tablename__ = "data_grants"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # dataset (rows of a shared or personal dataset) | lookup (a live question, see lookups.py)
    kind: Mapped[str] = mapped_column(String(10))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), default=None)
    lookup: Mapped[str | None] = mapped_column(String(60), default=None)
    requester_department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    owner_department: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    purpose: Mapped[str] = mapped_column(String(500))
    # The regulation the requester relies on, cited in its own words.
    legal_basis: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The columns (or answer fields) the requester asked for; the owner decides ``fields``.
    requested_fields: Mapped[list[Any]] = mapped_column(default=list)
    # requested | approved | refused | revoked | expired (workflow.py)
    status: Mapped[str] = mapped_column(String(12), index=True)
    fields: Mapped[list[Any]] = mapped_column(default=list)
    # {field: value | [values]}: only rows (or lookup parameters) matching every entry.
    row_filter: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(80), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    revoked_by: Mapped[str | None] = mapped_column(String(80), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        # A read finds the reader's grants for one dataset or lookup.
        Index("ix_data_grants_reader", "requester_department", "kind", "dataset_id", "lookup"),
    )


class GrantEvent(Base):
    """One step of a grant's life: who, when, from which status to which, and why."""

    __tablename__ = "data_grant_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("data_grants.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12), default=None)
    to_status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
