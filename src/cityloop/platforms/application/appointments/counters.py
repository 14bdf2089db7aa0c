"""Counters and their slots: opening hours per weekday, cut into slots, on working days only."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.platforms.application.appointments.messages import Message
from cityloop.platforms.application.appointments.models import Appointment, Counter
from cityloop.platforms.application.appointments.workflow import HOLDS_A_PLACE
from cityloop.platforms.application.calendar import service as calendar
from cityloop.platforms.application.identity import service as identity

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
HOUR = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# The longest span of dates one slot listing covers.
MAX_LISTING_DAYS = 31

Hours = Mapping[str, Sequence[Sequence[str]]]


@dataclass(frozen=True)
class Slot:
    counter: Counter
    start: datetime  # UTC
    end: datetime
    booked: int

    @property
    def free(self) -> int:
        return max(self.counter.capacity - self.booked, 0)


def _parse_hours(hours: Hours) -> dict[str, list[list[str]]]:
    if not isinstance(hours, Mapping):
        raise bad_request(Message("appointments.hours_map_weekdays_mon"), field="hours")
    clean: dict[str, list[list[str]]] = {}
    for weekday, periods in hours.items():
        if weekday not in WEEKDAYS:
            raise bad_request(
                Message(
                    "appointments.hours_weekday",
                    {"weekday": repr(weekday), "items": ", ".join(WEEKDAYS)},
                ),
                "hours",
            )
        spans: list[list[str]] = []
        for period in periods:
            if len(period) != 2 or not all(isinstance(p, str) and HOUR.match(p) for p in period):
                raise bad_request(
                    Message(
                        "appointments.hours_write_each_period",
                        {
                            "weekday": str(weekday),
                        },
                    ),
                    "hours",
                )
            if period[0] >= period[1]:
                raise bad_request(
                    Message(
                        "appointments.hours_closes_before_opens",
                        {
                            "weekday": str(weekday),
                            "opens": str(period[0]),
                            "closes": str(period[1]),
                        },
                    ),
                    "hours",
                )
            spans.append([period[0], period[1]])
        spans.sort()
        for before, after in itertools.pairwise(spans):
            if after[0] < before[1]:
                raise bad_request(
                    Message("appointments.hours_periods_overlap", {"weekday": str(weekday)}),
                    "hours",
                )
        clean[weekday] = spans
    return clean


def save_counter(
    session: Session,
    *,
    code: str,
    department_code: str,
    name: str,
    name_zh: str = "",
    location: str = "",
    location_zh: str = "",
    hours: Hours,
    slot_minutes: int = 30,
    capacity: int = 1,
) -> Counter:
    """Add a counter, or change the one with this code; 400 naming the field at fault."""
    if not CODE.match(code):
        raise bad_request(Message("appointments.code_characters_z"), field="code")
    identity.require_department(session, code=department_code, field="department")
    if not name.strip() or len(name) > 200:
        raise bad_request(Message("appointments.name_characters"), field="name")
    if not 5 <= slot_minutes <= 480:
        raise bad_request(Message("appointments.slot_minutes"), field="slot_minutes")
    if not 1 <= capacity <= 200:
        raise bad_request(Message("appointments.capacity_people_per_slot"), field="capacity")
    counter = session.scalar(select(Counter).where(Counter.code == code)) or Counter(code=code)
    counter.department_code, counter.name, counter.name_zh = department_code, name, name_zh
    counter.location, counter.location_zh = location, location_zh
    counter.hours = _parse_hours(hours)
    counter.slot_minutes, counter.capacity, counter.active = slot_minutes, capacity, True
    session.add(counter)
    session.flush()
    return counter


def list_counters(session: Session, *, department_code: str | None = None) -> list[Counter]:
    """The active counters (of one department, or all), by department and code."""
    query = select(Counter).where(Counter.active.is_(True))
    if department_code is not None:
        identity.require_department(session, code=department_code)
        query = query.where(Counter.department_code == department_code)
    return list(session.scalars(query.order_by(Counter.department_code, Counter.code)))


def periods_on(session: Session, *, counter: Counter, day: date) -> list[tuple[clock, clock]]:
    """The counter's opening periods on ``day``: none on a day that is not a working day."""
    if not calendar.is_working_day(session, day=day):
        return []
    periods = counter.hours.get(WEEKDAYS[day.weekday()])
    if not periods and day.weekday() >= 5:
        # An adjusted working weekend day (调休上班) is worked as a weekday: a counter with no
        # hours of its own for that weekday opens with its Monday hours.
        periods = counter.hours.get("mon")
    return [(clock.fromisoformat(a), clock.fromisoformat(b)) for a, b in periods or []]


def slot_starts(session: Session, *, counter: Counter, day: date, zone: tzinfo) -> list[datetime]:
    """The start of every slot of the counter on ``day``, in UTC."""
    step = timedelta(minutes=counter.slot_minutes)
    starts: list[datetime] = []
    for opens, closes in periods_on(session, counter=counter, day=day):
        moment = datetime.combine(day, opens, tzinfo=zone)
        end = datetime.combine(day, closes, tzinfo=zone)
        while moment + step <= end:
            starts.append(moment.astimezone(UTC))
            moment += step
    return starts


def places_taken(
    session: Session, *, counter_ids: Sequence[int], first: datetime, last: datetime
) -> dict[tuple[int, datetime], int]:
    """How many bookings hold a place in each (counter, slot start) between two moments."""
    rows = session.execute(
        select(Appointment.counter_id, Appointment.slot_start, func.count())
        .where(
            Appointment.counter_id.in_(counter_ids),
            Appointment.slot_start >= first,
            Appointment.slot_start < last,
            Appointment.status.in_(list(HOLDS_A_PLACE)),
        )
        .group_by(Appointment.counter_id, Appointment.slot_start)
    ).all()
    return {(counter_id, start): count for counter_id, start, count in rows}


def free_slots(
    session: Session,
    *,
    department_code: str,
    first: date,
    last: date,
    timezone: str | tzinfo,
    horizon_days: int,
    now: datetime,
) -> list[Slot]:
    """The department's slots with a free place from ``first`` to ``last`` (the city's dates),
    from now to the booking horizon."""
    zone = calendar.city_zone(timezone)
    if last < first:
        raise bad_request(Message("appointments.end_before_start"), field="end")
    if (last - first).days >= MAX_LISTING_DAYS:
        raise bad_request(
            Message("appointments.list_most_days_time", {"limit": str(MAX_LISTING_DAYS)}),
            field="end",
        )
    counters = list_counters(session, department_code=department_code)
    if not counters:
        return []
    horizon = now + timedelta(days=horizon_days)
    window_start = datetime.combine(first, clock.min, tzinfo=zone)
    window_end = datetime.combine(last + timedelta(days=1), clock.min, tzinfo=zone)
    taken = places_taken(
        session, counter_ids=[c.id for c in counters], first=window_start, last=window_end
    )
    slots: list[Slot] = []
    day = first
    while day <= last:
        for counter in counters:
            for start in slot_starts(session, counter=counter, day=day, zone=zone):
                if start <= now or start > horizon:
                    continue
                slot = Slot(
                    counter,
                    start,
                    start + timedelta(minutes=counter.slot_minutes),
                    taken.get((counter.id, start), 0),
                )
                if slot.free:
                    slots.append(slot)
        day += timedelta(days=1)
    slots.sort(key=lambda s: (s.start, s.counter.code))
    return slots


def counter_hours(counter: Counter) -> dict[str, Any]:
    """The counter's hours as stored (weekday → [[open, close], ...])."""
    return dict(counter.hours)
