"""Temporal pagination (ETSI GS CIM 009 6.3.10, 4.12): when the server's page size cuts an
attribute's series, the answer is 206 with ``Content-Range: date-time <start>-<end>/<size>``.

The range is the time span in which the answer holds every instance asked for. Forwards (no
``lastN``) it runs from the start of the requested time range up to, not including, the first
instant a cut series did not return: a client continues with ``timerel=after&timeAt=<end>``
(``after`` includes ``timeAt``, clause 4.11) and gets the next instance first. Backwards
(``lastN``) it runs from the end of the requested range down to, including, the oldest instant
returned in full: a client continues with ``timerel=before&timeAt=<end>`` (``before`` leaves
``timeAt`` out). Instances of other series beyond that point are left out, and instances sharing
an instant are never split between two pages, so a client continuing from the range's end
neither misses nor repeats an instance. ``size`` is ``lastN`` when given, else ``*``. A series
the client cut with ``lastN`` (and got in full) is not partial: it is a 200.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild.entities import iso
from cityloop.platforms.data.perception.ngsild.temporal_store import moment_of

if TYPE_CHECKING:
    from cityloop.platforms.data.perception.ngsild.temporal import TimeQuery


@dataclass
class Series:
    """One attribute's instances as read (one page of them), in time order."""

    key: str  # the attribute's name as the answer writes it
    rows: list[Measurement]
    cut: bool  # more instances matched than the server's page holds
    # The first instant not returned when cut: forwards the earliest, backwards the newest.
    next_at: datetime | None = None


@dataclass(frozen=True)
class PageRange:
    start: datetime
    end: datetime
    size: int | None  # lastN, when the client gave one
    backwards: bool

    def header(self) -> str:
        """The Content-Range header's value."""
        size = "*" if self.size is None else str(self.size)
        return f"date-time {iso(self.start)}-{iso(self.end)}/{size}"

    def holds(self, moment: datetime) -> bool:
        """Whether an instance at ``moment`` lies within the range (forwards, ``end`` is the
        first instant left out; backwards, the last one kept)."""
        return moment >= self.end if self.backwards else moment < self.end


def newest_first(statement: Select[tuple[Measurement]], column: Any) -> Select[tuple[Measurement]]:
    """The instances newest first (instances at one instant by datasetId, as the index has them)."""
    return statement.order_by(column.desc(), Measurement.dataset_id.desc())


def read_forwards(
    session: Session, statement: Select[tuple[Measurement]], column: Any, prop: str, page: int
) -> tuple[list[Measurement], datetime | None]:
    """Up to ``page`` instances, oldest first, and the first instant not returned (None when
    nothing is left); when the whole page is one instant, every instance at it."""
    oldest = statement.order_by(column, Measurement.dataset_id)
    rows = list(session.scalars(oldest.limit(page + 1)))
    if len(rows) <= page:
        return rows, None
    next_at = moment_of(rows[page], prop)
    if moment_of(rows[0], prop) < next_at:
        return rows[:page], next_at
    # A page that cannot end before its first instant would never move on: it takes them all.
    later = session.scalars(oldest.where(column > next_at).limit(1)).first()
    return _at(session, oldest, column, next_at), _moment(later, prop)


def read_backwards(
    session: Session, statement: Select[tuple[Measurement]], column: Any, prop: str, page: int
) -> tuple[list[Measurement], datetime | None]:
    """The newest ``page`` instances, oldest first, and the newest instant not returned (None
    when nothing is left); when the whole page is one instant, every instance at it."""
    newest = newest_first(statement, column)
    rows = list(session.scalars(newest.limit(page + 1)))
    if len(rows) <= page:
        return rows[::-1], None
    next_at = moment_of(rows[page], prop)
    if moment_of(rows[0], prop) > next_at:
        return rows[page - 1 :: -1], next_at
    earlier = session.scalars(newest.where(column < next_at).limit(1)).first()
    oldest = statement.order_by(column, Measurement.dataset_id)
    return _at(session, oldest, column, next_at), _moment(earlier, prop)


def _at(
    session: Session, statement: Select[tuple[Measurement]], column: Any, moment: datetime
) -> list[Measurement]:
    return list(session.scalars(statement.where(column == moment)))


def _moment(row: Measurement | None, prop: str) -> datetime | None:
    return None if row is None else moment_of(row, prop)


def page_range(series: list[Series], query: TimeQuery) -> PageRange | None:
    """The range one answer covers in full, or None when no series was cut."""
    cut = [s for s in series if s.cut and s.rows]
    if not cut:
        return None
    prop = query.timeproperty
    firsts = [moment_of(s.rows[0], prop) for s in series if s.rows]
    lasts = [moment_of(s.rows[-1], prop) for s in series if s.rows]
    if query.last_n is not None:
        # Backwards: from the newest instance (or the range's upper bound) down to the latest
        # oldest instance of a cut series.
        start = max(lasts)
        if query.timerel == "between" and query.end_time_at is not None:
            start = query.end_time_at
        elif query.timerel == "before" and query.time_at is not None:
            start = query.time_at
        # Each cut series holds every instance newer than its next_at; the range ends at the
        # oldest instant every series holds in full.
        end = max(
            min(t for r in s.rows if (t := moment_of(r, prop)) > s.next_at)
            for s in cut
            if s.next_at is not None
        )
        return PageRange(start, end, query.last_n, backwards=True)
    start = min(firsts)
    if query.timerel in ("after", "between") and query.time_at is not None:
        start = query.time_at
    end = min(s.next_at for s in cut if s.next_at is not None)
    return PageRange(start, end, None, backwards=False)


def within(series: Series, window: PageRange | None, timeproperty: str) -> list[Measurement]:
    """The series' instances inside the page's range (all of them when nothing was cut)."""
    if window is None:
        return series.rows
    return [row for row in series.rows if window.holds(moment_of(row, timeproperty))]
