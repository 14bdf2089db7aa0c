"""Counters (窗口) where a department receives people, and the appointments (预约) at them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Counter(Base):
    """A service counter of a department: its opening hours per weekday, as
    ``{"mon": [["09:00", "12:00"], ["13:30", "17:00"]], ...}`` in the city's time zone, cut
    into slots of ``slot_minutes``, each taking up to ``capacity`` people."""

    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    location_zh: Mapped[str] = mapped_column(String(200), default="")
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    slot_minutes: Mapped[int] = mapped_column(default=30)
    capacity: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(Base):
    """One person's booking of one slot at one counter, for a purpose the calling domain names
    (``reference`` such as ``application:42``, ``purpose`` a code such as ``identity-check``)."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    department_code: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    slot_start: Mapped[datetime] = mapped_column()
    slot_end: Mapped[datetime] = mapped_column()
    reference: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(40))
    # booked → cancelled | attended | no_show (appointments.workflow)
    status: Mapped[str] = mapped_column(String(20), default="booked")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_by: Mapped[str | None] = mapped_column(String(80), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    # Set when the day-before reminder went out: one reminder per booking.
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_appointments_slot", "counter_id", "slot_start", "status"),
        Index("ix_appointments_user", "user_id", "slot_start"),
        Index("ix_appointments_reminder", "status", "reminded_at", "slot_start"),
    )
