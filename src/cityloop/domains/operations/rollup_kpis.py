"""The KPIs of a cut read from the rollups: whole UTC days from one grain's rollup rows, and the
period's partial first and last days from the facts (at most two days of them), so a period
that starts or ends inside a day gets the same answer as a count of every fact.

"Closed by the end" needs one more fact query when the period ends inside a day: cases due on
a whole day of the period and closed on its last, partial, day are closed by the end only when
they were closed before the end's time of day; the rollups know only their day.

Median and p90 hours to close come from the summed histogram (``rollup_tables.BUCKET_HOURS``):
each is the mean (to the quarter hour) of the bucket its rank falls in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, literal_column, select
from sqlalchemy.orm import Session

from cityloop.domains.operations import kpis
from cityloop.domains.operations.cuts import Cut, Period
from cityloop.domains.operations.kpis import CITY, Tally
from cityloop.domains.operations.models import CaseFactRow
from cityloop.domains.operations.rollup_tables import (
    BUCKETS,
    DAY_COUNTS,
    HIST_COUNTS,
    HIST_QUARTERS,
    MISSING,
    day_rollups,
    due_rollups,
)
from cityloop.domains.operations.rollups import bucket_of, quarters

# Day rollup measure → the tally's field.
DAY_FIELDS = {
    "registered": "registered",
    "resolved": "resolved",
    "resolved_on_time": "resolved_on_time",
    "response_due": "response_due",
    "responded_on_time": "responded_on_time",
    "closed": "closed_in_period",
    "fixed": "fixed",
    "rework": "rework",
    "ratings": "ratings",
    "stars": "stars_total",
    "satisfied": "satisfied",
}
FIRST_DAY, LAST_DAY = bindparam("first_day"), bindparam("last_day")
Histogram = list[list[int]]  # per bucket: [count, sum of quarter hours]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def whole_days(period: Period) -> tuple[date, date] | None:
    """The UTC days [first, last) that lie wholly inside the period (None when none does)."""
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    first = start.date() if start == _midnight(start.date()) else start.date() + timedelta(1)
    last = end.date()
    return (first, last) if first < last else None


def tallies(session: Session, *, cut: Cut, grain: str) -> dict[str, Tally]:
    """Every count of ``cut`` (the city and each group), from ``grain``'s rollups."""
    found: dict[str, Tally] = defaultdict(Tally)
    histograms: dict[str, Histogram] = defaultdict(lambda: [[0, 0] for _ in range(BUCKETS)])
    days = whole_days(cut.period)
    if days is None:
        edges = [cut.period]
    else:
        first, last = _midnight(days[0]), _midnight(days[1])
        edges = [p for p in (Period(cut.period.start, first), Period(last, cut.period.end))]
        edges = [p for p in edges if p.start < p.end]
        _read_rollups(session, cut, grain, days, found, histograms)
        if last < cut.period.end:
            _closed_on_the_last_day(session, cut, Period(first, last), found)
    for edge in edges:
        part = Cut(edge, cut.by, cut.filters)
        kpis.fact_counts(session, cut=part, closed_by=cut.period.end, found=found)
        _fact_histogram(session, part, histograms)
    groups = {key: tally for key, tally in found.items() if _any(tally)}
    for key in histograms.keys() - groups.keys():
        if sum(count for count, _ in histograms[key]):
            groups[key] = Tally()
    city_histogram = _summed(histograms.values())
    for key, tally in groups.items():
        tally.median_hours, tally.p90_hours = percentiles(histograms[key])
    answer = kpis.city_and_groups(groups, cut.by)
    if cut.by is not None:
        answer[CITY].median_hours, answer[CITY].p90_hours = percentiles(city_histogram)
    return answer


def _any(tally: Tally) -> bool:
    return any(getattr(tally, name) for name in kpis.COUNTS)


def _summed(histograms: Any) -> Histogram:
    total = [[0, 0] for _ in range(BUCKETS)]
    for histogram in histograms:
        for bucket, (count, quarter_sum) in enumerate(histogram):
            total[bucket][0] += count
            total[bucket][1] += quarter_sum
    return total


def percentiles(histogram: Sequence[Sequence[int]]) -> tuple[float | None, float | None]:
    """Median and p90 hours from a histogram: the median averages the values of ranks
    (n+1)//2 and (n+2)//2, p90 is the nearest rank; a rank's value is its bucket's mean."""
    total = sum(count for count, _ in histogram)
    if not total:
        return None, None

    def value(rank: int) -> float:
        running = 0
        for count, quarter_sum in histogram:
            running += count
            if running >= rank:
                return math.floor(quarter_sum / count + 0.5) / 4
        raise AssertionError("a rank beyond the histogram")

    median = (value((total + 1) // 2) + value((total + 2) // 2)) / 2
    return median, value((9 * total + 9) // 10)


def _group(table: Any, by: str | None) -> tuple[Any, list[Any]]:
    if by is None:
        return literal_column(f"'{CITY}'").label("g"), []
    return table.c[by].label("g"), [table.c[by]]


def _key(value: object) -> str:
    return kpis.NONE_KEY if value is None or value == MISSING else str(value)


@cache
def _day_sums(grain: str, by: str | None, names: tuple[str, ...]) -> Select[Any]:
    t = day_rollups
    key, group_by = _group(t, by)
    measures = DAY_COUNTS + HIST_COUNTS + HIST_QUARTERS
    return (
        select(key, *[func.sum(t.c[name]) for name in measures])
        .where(
            t.c.grain == grain,
            t.c.day >= FIRST_DAY,
            t.c.day < LAST_DAY,
            *[t.c[name] == bindparam(f"f_{name}") for name in names],
        )
        .group_by(*group_by)
    )


@cache
def _due_sums(grain: str, by: str | None, names: tuple[str, ...]) -> Select[Any]:
    t = due_rollups
    key, group_by = _group(t, by)
    by_end = t.c.closed_day < LAST_DAY
    return (
        select(
            key,
            func.sum(t.c.due),
            func.sum(t.c.ended),
            func.sum(case((by_end, t.c.due), else_=0)),
            func.sum(case((by_end, t.c.closed_on_time), else_=0)),
        )
        .where(
            t.c.grain == grain,
            t.c.due_day >= FIRST_DAY,
            t.c.due_day < LAST_DAY,
            *[t.c[name] == bindparam(f"f_{name}") for name in names],
        )
        .group_by(*group_by)
    )


def _read_rollups(
    session: Session,
    cut: Cut,
    grain: str,
    days: tuple[date, date],
    found: dict[str, Tally],
    histograms: dict[str, Histogram],
) -> None:
    names = tuple(sorted(cut.filters))
    params = {
        "first_day": days[0],
        "last_day": days[1],
        **{f"f_{name}": value for name, value in cut.filters.items()},
    }
    for row in session.execute(_day_sums(grain, cut.by, names), params):
        key, values = _key(row[0]), [int(value or 0) for value in row[1:]]
        tally = found[key]
        for name, value in zip(DAY_COUNTS, values, strict=False):
            field = DAY_FIELDS[name]
            setattr(tally, field, getattr(tally, field) + value)
        counts = values[len(DAY_COUNTS) : len(DAY_COUNTS) + BUCKETS]
        sums = values[len(DAY_COUNTS) + BUCKETS :]
        for bucket, (count, quarter_sum) in enumerate(zip(counts, sums, strict=True)):
            histograms[key][bucket][0] += count
            histograms[key][bucket][1] += quarter_sum
    for group, due, ended, closed, on_time in session.execute(
        _due_sums(grain, cut.by, names), params
    ):
        tally = found[_key(group)]
        due, ended, closed, on_time = (int(v or 0) for v in (due, ended, closed, on_time))
        tally.due += due
        tally.closed += closed
        tally.closed_on_time += on_time
        # Not closed by the end, and taken on (an ended case is never closed).
        tally.overdue += due - closed - ended


@cache
def _closed_late_in_the_day(by: str | None, names: tuple[str, ...]) -> Select[Any]:
    f = CaseFactRow
    key, group_by = kpis._group(f, by)
    return (
        select(key, func.count(), kpis._flag(f.on_time.is_(True)))
        .where(
            f.status == "closed",
            f.closed_at >= bindparam("last"),
            f.closed_at < kpis.END,
            f.resolution_due >= bindparam("first"),
            f.resolution_due < bindparam("last"),
            *kpis._filtered(f, names),
        )
        .group_by(*group_by)
    )


def _closed_on_the_last_day(
    session: Session, cut: Cut, whole: Period, found: dict[str, Tally]
) -> None:
    """Cases due on a whole day and closed on the partial last day, before the end: closed by
    the end, so no longer overdue."""
    names = tuple(sorted(cut.filters))
    params = {
        "first": whole.start,
        "last": whole.end,
        "end": cut.period.end,
        **{f"f_{name}": value for name, value in cut.filters.items()},
    }
    for group, count, on_time in session.execute(_closed_late_in_the_day(cut.by, names), params):
        tally = found[_key(group)]
        tally.closed += int(count)
        tally.closed_on_time += int(on_time or 0)
        tally.overdue -= int(count)


@cache
def _hours_closed(by: str | None, names: tuple[str, ...]) -> Select[Any]:
    f = CaseFactRow
    key, _ = kpis._group(f, by)
    return select(key, f.hours_to_close).where(
        f.status == "closed",
        and_(f.closed_at >= kpis.START, f.closed_at < kpis.END),
        f.hours_to_close.is_not(None),
        *kpis._filtered(f, names),
    )


def _fact_histogram(session: Session, cut: Cut, histograms: dict[str, Histogram]) -> None:
    """Add the hours to close of the cases closed in ``cut`` (a partial day) to the histograms."""
    params = kpis._params(cut)
    for group, hours in session.execute(_hours_closed(*kpis._shape(cut)), params):
        quarter = quarters(float(hours))
        bucket = histograms[_key(group)][bucket_of(quarter)]
        bucket[0] += 1
        bucket[1] += quarter
