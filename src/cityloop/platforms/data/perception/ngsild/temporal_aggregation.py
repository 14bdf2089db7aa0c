"""Aggregated temporal representation (clauses 4.5.19, 5.7.3-5.7.4 ``aggregatedValues``):
``aggrMethods`` over periods of ``aggrPeriodDuration``, computed in SQL on both engines.

One GROUP BY per attribute series returns, per period and datasetId, the count, the distinct
count, the sum, the sum of squares, the minimum and the maximum; the average and the standard
deviation follow from them per period, so no instance is ever loaded into Python.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild.entities import iso
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.temporal_buckets import (
    Series,
    period_figures,
    plan,
)
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.rollups import epoch_of

MAX_PERIOD_SECONDS = 1000 * 365.2425 * 86400  # period starts must stay representable
METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
# Years and months have no fixed length; periods take the average Gregorian ones.
_UNIT_SECONDS = (365.2425 * 86400, 30.436875 * 86400, 7 * 86400, 86400, 3600, 60, 1)


@dataclass(frozen=True)
class Aggregation:
    methods: tuple[str, ...]
    period: float | None  # seconds; None: one period over the whole time range


def parse_duration(given: str) -> float:
    """An ISO 8601 duration (``P1DT2H``, ``PT15M``), in seconds; 400 naming aggrPeriodDuration."""
    match = _DURATION.match(given) if len(given) < 60 else None
    if match is None:
        raise bad_data(text("temporal_duration_invalid", value=given[:60]))
    seconds = sum(
        float(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if part
    )
    if seconds > MAX_PERIOD_SECONDS:
        raise bad_data(text("temporal_duration_too_long"))
    return seconds


def parse_aggregation(methods: Any, period: Any) -> Aggregation:
    """``aggrMethods`` (a comma list or a list) and ``aggrPeriodDuration``, checked."""
    if isinstance(methods, str):
        names = [part.strip() for part in methods.split(",") if part.strip()]
    elif isinstance(methods, list) and all(isinstance(m, str) for m in methods):
        names = [m.strip() for m in methods]
    else:
        raise bad_data(text("temporal_methods_not_names"))
    if not names:
        raise bad_data(text("temporal_methods_missing"))
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise bad_data(
            text("temporal_method_unknown", method=unknown[0], methods=", ".join(METHODS))
        )
    seconds = None
    if period is not None:
        if not isinstance(period, str):
            raise bad_data(text("temporal_duration_not_string"))
        seconds = parse_duration(period) or None  # PT0S: the whole range is one period
    return Aggregation(tuple(dict.fromkeys(names)), seconds)


def seconds_since(session: Session, column: Any, start: datetime) -> ColumnElement[float]:
    """Seconds from ``start`` to a stored time, in SQL: whole seconds counted exactly (no
    float epoch on the way), so an instance on a period's boundary opens the next period."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column - start)
    # SQLite keeps times as "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds plus the fraction.
    whole = cast(func.strftime("%s", column), Integer) - epoch_of(start)
    fraction = cast(func.substr(column, 20), Float) - start.microsecond / 1e6
    return whole + fraction


def _bucket(session: Session, seconds: ColumnElement[float], period: float) -> ColumnElement[int]:
    """The period a time (seconds past the first period's start, never negative) falls in."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(seconds / period), BigInteger)
    return cast(seconds / period, Integer)  # SQLite truncates toward zero: floor for x >= 0


# The SQL figures each method needs; only those asked for are computed (a distinct count
# costs a sort per period, so it is never paid for unasked).
_NEEDS = {
    "totalCount": ("count",),
    "distinctCount": ("distinct",),
    "sum": ("sum",),
    "sumsq": ("sumsq",),
    "min": ("min",),
    "max": ("max",),
    "avg": ("numbers", "sum"),
    "stddev": ("numbers", "sum", "sumsq"),
}


def _figures() -> dict[str, ColumnElement[Any]]:
    numeric = Measurement.num_value
    return {
        "count": func.count(),
        "distinct": func.count(numeric.distinct()) + func.count(Measurement.text_value.distinct()),
        "numbers": func.count(numeric),
        "sum": func.sum(numeric),
        "sumsq": func.sum(numeric * numeric),
        "min": func.min(numeric),
        "max": func.max(numeric),
    }


def _value(method: str, figures: dict[str, Any]) -> Any:
    """One method's result for one period from the period's SQL figures."""
    direct = {"totalCount": "count", "distinctCount": "distinct", "sum": "sum", "sumsq": "sumsq"}
    if method in direct or method in ("min", "max"):
        return figures[direct.get(method, method)]
    total, n = figures["sum"], figures["numbers"]
    if total is None:
        return None  # no numbers in this period
    if method == "avg":
        return total / n
    # stddev: the sample standard deviation, as PostgreSQL's stddev.
    if n < 2:
        return 0.0
    variance = (figures["sumsq"] - total * total / n) / (n - 1)
    return math.sqrt(max(variance, 0.0))


def aggregate_series(
    session: Session,
    *,
    where: list[Any],
    time_column: Any,
    end: datetime | None,
    aggregation: Aggregation,
    series: Series | None = None,
) -> dict[str, dict[str, list[list[Any]]]]:
    """Per datasetId, each method's ``[value, periodStart, periodEnd]`` list, oldest first.

    Periods start at the first instance in the range; without a period, one period runs from
    there to ``end`` (the range's end, or the last instance). Given the ``series`` (selected
    by observedAt, ``end`` its exclusive end), whole minutes and hours come from the rollups."""
    # Two queries: alone, each of min and max on observed_at is one index seek.
    start = session.scalar(select(func.min(time_column)).where(*where))
    last = session.scalar(select(func.max(time_column)).where(*where))
    if start is None:
        return {}
    until, end = end, end or last
    wanted = sorted({name for method in aggregation.methods for name in _NEEDS[method]})
    figures = [_figures()[name] for name in wanted]
    ranges = None
    if series is not None and "distinct" not in wanted:  # rollups keep no distinct values
        ranges = plan(start=start, last=last, period=aggregation.period, until=until)
    if series is not None and ranges is not None:
        parts = period_figures(session, series=series, ranges=ranges)
        rows = [(dataset, k, *[f[name] for name in wanted]) for dataset, k, f in parts]
    elif aggregation.period is None:
        statement = select(Measurement.dataset_id, *figures).where(*where)
        statement = statement.group_by(Measurement.dataset_id)
        rows = [(dataset, 0, *rest) for dataset, *rest in session.execute(statement)]
    else:
        offset = seconds_since(session, time_column, start)
        bucket = _bucket(session, offset, aggregation.period).label("bucket")
        statement = (
            select(Measurement.dataset_id, bucket, *figures)
            .where(*where)
            .group_by(Measurement.dataset_id, bucket)
            .order_by(bucket)
        )
        rows = [tuple(row) for row in session.execute(statement)]
    out: dict[str, dict[str, list[list[Any]]]] = {}
    for dataset, number, *values in rows:
        if aggregation.period is None:
            period_start, period_end = start, end
        else:
            period_start = start + timedelta(seconds=aggregation.period * int(number))
            period_end = period_start + timedelta(seconds=aggregation.period)
        results = out.setdefault(dataset, {method: [] for method in aggregation.methods})
        bounds = iso(period_start), iso(period_end)  # once per period, not per method
        period = dict(zip(wanted, values, strict=True))
        for method in aggregation.methods:
            results[method].append([_value(method, period), *bounds])
    return out
