"""The access log (数据访问记录): one row per read of a person's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class DataAccess(Base):
    """Who read which fields of whose data, when, for what and on what legal basis.

    Append-only: the package has no function that changes or deletes a row, so the citizen's
    view of it is the whole history."""

    __tablename__ = "data_access_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
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
    # The outbox event that reported the read, if one did: a redelivery records nothing twice.
    source_event_id: Mapped[int | None] = mapped_column(unique=True, default=None)

    __table_args__ = (Index("ix_data_access_user", "user_id", "id"),)
