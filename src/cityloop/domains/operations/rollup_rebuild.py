"""The rollups recomputed from the facts in SQL, one grain at a time: the nightly reconcile and
`cityloop operations rebuild`.

The database sums a million facts in seconds where Python would take minutes, so this is a
second statement of what ``rollups.contributions`` says row by row. The two must agree: the
tests write random facts through the deltas and check that this reconcile then finds nothing
to fix.

For each grain and table the expected rows go to a scratch table; rows that differ from the
stored ones (and stored rows that should not exist) are counted as drift, and when there is
any the grain's rows are replaced by the expected ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    cast,
    delete,
    except_,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
)
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
    BUCKET_QUARTERS,
    BUCKETS,
    DAY_MEASURES,
    DUE_MEASURES,
    GRAINS,
    HIST_COUNTS,
    HIST_QUARTERS,
    MISSING,
    NEVER,
    day_rollups,
    due_rollups,
)

ENDED = ("rejected", "merged")
# The measures a branch sums, and its statement (grain dimensions and day(s) first).
Branch = tuple[tuple[str, ...], Any]


@dataclass
class RollupDrift:
    """What the reconcile found: rows checked, rows it corrected or added, rows it removed."""

    checked: int = 0
    fixed: int = 0
    removed: int = 0


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _day(session: Session, column: Any) -> Any:
    """The UTC day of a stored time, as the Date column stores it."""
    if _is_postgres(session):
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _truncated(session: Session, value: Any) -> Any:
    """An integer towards zero (PostgreSQL's cast rounds; SQLite's truncates)."""
    if _is_postgres(session):
        return cast(func.trunc(value), Integer)
    return cast(value, Integer)


def _flag(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def _dims(model: Any, kept: tuple[str, ...]) -> list[Any]:
    return [
        func.coalesce(getattr(model, name), MISSING).label(name)
        if name in kept
        else literal(ALL).label(name)
        for name in DIMENSIONS
    ]


def _branch(
    session: Session,
    model: Any,
    kept: tuple[str, ...],
    day: Any,
    measures: dict[str, Any],
    *where: Any,
) -> Branch:
    """One kind of day contribution, summed per grain key: only its own measures (narrow rows
    sort fast; the kinds meet in the scratch table's upsert)."""
    keys = [*_dims(model, kept), _day(session, day).label("day")]
    rows = select(*keys, *[value.label(name) for name, value in measures.items()]).where(*where)
    inner = rows.subquery()
    grouped = [inner.c[name] for name in (*DIMENSIONS, "day")]
    sums = [func.sum(inner.c[name]).label(name) for name in measures]
    return tuple(measures), select(*grouped, *sums).group_by(*grouped)


def _histogram(session: Session, kept: tuple[str, ...]) -> Branch:
    """Cases closed per key and day, as a histogram: each fact's bucket is computed once."""
    f = CaseFactRow
    quarter = _truncated(session, f.hours_to_close * 4 + 0.5)
    bucket = case(*[(quarter >= BUCKET_QUARTERS[b], b) for b in range(BUCKETS - 1, 0, -1)], else_=0)
    per_case = (
        select(
            *_dims(f, kept),
            _day(session, f.closed_at).label("day"),
            quarter.label("q"),
            bucket.label("b"),
        )
        .where(f.status == "closed", f.closed_at.is_not(None), f.hours_to_close.is_not(None))
        .subquery()
    )
    grouped = [per_case.c[name] for name in (*DIMENSIONS, "day")]
    counts = [func.sum(_flag(per_case.c.b == b)).label(HIST_COUNTS[b]) for b in range(BUCKETS)]
    quarters = [
        func.sum(case((per_case.c.b == b, per_case.c.q), else_=0)).label(HIST_QUARTERS[b])
        for b in range(BUCKETS)
    ]
    return HIST_COUNTS + HIST_QUARTERS, select(*grouped, *counts, *quarters).group_by(*grouped)


def expected_days(session: Session, kept: tuple[str, ...]) -> list[Branch]:
    """The day rollup rows of a grain (its kept dimensions), from the facts, kind by kind."""
    f, r, w = CaseFactRow, RatingFactRow, ReworkFactRow
    one = literal(1)
    started_in_time = and_(f.started_at.is_not(None), f.started_at <= f.response_due)
    return [
        _branch(
            session, f, kept, f.registered_at, {"registered": one}, f.registered_at.is_not(None)
        ),
        _branch(
            session,
            f,
            kept,
            f.resolved_at,
            {"resolved": one, "resolved_on_time": _flag(f.handled_on_time.is_(True))},
            f.resolved_at.is_not(None),
        ),
        _branch(
            session,
            f,
            kept,
            f.response_due,
            {"response_due": one, "responded_on_time": _flag(started_in_time)},
            f.response_due.is_not(None),
        ),
        _branch(
            session,
            f,
            kept,
            f.closed_at,
            {"closed": one, "fixed": _flag(f.resolution == "fixed")},
            f.status == "closed",
            f.closed_at.is_not(None),
        ),
        _histogram(session, kept),
        _branch(
            session,
            r,
            kept,
            r.at,
            {"ratings": one, "stars": r.stars, "satisfied": _flag(r.stars >= 4)},
        ),
        _branch(session, w, kept, w.at, {"rework": one}),
    ]


def expected_dues(session: Session, kept: tuple[str, ...]) -> Any:
    """The due rollup rows of a grain, from the facts."""
    f = CaseFactRow
    due_day = _day(session, f.resolution_due)
    closed_day = _day(session, f.closed_at)
    closed = and_(f.status == "closed", f.closed_at.is_not(None))
    never = literal(NEVER, Date)
    if not _is_postgres(session):
        never = literal(NEVER.isoformat())  # SQLite's date() answers text
    latest = case((closed_day > due_day, closed_day), else_=due_day)
    by_day = select(
        *_dims(f, kept),
        due_day.label("due_day"),
        case((closed, latest), else_=never).label("closed_day"),
        literal(1).label("one"),
        _flag(and_(closed, f.on_time.is_(True))).label("on_time"),
        _flag(f.status.in_(ENDED)).label("ended"),
    ).where(f.resolution_due.is_not(None))
    rows = by_day.subquery()
    keys = [rows.c[name] for name in (*DIMENSIONS, "due_day", "closed_day")]
    summed = select(
        *keys,
        func.sum(rows.c.one).label("due"),
        func.sum(rows.c.on_time).label("closed_on_time"),
        func.sum(rows.c.ended).label("ended"),
    ).group_by(*keys)
    return [(DUE_MEASURES, summed)]


def _scratch(session: Session, table: Table) -> Table:
    """A temporary table shaped like ``table`` (its key; measures default to zero), emptied."""
    metadata = MetaData()
    keys = {c.name for c in table.primary_key.columns}
    columns = [
        Column(
            c.name,
            c.type,
            primary_key=c.name in keys,
            server_default=None if c.name in keys else text("0"),
        )
        for c in table.columns
    ]
    scratch = Table(f"tmp_{table.name}", metadata, *columns, prefixes=["TEMPORARY"])
    scratch.create(session.connection(), checkfirst=True)
    session.execute(delete(scratch))
    return scratch


def reconcile(session: Session) -> RollupDrift:
    """Recompute every grain's rollups from the facts; count and replace what differs."""
    drift = RollupDrift()
    plans = ((day_rollups, expected_days, DAY_MEASURES, ("day",)),)
    plans += ((due_rollups, expected_dues, DUE_MEASURES, ("due_day", "closed_day")),)
    for table, expected, measures, days in plans:
        scratch = _scratch(session, table)
        for grain, kept in GRAINS.items():
            _reconcile_grain(
                session, drift, table, scratch, grain, expected(session, kept), measures, days
            )
    return drift


def _reconcile_grain(
    session: Session,
    drift: RollupDrift,
    table: Table,
    scratch: Table,
    grain: str,
    expected: Any,
    measures: tuple[str, ...],
    days: tuple[str, ...],
) -> None:
    session.execute(delete(scratch))
    names = [c.name for c in table.columns if c.name != "grain"]
    make_insert = postgresql.insert if _is_postgres(session) else sqlite.insert
    key_columns = [c.name for c in scratch.primary_key.columns]
    for branch_measures, branch in expected:
        rows = branch.subquery()
        columns = [*DIMENSIONS, *days, *branch_measures]
        statement = make_insert(scratch).from_select(
            ["grain", *columns], select(literal(grain), *[rows.c[n] for n in columns]).where(true())
        )
        statement = statement.on_conflict_do_update(
            index_elements=key_columns,
            set_={m: scratch.c[m] + statement.excluded[m] for m in branch_measures},
        )
        session.execute(statement)
    key_names = ("grain", *DIMENSIONS, *days)
    nonzero = or_(*[table.c[m] != 0 for m in measures])
    stored = select(*[table.c[n] for n in ("grain", *names)]).where(table.c.grain == grain)
    wanted = select(*[scratch.c[n] for n in ("grain", *names)])

    def count(query: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    wrong = count(except_(wanted, stored.where(nonzero)))
    extra_keys = except_(
        select(*[table.c[k] for k in key_names]).where(table.c.grain == grain, nonzero),
        select(*[scratch.c[k] for k in key_names]),
    )
    removed = count(extra_keys)
    zeros = count(stored.where(~nonzero))
    drift.checked += count(wanted)
    drift.fixed += wrong
    drift.removed += removed
    if wrong or removed or zeros:
        session.execute(delete(table).where(table.c.grain == grain))
        session.execute(
            insert(table).from_select([c.name for c in scratch.columns], select(scratch))
        )
