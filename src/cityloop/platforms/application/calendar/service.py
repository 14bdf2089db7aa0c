"""The working-day calendar (工作日): which days count towards a statutory time limit.

Monday to Friday are working days and Saturday and Sunday are not, except the days of the city's
holiday table (``calendar_days``): national holidays (法定节假日) and adjusted working weekend days
(调休上班). The table is the source of truth; it is seeded from the pinned ``chinese-calendar``
package, and a city adds next year's days when the State Council publishes them.

How a time limit is counted (the rule every deadline here follows):

- 《中华人民共和国行政许可法》 第八十二条: time limits of administrative licensing are counted in
  working days, not counting statutory holidays.
- 《中华人民共和国民法典》 第二百零一条: a period counted in days starts the day after the day it
  begins (开始的当日不计入，自下一日开始计算); so N working days after an acceptance are the first
  N working days after the acceptance's own date, whatever the hour of acceptance.
- 民法典 第二百零三条: the period ends at 24:00 of its last day. A deadline here is therefore the
  last instant of the N-th such working day in the city's time zone (``time.max``): overdue
  means later than it.
- A supplement request (补正) pauses the clock: the working days after the day of the request up
  to and including the day the applicant answers do not count (the clock restarts the day after
  the answer, as it started the day after acceptance).

A year the table does not know falls back to the weekday rule, with a warning in the log (once
per process and year) and in every answer that relied on it (``Deadline.unknown_years``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as clock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, extract, func, select
from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import after_this_commit
from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, not_found
from cityloop.platforms.application.calendar.events import CalendarChanged
from cityloop.platforms.application.calendar.messages import Message
from cityloop.platforms.application.calendar.models import CalendarDay

log = logging.getLogger(__name__)

HOLIDAY = "holiday"
WORKDAY = "workday"
KINDS = (HOLIDAY, WORKDAY)
PACKAGE_SOURCE = "chinese-calendar"
CITY_SOURCE = "city"
# The longest time limit counted, in working days (about four years): a bound on the day walk.
MAX_WORKING_DAYS = 1000
# How long a process trusts its cached table before asking the database whether it changed
# (another process may have changed it; a change in this process clears the cache at once).
RECHECK_SECONDS = 5.0

Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Table:
    """The holiday table as a process keeps it: the exceptional days and the years it covers."""

    days: dict[date, str]
    years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        kind = self.days.get(day)
        if kind is not None:
            return kind == WORKDAY
        return day.weekday() < 5


@dataclass(frozen=True)
class Deadline:
    """When a time limit runs out, and what it was counted on."""

    # The last instant of the last working day, in the city's time zone; None while paused.
    due: datetime | None
    last_day: date | None
    working_days: int
    paused_days: int
    # Years the table does not know, counted by the weekday rule alone.
    unknown_years: list[int] = field(default_factory=list)


_cache: dict[str, tuple[tuple[object, ...], float, Table]] = {}
_cache_lock = threading.Lock()
_warned_years: set[int] = set()


def forget_cache() -> None:
    """Drop every cached table; the next question reads the database afresh."""
    with _cache_lock:
        _cache.clear()


def calendar_table(session: Session) -> Table:
    """The holiday table of this session's database, cached per process."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
        if cached and now - cached[1] < RECHECK_SECONDS:
            return cached[2]
    fingerprint = tuple(
        session.execute(select(func.count(CalendarDay.day), func.max(CalendarDay.updated_at))).one()
    )
    if cached and cached[0] == fingerprint:
        table = cached[2]
    else:
        rows = session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
        days = {day: kind for day, kind in rows}
        table = Table(days=days, years=frozenset(day.year for day in days))
    with _cache_lock:
        _cache[key] = (fingerprint, now, table)
    return table


def city_zone(timezone: str | tzinfo) -> tzinfo:
    """The time zone named (an IANA name such as Asia/Shanghai); 400 for an unknown one."""
    if isinstance(timezone, tzinfo):
        return timezone
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad_request(
            Message("calendar.unknown_time_zone", {"timezone": repr(timezone)}), field="timezone"
        ) from exc


def _local_day(moment: datetime, zone: tzinfo, what: str) -> date:
    if moment.tzinfo is None:
        raise bad_request(Message("calendar.time_zone_e_g", {"what": str(what)}), field=what)
    return moment.astimezone(zone).date()


def _warn_unknown(years: Iterable[int]) -> list[int]:
    found = sorted(set(years))
    for year in found:
        if year not in _warned_years:
            _warned_years.add(year)
            log.warning(
                "the holiday table has no days of %s: Monday to Friday count as working days; "
                "add them with `cityloop calendar import --year %s` or `cityloop calendar set`",
                year,
                year,
            )
    return found


def is_working_day(session: Session, *, day: date) -> bool:
    """Whether ``day`` is a working day (the weekday rule where the table does not know)."""
    table = calendar_table(session)
    if day.year not in table.years:
        _warn_unknown([day.year])
    return table.is_working_day(day)


def _check_days(days: int) -> None:
    if not 0 <= days <= MAX_WORKING_DAYS:
        raise bad_request(
            Message("calendar.days_whole_number_from", {"limit": str(MAX_WORKING_DAYS)}),
            field="days",
        )


def _paused_dates(
    pauses: Sequence[Pause], zone: tzinfo, table: Table
) -> tuple[set[date], bool, int]:
    """The dates a pause covers (after its first day, up to its last), whether one is still
    open, and how many of them are working days."""
    paused: set[date] = set()
    still_open = False
    for begin, end in pauses:
        first = _local_day(begin, zone, "pauses")
        if end is None:
            still_open = True
            continue
        if end < begin:
            raise bad_request(Message("calendar.pause_end_before_begins"), field="pauses")
        last = _local_day(end, zone, "pauses")
        day = first + timedelta(days=1)
        while day <= last:
            paused.add(day)
            day += timedelta(days=1)
    return paused, still_open, sum(1 for d in paused if table.is_working_day(d))


def deadline(
    session: Session,
    *,
    start: datetime,
    days: int,
    timezone: str | tzinfo,
    pauses: Sequence[Pause] = (),
) -> Deadline:
    """The end of a time limit of ``days`` working days from ``start``, minus paused days."""
    zone = city_zone(timezone)
    _check_days(days)
    start_day = _local_day(start, zone, "start")
    table = calendar_table(session)
    paused, still_open, paused_working = _paused_dates(pauses, zone, table)
    day, counted = start_day, 0
    seen_years = {start_day.year}
    # The walk: the first counted day is the day after the start (民法典 第二百零一条).
    while counted < days:
        day += timedelta(days=1)
        seen_years.add(day.year)
        if day not in paused and table.is_working_day(day):
            counted += 1
    unknown = _warn_unknown(y for y in seen_years if y not in table.years)
    if still_open:
        return Deadline(None, None, days, paused_working, unknown)
    due = datetime.combine(day, clock.max, tzinfo=zone)
    return Deadline(due, day, days, paused_working, unknown)


def add_working_days(
    session: Session, *, start: datetime, days: int, timezone: str | tzinfo
) -> datetime:
    """The last instant of the ``days``-th working day after the day of ``start``."""
    due = deadline(session, start=start, days=days, timezone=timezone).due
    assert due is not None  # no pauses, so never open
    return due


def deadline_with_pauses(
    session: Session,
    *,
    start: datetime,
    days: int,
    pauses: Sequence[Pause],
    timezone: str | tzinfo,
) -> datetime | None:
    """The deadline moved on by the working days paused; None while a pause is still open."""
    return deadline(session, start=start, days=days, timezone=timezone, pauses=pauses).due


def working_days_between(
    session: Session, *, start: datetime, end: datetime, timezone: str | tzinfo
) -> int:
    """Working days after the day of ``start`` up to and including the day of ``end``."""
    zone = city_zone(timezone)
    first, last = _local_day(start, zone, "start"), _local_day(end, zone, "end")
    if last < first:
        raise bad_request(Message("calendar.end_before_start"), field="end")
    if (last - first).days > MAX_WORKING_DAYS * 2:
        raise bad_request(Message("calendar.start_end_are_too"), field="end")
    table = calendar_table(session)
    _warn_unknown(y for y in range(first.year, last.year + 1) if y not in table.years)
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += table.is_working_day(day)
    return count


def unknown_years(session: Session, *, first: date, last: date) -> list[int]:
    """The years from ``first`` to ``last`` that the table has no days of."""
    table = calendar_table(session)
    return [y for y in range(first.year, last.year + 1) if y not in table.years]


# ---------------------------------------------------------------- keeping the table


def known_years(session: Session) -> list[int]:
    """The years the table has days of."""
    return sorted(calendar_table(session).years)


def list_days(session: Session, *, year: int | None = None) -> list[CalendarDay]:
    """The table's days (of one year, or all), by date."""
    query = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(extract("year", CalendarDay.day) == year)
    return list(session.scalars(query))


def _changed(session: Session, *, years: Iterable[int], source: str) -> None:
    ordered = sorted(set(years))
    emit(session, CalendarChanged(first_year=ordered[0], years=ordered, source=source))
    # Cleared now for this transaction's own later questions, and again once the change is
    # visible to others (a reader between the two may have cached the old table).
    forget_cache()
    after_this_commit(session, forget_cache)


def set_day(
    session: Session, *, day: date, kind: str, name: str = "", name_zh: str = ""
) -> CalendarDay:
    """Make ``day`` a holiday or a working day, whatever its weekday says."""
    if kind not in KINDS:
        raise bad_request(
            Message("calendar.kind_choices", {"items": " or ".join(KINDS)}), field="kind"
        )
    if len(name) > 100 or len(name_zh) > 100:
        raise bad_request(Message("calendar.name_most_characters"), field="name")
    row = session.get(CalendarDay, day) or CalendarDay(day=day)
    row.kind, row.name, row.name_zh = kind, name.strip(), name_zh.strip()
    row.source, row.updated_at = CITY_SOURCE, utcnow()
    session.add(row)
    session.flush()
    _changed(session, years=[day.year], source=CITY_SOURCE)
    return row


def clear_day(session: Session, *, day: date) -> None:
    """Remove ``day`` from the table: it follows its weekday again; 404 when it is not there."""
    row = session.get(CalendarDay, day)
    if row is None:
        raise not_found("calendar day", day.isoformat())
    session.delete(row)
    session.flush()
    _changed(session, years=[day.year], source=CITY_SOURCE)


def package_years() -> range:
    """The years the installed chinese-calendar package knows."""
    import chinese_calendar

    known = chinese_calendar.holidays
    return range(min(known).year, max(known).year + 1)


def package_days(year: int) -> list[tuple[date, str, str, str]]:
    """(day, kind, English name, Chinese name) of one year from chinese-calendar."""
    import chinese_calendar

    chinese = {h.value: h.chinese for h in chinese_calendar.Holiday}
    found = [
        (day, kind, name, chinese.get(name, name))
        for kind, source in (
            (HOLIDAY, chinese_calendar.holidays),
            (WORKDAY, chinese_calendar.workdays),
        )
        for day, name in source.items()
        if day.year == year
    ]
    return sorted(found)


def import_year(session: Session, *, year: int) -> int:
    """Load one year's days from chinese-calendar; days a city set itself are kept."""
    years = package_years()
    if year not in years:
        raise Problem(
            400,
            "year-unknown-to-package",
            Message(
                "calendar.chinese_calendar_knows_set",
                {
                    "start": str(years.start),
                    "last": str(years.stop - 1),
                    "year": str(year),
                },
            ),
            field="year",
        )
    session.execute(
        delete(CalendarDay).where(
            extract("year", CalendarDay.day) == year, CalendarDay.source == PACKAGE_SOURCE
        )
    )
    kept = {
        d
        for d in session.scalars(
            select(CalendarDay.day).where(extract("year", CalendarDay.day) == year)
        )
    }
    now, written = utcnow(), 0
    for day, kind, name, name_zh in package_days(year):
        if day in kept:
            continue
        session.add(
            CalendarDay(
                day=day,
                kind=kind,
                name=name,
                name_zh=name_zh,
                source=PACKAGE_SOURCE,
                updated_at=now,
            )
        )
        written += 1
    session.flush()
    _changed(session, years=[year], source=PACKAGE_SOURCE)
    return written
