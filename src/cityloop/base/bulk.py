"""Bulk writes through the driver, for the few paths that write thousands of rows a transaction.

SQLAlchemy processes every parameter set of an ``executemany`` in Python (about as long as the
database takes to insert the row). Here a Core statement is compiled once per dialect, each
column's bind processor is applied only where the column has one, and the rows go to the
driver's own ``executemany``; on PostgreSQL ``copy_rows`` streams rows with ``COPY``, and
``rows_source`` hands a batch to a set-based statement: a small one inline, a large one staged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, bindparam, delete, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.expression import FromClause


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as the driver takes it: its SQL, and how to turn a row into parameters."""

    sql: str
    names: tuple[str, ...]  # the statement's parameters, in the driver's order
    order: tuple[int, ...]  # for each of them, its place in the caller's rows
    positional: bool
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # by place in the caller's rows

    def parameters(self, rows: Iterable[Sequence[Any]]) -> list[Any]:
        """The caller's rows as the driver's parameter sets."""
        # The hot loop of bulk ingest: C-level itemgetter, no per-row generator.
        pick = itemgetter(*self.order)
        processors = self.processors
        if processors:
            rows = [_processed(row, processors) for row in rows]
        if len(self.order) == 1:
            picked: Iterable[tuple[Any, ...]] = ((pick(row),) for row in rows)
        else:
            picked = map(pick, rows)
        if self.positional:
            return list(picked)
        names = self.names
        return [dict(zip(names, values, strict=True)) for values in picked]


_COMPILED: dict[tuple[str, str], DriverStatement] = {}


def driver_statement(
    key: str,
    dialect: Dialect,
    table: Table,
    columns: Sequence[str],
    build: Callable[[Dialect], Insert | Update],
) -> DriverStatement:
    """``build(dialect)`` compiled for ``dialect``, once per (key, dialect). Its parameters are
    named ``columns`` (rows give their values in this order); a name that is a column of
    ``table`` takes that column's type, any other its bind parameter's."""
    cached = _COMPILED.get((key, dialect.name))
    if cached is not None:
        return cached
    compiled = build(dialect).compile(dialect=dialect)
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    place = {name: index for index, name in enumerate(columns)}
    processors = []
    for index, name in enumerate(columns):
        bind = compiled.binds[name]
        type_ = table.c[name].type if name in table.c else bind.type
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process))
    statement = DriverStatement(
        compiled.string,
        names,
        tuple(place[name] for name in names),
        positional,
        tuple(processors),
    )
    _COMPILED[(key, dialect.name)] = statement
    return statement


def execute_many(
    connection: Connection, statement: DriverStatement, rows: Sequence[Sequence[Any]]
) -> int:
    """Run the statement once per row through the driver; the rows it changed in all."""
    if not rows:
        return 0
    result = connection.exec_driver_sql(statement.sql, statement.parameters(rows))
    return int(result.rowcount or 0)


_STAGES: dict[str, Table] = {}

# Batches of fewer rows go inline (one array per column, read back with ``unnest``) rather than
# through a staging table: staging costs four round trips, and every commit of a transaction
# that used one truncates the connection's staging tables (a file truncation each, waited for
# at COMMIT). COPY pays for that only from a few hundred rows on.
INLINE_MAX_ROWS = 100


def rows_source(
    connection: Connection, *, name: str, like: Table, columns: Sequence[str], rows: Sequence[Any]
) -> FromClause:
    """PostgreSQL: the rows as a FROM clause with ``columns`` (typed as in ``like``, values in
    ``columns`` order): inline for a small batch, else in the staging table ``name``
    (:func:`stage_rows`); hand it to :func:`clear_stage` when done."""
    if len(rows) < INLINE_MAX_ROWS:
        return inline_rows(like=like, columns=columns, rows=rows)
    return stage_rows(connection, name=name, like=like, columns=columns, rows=rows)


def inline_rows(*, like: Table, columns: Sequence[str], rows: Sequence[Any]) -> FromClause:
    """PostgreSQL: the rows as ``unnest`` of one array per column, in the statement itself."""
    arrays = [
        bindparam(None, list(values), type_=ARRAY(like.c[column].type))
        for column, values in zip(columns, zip(*rows, strict=True), strict=True)
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived()


def stage_rows(
    connection: Connection, *, name: str, like: Table, columns: Sequence[str], rows: Sequence[Any]
) -> Table:
    """PostgreSQL: the rows in a temporary table named ``name`` (columns typed as in ``like``,
    values in ``columns`` order; one name, one shape), created once per connection and emptied
    at commit; read it with ``INSERT … SELECT`` and empty it with ``clear_stage``."""
    stage = _STAGES.get(name)
    if stage is None:
        # Built once, so the statements that read it are compiled once too.
        stage = _STAGES[name] = Table(
            name,
            MetaData(),
            *(Column(column, like.c[column].type) for column in columns),
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DELETE ROWS",
        )
    connection.execute(CreateTable(stage, if_not_exists=True))
    dialect = connection.dialect
    processors = [
        (index, process)
        for index, column in enumerate(columns)
        if (process := like.c[column].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    if processors:
        rows = [_processed(row, processors) for row in rows]
    copy_rows(connection, name, columns, rows)
    return stage


def _processed(row: Sequence[Any], processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> Any:
    out = list(row)
    for index, process in processors:
        if out[index] is not None:
            out[index] = process(out[index])
    return out


def clear_stage(connection: Connection, stage: FromClause) -> None:
    """Empty a table of ``stage_rows`` (for a second batch in the same transaction); rows
    given inline leave nothing to empty."""
    if isinstance(stage, Table):
        connection.execute(delete(stage))


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Stream rows into a PostgreSQL table with COPY (names are the caller's, never input)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
