"""Temporal pagination (ETSI GS CIM 009 6.3.10, 4.12): when the server's page size cuts an
attribute's series, the answer is 206 with ``Content-Range: date-time <start>-<end>/<size>``.

The range is the time span in which the answer holds every instance asked for: forwards (no
``lastN``) from the start of the requested time range to the earliest point where a series was
cut; backwards (``lastN``) from the end of the requested range down to the latest such point.
Instances of other series beyond that point are left out, so a client continuing from the
range's end neither misses nor repeats an instance. ``size`` is ``lastN`` when given, else ``*``.
A series the client cut with ``lastN`` (and got in full) is not partial: it is a 200.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

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
        """Whether an instance at ``moment`` lies within the range."""
        return moment >= self.end if self.backwards else moment <= self.end


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
        end = max(moment_of(s.rows[0], prop) for s in cut)
        return PageRange(start, end, query.last_n, backwards=True)
    start = min(firsts)
    if query.timerel in ("after", "between") and query.time_at is not None:
        start = query.time_at
    end = min(moment_of(s.rows[-1], prop) for s in cut)
    return PageRange(start, end, None, backwards=False)


def within(series: Series, window: PageRange | None, timeproperty: str) -> list[Measurement]:
    """The series' instances inside the page's range (all of them when nothing was cut)."""
    if window is None:
        return series.rows
    return [row for row in series.rows if window.holds(moment_of(row, timeproperty))]
