"""The calendar's event: a domain that keeps deadlines may recompute them when it hears it."""

from __future__ import annotations

from typing import ClassVar

from cityloop.base.events import Event


class CalendarChanged(Event):
    """Days of these years were set, cleared or imported."""

    type: ClassVar[str] = "calendar.changed"
    aggregate: ClassVar[str] = "calendar"
    aggregate_field: ClassVar[str] = "first_year"

    first_year: int
    years: list[int]
    source: str
