"""The KPIs after CJ/T 292, computed in SQL over the case facts (never row by row in Python).

Definitions, for a period [start, end):
- registered 立案数: cases registered in the period.
- due 应结案数: cases whose resolution deadline fell in the period.
- closed 结案数: due cases closed before ``end``; closure_rate 结案率 = closed / due.
- closed_on_time 按期结案数: due cases closed by their deadline; on_time_closure_rate 按期结案率.
- overdue 超期数: due cases not closed by ``end`` (rejected and merged ones aside).
- resolved, resolved_on_time: cases resolved in the period, and those by their deadline;
  on_time_handling_rate 按期处置率 = resolved_on_time / resolved.
- rework 返工数: cases sent back in the period, charged to the department that had them.
- closed_in_period, median and p90 hours to close: cases closed in the period, report to close,
  to the quarter hour (the median averages the two middle values; p90 is the nearest rank).
- satisfaction: mean stars of the ratings given in the period.
- The 三率: response_rate 响应率 = cases started by their response deadline / cases whose
  response deadline fell in the period; resolution_rate 解决率 = cases closed in the period as
  fixed / cases closed in the period; satisfaction_rate 满意率 = ratings of 4 or 5 stars / ratings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from cityloop.domains.operations.cuts import NONE_KEY, Cut
from cityloop.domains.operations.models import CaseFactRow, RatingFactRow, ReworkFactRow
from cityloop.domains.operations.rollup_tables import grain_for

CITY = "*"
ENDED = ("rejected", "merged")  # cases the city did not take on: never due, never overdue
COUNTS = (
    "registered",
    "due",
    "closed",
    "closed_on_time",
    "resolved",
    "resolved_on_time",
    "rework",
    "overdue",
    "ratings",
    "stars_total",
    "satisfied",
    "response_due",
    "responded_on_time",
    "closed_in_period",
    "fixed",
)
RATES = (
    "closure_rate",
    "on_time_closure_rate",
    "on_time_handling_rate",
    "median_hours_to_close",
    "p90_hours_to_close",
    "satisfaction",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
)
FIGURES = tuple(name for name in COUNTS if name != "stars_total") + RATES


@dataclass
class Tally:
    registered: int = 0
    due: int = 0
    closed: int = 0
    closed_on_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    rework: int = 0
    overdue: int = 0
    ratings: int = 0
    stars_total: int = 0
    satisfied: int = 0
    response_due: int = 0
    responded_on_time: int = 0
    closed_in_period: int = 0
    fixed: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None

    def figures(self) -> dict[str, Any]:
        """Counts and rates, as the routes answer them."""
        body = asdict(self)
        body.pop("stars_total")
        body.pop("median_hours")
        body.pop("p90_hours")
        body["closure_rate"] = rate(self.closed, self.due)
        body["on_time_closure_rate"] = rate(self.closed_on_time, self.due)
        body["on_time_handling_rate"] = rate(self.resolved_on_time, self.resolved)
        body["median_hours_to_close"] = _hours(self.median_hours)
        body["p90_hours_to_close"] = _hours(self.p90_hours)
        body["satisfaction"] = round(self.stars_total / self.ratings, 2) if self.ratings else None
        body["response_rate"] = rate(self.responded_on_time, self.response_due)
        body["resolution_rate"] = rate(self.fixed, self.closed_in_period)
        body["satisfaction_rate"] = rate(self.satisfied, self.ratings)
        return body


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


# The statements are built once per shape (grouping and filtered dimensions) and cached; the
# period and the filter values are bound parameters. Building these expressions costs more than
# running them on a small period, so a dashboard's many requests reuse them.
START, END = bindparam("start"), bindparam("end")
# "Closed by the end": the period's end, also when only a slice of the period is read here.
CLOSED_BY = bindparam("closed_by")


def _within(column: Any) -> ColumnElement[bool]:
    return and_(column >= START, column < END)


def _flag(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _filtered(model: Any, names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    return [getattr(model, name) == bindparam(f"f_{name}") for name in names]


def _key(value: object) -> str:
    return NONE_KEY if value is None else str(value)


def _params(cut: Cut, closed_by: datetime | None = None) -> dict[str, Any]:
    return {
        "start": cut.period.start,
        "end": cut.period.end,
        "closed_by": closed_by or cut.period.end,
        **{f"f_{name}": value for name, value in cut.filters.items()},
    }


def _shape(cut: Cut) -> tuple[str | None, tuple[str, ...]]:
    return cut.by, tuple(sorted(cut.filters))


def tallies(session: Session, *, cut: Cut) -> dict[str, Tally]:
    """Every count of ``cut`` for the city (key ``"*"``) and, with ``cut.by``, per group: from
    the rollups when a grain holds the cut's dimensions, else from the facts."""
    # The rollup reader builds on this module's fact queries (for the period's partial days).
    from cityloop.domains.operations import rollup_kpis

    grain = grain_for({name for name in (cut.by, *cut.filters) if name})
    if grain is None:
        return fact_tallies(session, cut=cut)
    return rollup_kpis.tallies(session, cut=cut, grain=grain)


def fact_counts(
    session: Session, *, cut: Cut, closed_by: datetime, found: dict[str, Tally]
) -> None:
    """Add the case, rework and rating counts of ``cut``'s facts to ``found`` (no percentile):
    due cases count as closed when closed before ``closed_by``."""
    by, names = _shape(cut)
    params = _params(cut, closed_by)
    for statement, fields in _case_counts(by, names):
        for row in session.execute(statement, params):
            tally = found[_key(row[0])]
            for field, value in zip(fields, row[1:], strict=True):
                setattr(tally, field, getattr(tally, field) + int(value or 0))
    for group, count in session.execute(_reworks(by, names), params):
        found[_key(group)].rework += int(count)
    for group, count, stars, satisfied in session.execute(_ratings(by, names), params):
        tally = found[_key(group)]
        tally.ratings += int(count)
        tally.stars_total += int(stars or 0)
        tally.satisfied += int(satisfied or 0)


def fact_tallies(session: Session, *, cut: Cut) -> dict[str, Tally]:
    """Every count of ``cut`` counted from the facts themselves (the reference the rollups must
    agree with, and the answer for a cut no rollup grain holds)."""
    found: dict[str, Tally] = defaultdict(Tally)
    by, names = _shape(cut)
    fact_counts(session, cut=cut, closed_by=cut.period.end, found=found)
    params = _params(cut)
    levels = [by] if by is None else [by, None]
    for level in levels:
        for group, median, p90 in session.execute(_percentiles(level, names), params):
            tally = found[CITY if level is None else _key(group)]
            tally.median_hours, tally.p90_hours = median, p90
    return city_and_groups(found, by)


def city_and_groups(found: dict[str, Tally], by: str | None) -> dict[str, Tally]:
    """The city first, then the groups in order; the city's counts are the groups' sums (its
    median and p90 were computed on their own)."""
    city = found.pop(CITY, None) or Tally()
    if by is None:
        return {CITY: city}
    for group in found.values():
        for name in COUNTS:
            setattr(city, name, getattr(city, name) + getattr(group, name))
    return {CITY: city, **dict(sorted(found.items()))}


def _group(model: Any, by: str | None) -> tuple[Any, list[Any]]:
    if by is None:
        return literal_column(f"'{CITY}'").label("g"), []
    column = getattr(model, by)
    return column.label("g"), [column]


@cache
def _case_counts(
    by: str | None, names: tuple[str, ...]
) -> list[tuple[Select[Any], tuple[str, ...]]]:
    """One statement per period column, each a range scan of its covering index (an OR of the
    five ranges would visit every touched row of the table instead)."""
    f = CaseFactRow
    key, group_by = _group(f, by)
    closed_by_end = and_(f.status == "closed", f.closed_at < CLOSED_BY)

    def counting(period: ColumnElement[bool], *sums: Any) -> Select[Any]:
        query = select(key, func.count(), *sums).where(period, *_filtered(f, names))
        return query.group_by(*group_by)

    return [
        (counting(_within(f.registered_at)), ("registered",)),
        (
            counting(
                _within(f.resolution_due),
                _flag(closed_by_end),
                _flag(and_(closed_by_end, f.on_time.is_(True))),
                _flag(and_(~closed_by_end, f.status.not_in(ENDED))),
            ),
            ("due", "closed", "closed_on_time", "overdue"),
        ),
        (
            counting(_within(f.resolved_at), _flag(f.handled_on_time.is_(True))),
            ("resolved", "resolved_on_time"),
        ),
        (
            counting(
                _within(f.response_due),
                _flag(and_(f.started_at.is_not(None), f.started_at <= f.response_due)),
            ),
            ("response_due", "responded_on_time"),
        ),
        (
            counting(
                and_(_within(f.closed_at), f.status == "closed"), _flag(f.resolution == "fixed")
            ),
            ("closed_in_period", "fixed"),
        ),
    ]


@cache
def _percentiles(by: str | None, names: tuple[str, ...]) -> Select[Any]:
    """Median and p90 hours to close per group (or for the city), to the quarter hour: a
    histogram of quarter hours per group, then running sums over it (sorting the histogram, not
    every case, is what keeps this fast over a million facts)."""
    f = CaseFactRow
    key, group_by = _group(f, by)
    quarter = cast(func.round(f.hours_to_close * 4), Integer).label("q")
    histogram = (
        select(key, quarter, func.count().label("c"))
        .where(
            f.status == "closed",
            _within(f.closed_at),
            f.hours_to_close.is_not(None),
            *_filtered(f, names),
        )
        .group_by(*group_by, quarter)
        .subquery()
    )
    h = histogram.c
    partition = {"partition_by": [h.g]} if by is not None else {}
    running = select(
        h.g,
        h.q,
        cast(func.sum(h.c).over(order_by=h.q, **partition), Integer).label("cum"),
        cast(func.sum(h.c).over(**partition), Integer).label("n"),
    ).subquery()
    r = running.c
    first = func.min(case((r.cum >= (r.n + 1) // 2, r.q)))
    second = func.min(case((r.cum >= (r.n + 2) // 2, r.q)))
    return select(
        r.g,
        (first + second) / 8.0,
        func.min(case((r.cum * 10 >= r.n * 9, r.q))) / 4.0,
    ).group_by(r.g)


@cache
def _reworks(by: str | None, names: tuple[str, ...]) -> Select[Any]:
    w = ReworkFactRow
    key, group_by = _group(w, by)
    return select(key, func.count()).where(_within(w.at), *_filtered(w, names)).group_by(*group_by)


@cache
def _ratings(by: str | None, names: tuple[str, ...]) -> Select[Any]:
    r = RatingFactRow
    key, group_by = _group(r, by)
    return (
        select(key, func.count(), func.sum(r.stars), _flag(r.stars >= 4))
        .where(_within(r.at), *_filtered(r, names))
        .group_by(*group_by)
    )


def figures(session: Session, *, cut: Cut) -> dict[str, dict[str, Any]]:
    """The figures of ``cut``: key ``"*"`` for the city, then one per group of ``cut.by``."""
    return {key: tally.figures() for key, tally in tallies(session, cut=cut).items()}


def delta(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    """Each figure minus its previous value (None where either is missing)."""
    answer: dict[str, float | None] = {}
    for name in FIGURES:
        now, before = current.get(name), previous.get(name)
        answer[name] = None if now is None or before is None else round(now - before, 4)
    return answer
