"""Device readings into the history store through the driver: ``executemany`` on SQLite,
one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` on PostgreSQL, from arrays in the statement
for a small batch or from a staging table filled by ``COPY`` for a large one (see
``base.bulk.INLINE_MAX_ROWS``). The database decides which readings were already stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, func, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from cityloop.base.bulk import INLINE_MAX_ROWS, copy_rows, driver_statement, execute_many
from cityloop.platforms.data.perception.models import Device, Measurement

# What a row holds, in this order.
COLUMNS = (
    "tenant",
    "device_id",
    "entity_id",
    "attribute",
    "observed_at",
    "num_value",
    "text_value",
    "unit",
    "dataset_id",
)
_KEY = ("tenant", "entity_id", "attribute", "observed_at", "dataset_id")
# One per PostgreSQL connection; emptied at every commit (and by us after each use).
_STAGE = "measurements_incoming"
_STAGE_TABLE = f"""CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (
    n integer, tenant varchar, device_id varchar, entity_id varchar, attribute varchar,
    observed_at timestamptz, num_value double precision, text_value text, unit varchar,
    dataset_id varchar) ON COMMIT DELETE ROWS"""
_TYPES = (
    "integer",  # n, the row's place in the batch
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "timestamptz",
    "double precision",
    "text",
    "varchar",
    "varchar",
)


def _move(source: str, incoming: str = "") -> str:
    """Insert the rows of ``source`` (after the CTE ``incoming``), answering the places of
    those refused as already stored."""
    return f"""WITH {incoming}added AS (
    INSERT INTO measurements ({", ".join(COLUMNS)})
    SELECT {", ".join(COLUMNS)} FROM {source}
    ON CONFLICT ({", ".join(_KEY)}) DO NOTHING
    RETURNING {", ".join(_KEY)})
SELECT s.n FROM {source} AS s WHERE NOT EXISTS (
    SELECT 1 FROM added AS a WHERE {" AND ".join(f"a.{c} = s.{c}" for c in _KEY)})"""


_MOVE = _move(_STAGE)
# A small batch as one array per column: no staging table to fill, empty and truncate.
_MOVE_INLINE = _move(
    "incoming",
    f"""incoming AS (SELECT * FROM unnest({", ".join(f"%s::{t}[]" for t in _TYPES)})
    AS i (n, {", ".join(COLUMNS)})), """,
)


def append(session: Session, *, rows: Sequence[tuple[Any, ...]]) -> set[int]:
    """Append history rows (values in ``COLUMNS`` order); the positions of those not stored
    because an equal reading (same series, time and datasetId) already was."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _append_postgresql(connection, rows)
    # SQLite has one writer, and the rows this statement adds get ids above today's largest:
    # when some were refused, the ones added are read back by id.
    table = Measurement.__table__
    before = connection.execute(select(func.max(table.c.id))).scalar() or 0
    statement = driver_statement(
        "measurements-append", connection.dialect, table, COLUMNS, _insert_ignoring
    )
    if execute_many(connection, statement, rows) == len(rows):
        return set()
    added = {
        (entity_id, attribute, moment)
        for entity_id, attribute, moment in connection.execute(
            select(table.c.entity_id, table.c.attribute, table.c.observed_at).where(
                table.c.id > before
            )
        )
    }
    return {place for place, row in enumerate(rows) if (row[2], row[3], row[4]) not in added}


def _insert_ignoring(dialect: Dialect) -> Any:
    table = Measurement.__table__
    return (
        sqlite.insert(table)
        .values({name: bindparam(name) for name in COLUMNS})
        .on_conflict_do_nothing(index_elements=list(_KEY))
    )


def _append_postgresql(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> set[int]:
    if len(rows) < INLINE_MAX_ROWS:
        columns = [list(values) for values in zip(*rows, strict=True)]
        arrays = (list(range(len(rows))), *columns)
        return {n for (n,) in connection.exec_driver_sql(_MOVE_INLINE, arrays)}
    connection.exec_driver_sql(_STAGE_TABLE)
    copy_rows(connection, _STAGE, ("n", *COLUMNS), ((n, *row) for n, row in enumerate(rows)))
    refused = {n for (n,) in connection.exec_driver_sql(_MOVE)}
    connection.exec_driver_sql(f"DELETE FROM {_STAGE}")
    return refused


def set_last_seen(session: Session, *, seen: dict[str, datetime]) -> None:
    """Record when each device was last heard from, in one statement."""
    connection = session.connection()
    statement = driver_statement(
        "devices-last-seen",
        connection.dialect,
        Device.__table__,
        ("seen_device", "seen_at"),
        _last_seen_update,
    )
    execute_many(connection, statement, list(seen.items()))


def _last_seen_update(dialect: Dialect) -> Any:
    table = Device.__table__
    return (
        update(table)
        .where(table.c.device_id == bindparam("seen_device", type_=String()))
        .values(last_seen_at=bindparam("seen_at", type_=table.c.last_seen_at.type))
    )
