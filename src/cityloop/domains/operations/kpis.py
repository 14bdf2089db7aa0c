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
- closed_in_period, median and p90 hours to close: cases closed in the period, report to close
  (the median averages the two middle values; p90 is the nearest rank).
- satisfaction: mean stars of the ratings given in the period.
- The 三率: response_rate 响应率 = cases started by their response deadline / cases whose
  response deadline fell in the period; resolution_rate 解决率 = cases closed in the period as
  fixed / cases closed in the period; satisfaction_rate 满意率 = ratings of 4 or 5 stars / ratings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from cityloop.domains.operations.cuts import NONE_KEY, Cut, Period
from cityloop.domains.operations.models import CaseFactRow, RatingFactRow, ReworkFactRow

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


def _within(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _flag(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _filtered(model: Any, cut: Cut) -> list[ColumnElement[bool]]:
    return [getattr(model, name) == value for name, value in cut.filters.items()]


def _key(value: object) -> str:
    return NONE_KEY if value is None else str(value)


def tallies(session: Session, *, cut: Cut) -> dict[str, Tally]:
    """Every count of ``cut`` for the city (key ``"*"``) and, with ``cut.by``, per group."""
    found: dict[str, Tally] = defaultdict(Tally)
    _case_counts(session, cut, found)
    _percentiles(session, cut, found)
    _child_counts(session, cut, found)
    city = found.pop(CITY, None) or Tally()
    if cut.by is None:
        return {CITY: city}
    # The city's counts are the groups' sums; its median and p90 had a query of their own.
    for group in found.values():
        for name in COUNTS:
            setattr(city, name, getattr(city, name) + getattr(group, name))
    groups = dict(sorted(found.items()))
    return {CITY: city, **groups}


def _group(model: Any, cut: Cut) -> tuple[Any, list[Any]]:
    if cut.by is None:
        return literal_column(f"'{CITY}'").label("g"), []
    column = getattr(model, cut.by)
    return column.label("g"), [column]


def _case_counts(session: Session, cut: Cut, found: dict[str, Tally]) -> None:
    """One pass over the facts touched by the period (an OR of five indexed ranges)."""
    f, p = CaseFactRow, cut.period
    key, group_by = _group(f, cut)
    registered = _within(f.registered_at, p)
    due = _within(f.resolution_due, p)
    closed_by_end = and_(f.status == "closed", f.closed_at < p.end)
    resolved = _within(f.resolved_at, p)
    response = _within(f.response_due, p)
    closed_in = and_(f.status == "closed", _within(f.closed_at, p))
    query = (
        select(
            key,
            _flag(registered),
            _flag(due),
            _flag(and_(due, closed_by_end)),
            _flag(and_(due, closed_by_end, f.on_time.is_(True))),
            _flag(and_(due, ~closed_by_end, f.status.not_in(ENDED))),
            _flag(resolved),
            _flag(and_(resolved, f.handled_on_time.is_(True))),
            _flag(response),
            _flag(and_(response, f.started_at.is_not(None), f.started_at <= f.response_due)),
            _flag(closed_in),
            _flag(and_(closed_in, f.resolution == "fixed")),
        )
        .where(or_(registered, due, resolved, response, closed_in), *_filtered(f, cut))
        .group_by(*group_by)
    )
    for row in session.execute(query):
        tally = found[_key(row[0])]
        (
            tally.registered,
            tally.due,
            tally.closed,
            tally.closed_on_time,
            tally.overdue,
            tally.resolved,
            tally.resolved_on_time,
            tally.response_due,
            tally.responded_on_time,
            tally.closed_in_period,
            tally.fixed,
        ) = (int(value or 0) for value in row[1:])


def _percentiles(session: Session, cut: Cut, found: dict[str, Tally]) -> None:
    """Median and p90 hours to close, per group and for the city, by window functions."""
    levels = [cut] if cut.by is None else [cut, Cut(cut.period, None, cut.filters)]
    for level in levels:
        f = CaseFactRow
        key, group_by = _group(f, level)
        partition = {"partition_by": group_by} if group_by else {}
        ranked = (
            select(
                key,
                f.hours_to_close.label("h"),
                func.row_number().over(order_by=f.hours_to_close, **partition).label("rn"),
                func.count().over(**partition).label("n"),
            )
            .where(
                f.status == "closed",
                _within(f.closed_at, level.period),
                f.hours_to_close.is_not(None),
                *_filtered(f, level),
            )
            .subquery()
        )
        middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
        query = select(
            ranked.c.g,
            func.avg(case((middle, ranked.c.h))),
            func.min(case((ranked.c.rn * 10 >= ranked.c.n * 9, ranked.c.h))),
        ).group_by(ranked.c.g)
        for group, median, p90 in session.execute(query):
            name = CITY if level.by is None and cut.by is not None else _key(group)
            tally = found[name]
            tally.median_hours, tally.p90_hours = median, p90


def _child_counts(session: Session, cut: Cut, found: dict[str, Tally]) -> None:
    """Reworks and ratings in the period, from their own fact tables."""
    w = ReworkFactRow
    key, group_by = _group(w, cut)
    query = (
        select(key, func.count())
        .where(_within(w.at, cut.period), *_filtered(w, cut))
        .group_by(*group_by)
    )
    for group, count in session.execute(query):
        found[_key(group)].rework = int(count)
    r = RatingFactRow
    key, group_by = _group(r, cut)
    query = (
        select(key, func.count(), func.sum(r.stars), _flag(r.stars >= 4))
        .where(_within(r.at, cut.period), *_filtered(r, cut))
        .group_by(*group_by)
    )
    for group, count, stars, satisfied in session.execute(query):
        tally = found[_key(group)]
        tally.ratings, tally.stars_total = int(count), int(stars or 0)
        tally.satisfied = int(satisfied or 0)


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
