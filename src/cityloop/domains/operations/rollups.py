"""Keeping the KPI rollups (``rollup_tables``): what each fact adds to them, the delta a fact
change applies in its own transaction, and the reconcile that recomputes them from the facts.

One function, :func:`contributions`, says what a case, a rating or a rework adds to which rollup
row; the delta of a change (new minus old contribution), the rebuild and the drift check all use
it, so the rollups cannot disagree with the facts by construction, only by tampering or a bug.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.domains.operations.models import (
    DIMENSIONS,
    CaseFactRow,
    RatingFactRow,
    ReworkFactRow,
)
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
    """Hours to close in quarter hours, rounded half up (as the facts' SQL rounds them)."""
    return int(hours * 4 + 0.5) if hours >= 0 else -int(-hours * 4 + 0.5)


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


@dataclass
class RollupDrift:
    """What the reconcile found: rows checked, rows it corrected or added, rows it removed."""

    checked: int = 0
    fixed: int = 0
    removed: int = 0


def _stream(session: Session, columns: list[Any], size: int = 5000) -> Iterator[dict[str, Any]]:
    result = session.execute(select(*columns).execution_options(yield_per=size))
    for row in result:
        yield dict(row._mapping)


def expected(session: Session, *, grain: str) -> Contributions:
    """One grain's rollups as the facts say they should be."""
    found: Contributions = defaultdict(Counter)
    grains = (grain,)
    case_columns = [CaseFactRow.__table__.c[name] for name in CASE_COLUMNS]
    for fact in _stream(session, case_columns):
        _add(found, fact, _case_parts(fact), grains)
    rating_columns = [RatingFactRow.__table__.c[name] for name in RATING_COLUMNS]
    for rating in _stream(session, rating_columns):
        for key, measures in contributions(None, [rating], grains=grains).items():
            found[key].update(measures)
    rework_columns = [ReworkFactRow.__table__.c[name] for name in REWORK_COLUMNS]
    for rework in _stream(session, rework_columns):
        for key, measures in contributions(None, (), [rework], grains=grains).items():
            found[key].update(measures)
    return found


def reconcile(session: Session) -> RollupDrift:
    """Recompute every rollup row from the facts, correct the ones that differ, drop the ones
    that should not exist (rows summed down to zero are tidied without counting as drift)."""
    drift = RollupDrift()
    for grain in GRAINS:
        wanted = expected(session, grain=grain)
        for name, table in TABLES.items():
            _reconcile_table(session, drift, name, table, grain, wanted)
    return drift


def _reconcile_table(
    session: Session,
    drift: RollupDrift,
    name: str,
    table: Table,
    grain: str,
    wanted: Contributions,
) -> None:
    measures = MEASURES[name]
    key_names = ("grain", *DIMENSIONS, *DAY_KEYS[name])
    stored = session.execute(select(table).where(table.c.grain == grain))
    fixes: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    seen: set[Key] = set()
    for row in stored:
        values = row._mapping
        key: Key = (
            name,
            grain,
            tuple(values[d] for d in DIMENSIONS),
            *(values[d] for d in DAY_KEYS[name]),
        )
        seen.add(key)
        want = wanted.get(key)
        drift.checked += 1
        if want is None:
            gone.append({f"k_{k}": values[k] for k in key_names})
            drift.removed += any(values[m] for m in measures)
        elif any(values[m] != want.get(m, 0) for m in measures):
            new = {f"v_{m}": want.get(m, 0) for m in measures}
            fixes.append({**{f"k_{k}": values[k] for k in key_names}, **new})
    missing = [
        _row(key, want) for key, want in wanted.items() if key[0] == name and key not in seen
    ]
    drift.fixed += len(fixes) + len(missing)
    match = and_(*[table.c[k] == bindparam(f"k_{k}") for k in key_names])
    if gone:
        session.execute(delete(table).where(match), gone)
    if fixes:
        statement = update(table).where(match).values({m: bindparam(f"v_{m}") for m in measures})
        session.execute(statement, fixes)
    for start in range(0, len(missing), 10_000):
        session.execute(table.insert(), missing[start : start + 10_000])


def clear(session: Session) -> None:
    """Empty the rollups (the rebuild fills them again)."""
    for table in TABLES.values():
        session.execute(delete(table))
