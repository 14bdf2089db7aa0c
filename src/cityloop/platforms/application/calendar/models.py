"""The city's holiday table: the days that break the weekday rule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class CalendarDay(Base):
    """One day that is not what its weekday says: a national holiday (法定节假日) on a weekday
    or weekend, or an adjusted working weekend day (调休上班). Every other day follows the rule:
    Monday to Friday are working days, Saturday and Sunday are not."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "holiday" | "workday"
    name: Mapped[str] = mapped_column(String(100), default="")
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    # "chinese-calendar" for days imported from the package, "city" for days staff set.
    source: Mapped[str] = mapped_column(String(20), default="city")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
