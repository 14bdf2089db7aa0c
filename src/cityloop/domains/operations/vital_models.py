"""The city's vital signs (城市体征): indicators over the sensors' latest values, each with its
thresholds. The indicator is operations' (what the city watches and when it worries); the
devices and readings it reads are the perception platform's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class VitalSign(Base):
    """One indicator: which measurement it aggregates, how, in what unit, and its thresholds."""

    __tablename__ = "ops_vital_signs"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    # The measurement: the devices of one profile, one attribute of their readings.
    profile_code: Mapped[str] = mapped_column(String(60))
    attribute: Mapped[str] = mapped_column(String(200))
    # mean | max | min | share_above | share_below | share_equal | count_equal (see vitals.py)
    aggregation: Mapped[str] = mapped_column(String(20))
    # What share_* and count_* compare each device's value with: a number, a text or a boolean.
    operand: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    unit: Mapped[str] = mapped_column(String(40), default="")
    # "above": higher is worse (warning when value >= warning); "below": lower is worse.
    direction: Mapped[str] = mapped_column(String(10))
    warning: Mapped[float]
    critical: Mapped[float]
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
