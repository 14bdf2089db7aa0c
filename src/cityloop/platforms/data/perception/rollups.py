"""Rollups of the history store kept on write: per series (tenant, entity, attribute,
datasetId) and per UTC minute and hour, the count, the count of numbers, their sum, sum of
squares, minimum and maximum.

Appends fold into their buckets with one upsert per batch; anything that changes or removes
instances recomputes the buckets it touched from the instances (a minimum cannot be
un-folded), then their hours from the minutes. Aggregations over whole buckets read these
rows instead of the instances (``ngsild.temporal_buckets``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, cast, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cityloop.base.bulk import clear_stage, driver_statement, execute_many, rows_source
from cityloop.platforms.data.perception.models import Measurement, MeasurementRollup

MINUTE, HOUR = 60, 3600
WIDTHS = (MINUTE, HOUR)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIGURES = ("count", "numbers", "sum", "sumsq", "min", "max")


@dataclass(frozen=True)
class Instance:
    """What a bucket needs of one instance."""

    tenant: str
    entity_id: str
    attribute: str
    dataset_id: str
    observed_at: datetime
    num_value: float | None


def epoch_of(moment: datetime) -> int:
    """Whole seconds since 1970 of a time, rounded down (exact: no float on the way)."""
    delta = moment.astimezone(UTC) - _EPOCH
    return delta.days * 86400 + delta.seconds


def bucket_of(moment: datetime, width: int) -> int:
    """The start (seconds since 1970) of the bucket of ``width`` seconds a time falls in."""
    return epoch_of(moment) // width * width


def sql_epoch(session: Session, column: Any) -> ColumnElement[int]:
    """Whole seconds since 1970 of a stored time, rounded down, in SQL (exact on both engines)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def _sql_bucket(seconds: ColumnElement[int], width: int) -> ColumnElement[int]:
    # A floor for times before 1970 too (% keeps the sign of the dividend on both engines).
    return seconds - (seconds % width + width) % width


def _least(postgres: bool, a: Any, b: Any, *, greatest: bool = False) -> Any:
    """The smaller (or larger) of two nullable numbers, ignoring a NULL one."""
    a, b = func.coalesce(a, b), func.coalesce(b, a)
    if postgres:
        return func.greatest(a, b) if greatest else func.least(a, b)
    return func.max(a, b) if greatest else func.min(a, b)  # SQLite: scalar with two arguments


def add_instances(session: Session, *, instances: Iterable[Instance]) -> None:
    """Fold newly stored instances into their minute and hour buckets: one upsert per batch."""
    # Through the driver (``base.bulk``): a batch of readings spread over time touches about as
    # many buckets as it has readings, so per-row work in SQLAlchemy would cost as much as the
    # history insert itself.
    buckets: dict[tuple[Any, ...], list[Any]] = {}
    for item in instances:
        number = item.num_value
        seconds = epoch_of(item.observed_at)
        for width in WIDTHS:
            key = (
                item.tenant,
                item.entity_id,
                item.attribute,
                width,
                seconds // width * width,
                item.dataset_id,
            )
            figures = buckets.get(key)
            if figures is None:
                figures = buckets[key] = [0, 0, 0.0, 0.0, None, None]
            figures[0] += 1
            if number is not None:
                figures[1] += 1
                figures[2] += number
                figures[3] += number * number
                figures[4] = number if figures[4] is None else min(figures[4], number)
                figures[5] = number if figures[5] is None else max(figures[5], number)
    if not buckets:
        return
    connection = session.connection()
    rows = [(*key, *figures) for key, figures in buckets.items()]
    target = MeasurementRollup.__table__
    if connection.dialect.name == "postgresql":
        # One set-based upsert from the rows, inline or staged by COPY (``base.bulk``).
        stage = rows_source(
            connection,
            name="measurement_rollups_incoming",
            like=target,
            columns=_COLUMNS,
            rows=rows,
        )
        connection.execute(_fold(postgresql.insert(target).from_select(_COLUMNS, select(stage))))
        clear_stage(connection, stage)
        return
    statement = driver_statement(
        "rollups-add",
        connection.dialect,
        target,
        _COLUMNS,
        lambda _: _fold(sqlite.insert(target).values({name: bindparam(name) for name in _COLUMNS})),
    )
    execute_many(connection, statement, rows)


def _fold(statement: Any) -> Any:
    """The upsert that adds a bucket's figures to what it holds."""
    postgres = isinstance(statement, postgresql.Insert)
    table, new = MeasurementRollup.__table__.c, statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["tenant", "entity_id", "attribute", "width", "bucket", "dataset_id"],
        set_={
            "count": table.count + new.count,
            "numbers": table.numbers + new.numbers,
            "sum": table.sum + new.sum,
            "sumsq": table.sumsq + new.sumsq,
            "min": _least(postgres, table.min, new.min),
            "max": _least(postgres, table.max, new.max, greatest=True),
        },
    )


def _minute_figures() -> list[Any]:
    number = Measurement.num_value
    return [
        func.count(),
        func.count(number),
        func.coalesce(func.sum(number), 0.0),
        func.coalesce(func.sum(number * number), 0.0),
        func.min(number),
        func.max(number),
    ]


def _hour_figures() -> list[Any]:
    r = MeasurementRollup
    return [
        func.sum(r.count),
        func.sum(r.numbers),
        func.sum(r.sum),
        func.sum(r.sumsq),
        func.min(r.min),
        func.max(r.max),
    ]


_COLUMNS = ["tenant", "entity_id", "attribute", "width", "bucket", "dataset_id", *_FIGURES]


def refresh(session: Session, *, touched: Iterable[Instance]) -> None:
    """Recompute, from the instances, the buckets of the series and times given (after an
    instance was changed or removed), then their hours from the minutes."""
    keys = {
        (i.tenant, i.entity_id, i.attribute, i.dataset_id, bucket_of(i.observed_at, MINUTE))
        for i in touched
    }
    if not keys:
        return
    # Core tables: the ORM runs no DELETE or INSERT ... SELECT once per parameter set.
    r, m = MeasurementRollup.__table__.c, Measurement.__table__.c
    table = MeasurementRollup.__table__
    connection = session.connection()
    same_series = [
        r.tenant == bindparam("t"),
        r.entity_id == bindparam("e"),
        r.attribute == bindparam("a"),
        r.dataset_id == bindparam("d"),
    ]
    for width in WIDTHS:
        params = [
            {"t": t, "e": e, "a": a, "d": d, "lo": lo, "hi": lo + width}
            for t, e, a, d, lo in {(t, e, a, d, b // width * width) for t, e, a, d, b in keys}
        ]
        rows = delete(table).where(*same_series, r.width == width, r.bucket == bindparam("lo"))
        connection.execute(rows, params)
        if width == MINUTE:
            for p in params:  # the instances compare as times, not seconds
                p["since"] = datetime.fromtimestamp(p["lo"], UTC)
                p["until"] = datetime.fromtimestamp(p["hi"], UTC)
            source = select(
                m.tenant,
                m.entity_id,
                m.attribute,
                literal(MINUTE),
                bindparam("lo", type_=BigInteger),
                m.dataset_id,
                *_minute_figures(),
            ).where(
                m.tenant == bindparam("t"),
                m.entity_id == bindparam("e"),
                m.attribute == bindparam("a"),
                m.dataset_id == bindparam("d"),
                m.observed_at >= bindparam("since", type_=m.observed_at.type),
                m.observed_at < bindparam("until", type_=m.observed_at.type),
            )
            source = source.group_by(m.tenant, m.entity_id, m.attribute, m.dataset_id)
        else:
            source = select(
                r.tenant,
                r.entity_id,
                r.attribute,
                literal(HOUR),
                bindparam("lo", type_=BigInteger),
                r.dataset_id,
                *_hour_figures(),
            ).where(
                *same_series,
                r.width == MINUTE,
                r.bucket >= bindparam("lo", type_=BigInteger),
                r.bucket < bindparam("hi", type_=BigInteger),
            )
            source = source.group_by(r.tenant, r.entity_id, r.attribute, r.dataset_id)
        connection.execute(insert(table).from_select(_COLUMNS, source), params)


def drop_series(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    attribute: str | None = None,
    dataset_id: str | None = None,
) -> None:
    """Forget the rollups of an entity's history, of one attribute, or of one datasetId of it."""
    r = MeasurementRollup
    where = [r.tenant == tenant, r.entity_id == entity_id]
    if attribute is not None:
        where.append(r.attribute == attribute)
    if dataset_id is not None:
        where.append(r.dataset_id == dataset_id)
    session.execute(delete(r).where(*where))


def rebuild(session: Session) -> int:
    """Recompute every rollup from the instances (for history written before rollups existed,
    or to repair them); the number of minute buckets written."""
    r, m = MeasurementRollup, Measurement
    session.execute(delete(r))
    minute = _sql_bucket(sql_epoch(session, m.observed_at), MINUTE).label("bucket")
    source = select(
        m.tenant,
        m.entity_id,
        m.attribute,
        literal(MINUTE),
        minute,
        m.dataset_id,
        *_minute_figures(),
    ).group_by(m.tenant, m.entity_id, m.attribute, minute, m.dataset_id)
    written = session.execute(insert(r).from_select(_COLUMNS, source)).rowcount or 0
    hour = _sql_bucket(r.bucket, HOUR).label("hour")
    source = (
        select(
            r.tenant, r.entity_id, r.attribute, literal(HOUR), hour, r.dataset_id, *_hour_figures()
        )
        .where(r.width == MINUTE)
        .group_by(r.tenant, r.entity_id, r.attribute, hour, r.dataset_id)
    )
    session.execute(insert(r).from_select(_COLUMNS, source))
    return int(written)
