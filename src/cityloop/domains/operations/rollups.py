"""Keeping the KPI rollups (``rollup_tables``): what each fact adds to them, the delta a fact
change applies in its own transaction, and the reconcile that recomputes them from the facts.

One function, :func:`contributions`, says what a case, a rating or a rework adds to which rollup
row; the delta of a change (new minus old contribution), the rebuild and the drift check all use
it. The reconcile (``rollup_rebuild``) states the same sums in SQL, for speed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.domains.operations.models import (
    DIMENSIONS,
    CaseFactRow,
)
from cityloop.domains.operations.rollup_rebuild import RollupDrift, reconcile
from cityloop.domains.operations.rollup_tables import (
    ALL,
    DAY_MEASURES,
    DUE_MEASURES,
    GRAINS,
    HIST_COUNTS,
    HIST_QUARTERS,
    MISSING,
    NEVER,
    bucket_of,
    day_rollups,
    due_rollups,
)

__all__ = ["RollupDrift", "reconcile"]

ENDED = ("rejected", "merged")
DAY, DUE = "day", "due"
# (table, grain, dimensions, day[, closed day]) → the measures added to that row.
Key = tuple[Any, ...]
Contributions = dict[Key, Counter[str]]
TABLES: dict[str, Table] = {DAY: day_rollups, DUE: due_rollups}
MEASURES = {DAY: DAY_MEASURES, DUE: DUE_MEASURES}
DAY_KEYS = {DAY: ("day",), DUE: ("due_day", "closed_day")}
CASE_COLUMNS = tuple(CaseFactRow.__table__.columns.keys())
RATING_COLUMNS = ("stars", "at", *DIMENSIONS)
REWORK_COLUMNS = ("at", *DIMENSIONS)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def quarters(hours: float) -> int:
    """Hours to close in quarter hours: plus a half, truncated (as the rebuild's SQL does)."""
    return int(hours * 4 + 0.5)


def _dims(values: Mapping[str, Any], kept: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        (MISSING if values[name] is None else values[name]) if name in kept else ALL
        for name in DIMENSIONS
    )


def _case_parts(fact: Mapping[str, Any]) -> list[tuple[str, tuple[date, ...], dict[str, int]]]:
    """What one case adds, per table and day(s), before the grains multiply it."""
    parts: list[tuple[str, tuple[date, ...], dict[str, int]]] = []
    if fact["registered_at"] is not None:
        parts.append((DAY, (utc_day(fact["registered_at"]),), {"registered": 1}))
    if fact["resolved_at"] is not None:
        on_time = int(fact["handled_on_time"] is True)
        parts.append(
            (DAY, (utc_day(fact["resolved_at"]),), {"resolved": 1, "resolved_on_time": on_time})
        )
    response_due = fact["response_due"]
    if response_due is not None:
        started = fact["started_at"]
        responded = int(started is not None and started <= response_due)
        parts.append(
            (DAY, (utc_day(response_due),), {"response_due": 1, "responded_on_time": responded})
        )
    closed = fact["status"] == "closed" and fact["closed_at"] is not None
    if closed:
        measures = {"closed": 1, "fixed": int(fact["resolution"] == "fixed")}
        if fact["hours_to_close"] is not None:
            quarter = quarters(fact["hours_to_close"])
            bucket = bucket_of(quarter)
            measures[HIST_COUNTS[bucket]] = 1
            measures[HIST_QUARTERS[bucket]] = quarter
        parts.append((DAY, (utc_day(fact["closed_at"]),), measures))
    if fact["resolution_due"] is not None:
        due_day = utc_day(fact["resolution_due"])
        closed_day = max(utc_day(fact["closed_at"]), due_day) if closed else NEVER
        measures = {
            "due": 1,
            "closed_on_time": int(closed and fact["on_time"] is True),
            "ended": int(fact["status"] in ENDED),
        }
        parts.append((DUE, (due_day, closed_day), measures))
    return parts


def _add(
    found: Contributions,
    values: Mapping[str, Any],
    parts: list[tuple[str, tuple[date, ...], dict[str, int]]],
    grains: Iterable[str],
) -> None:
    for grain in grains:
        dims = _dims(values, GRAINS[grain])
        for table, days, measures in parts:
            found[(table, grain, dims, *days)].update(measures)


def contributions(
    case: Mapping[str, Any] | None,
    ratings: Iterable[Mapping[str, Any]] = (),
    reworks: Iterable[Mapping[str, Any]] = (),
    *,
    grains: Iterable[str] = tuple(GRAINS),
) -> Contributions:
    """The rollup rows a case (its fact row's values), its ratings and its reworks add to."""
    found: Contributions = defaultdict(Counter)
    chosen = tuple(grains)
    if case is not None:
        _add(found, case, _case_parts(case), chosen)
    for rating in ratings:
        stars = rating["stars"]
        measures = {"ratings": 1, "stars": stars, "satisfied": int(stars >= 4)}
        _add(found, rating, [(DAY, (utc_day(rating["at"]),), measures)], chosen)
    for rework in reworks:
        _add(found, rework, [(DAY, (utc_day(rework["at"]),), {"rework": 1})], chosen)
    return found


def values_of(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """An ORM row's columns as a mapping (what :func:`contributions` reads)."""
    return {name: getattr(row, name) for name in names}


def delta(before: Contributions, after: Contributions) -> Contributions:
    """What to add to the rollups when ``before`` becomes ``after`` (zero changes left out)."""
    change: Contributions = {}
    for key in before.keys() | after.keys():
        difference = Counter(after.get(key, Counter()))
        difference.subtract(before.get(key, Counter()))
        nonzero = Counter({name: value for name, value in difference.items() if value})
        if nonzero:
            change[key] = nonzero
    return change


def _row(key: Key, measures: Mapping[str, int]) -> dict[str, Any]:
    table, grain, dims, *days = key
    return {
        "grain": grain,
        **dict(zip(DIMENSIONS, dims, strict=True)),
        **dict(zip(DAY_KEYS[table], days, strict=True)),
        **{name: measures.get(name, 0) for name in MEASURES[table]},
    }


def _by_table(change: Contributions) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, measures in sorted(change.items(), key=lambda item: repr(item[0])):
        rows[key[0]].append(_row(key, measures))
    return rows


def apply(session: Session, change: Contributions) -> None:
    """Add ``change`` to the rollups: one upsert per table, adding to rows that exist."""
    if not change:
        return
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for name, rows in _by_table(change).items():
        table = TABLES[name]
        statement = make_insert(table)
        keys = [column.name for column in table.primary_key.columns]
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={m: table.c[m] + statement.excluded[m] for m in MEASURES[name]},
        )
        session.execute(statement, rows)


def clear(session: Session) -> None:
    """Empty the rollups (the rebuild fills them again)."""
    for table in TABLES.values():
        session.execute(delete(table))
