"""The DataStore: each dataset's rows in an SQL table of their own, typed by its Table Schema.

As in CKAN's DataStore, the tables are data rather than schema: they are made and replaced when
a dataset's rows are built or uploaded, not by migrations. Scalar columns are indexed, so a
filter over a million rows stays an index lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import replacement_traverse
from sqlalchemy.types import TypeEngine

INSERT_BATCH = 2000
# Field types stored as JSON: not indexed, not filterable, not searchable.
_JSON_TYPES = frozenset({"object", "array", "geojson"})
_TYPES: dict[str, TypeEngine[Any]] = {
    "integer": BigInteger(),
    "number": Float(),
    "boolean": Boolean(),
}
# The record id CKAN's DataStore adds to every row.
ROW_ID = "_id"


class DatastoreQueryError(ValueError):
    """A search names a field, sort or filter the table does not have (the caller's 4xx)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def table_name(dataset_id: int) -> str:
    """The SQL table holding one dataset's rows."""
    return f"datastore_{dataset_id}"


def schema_fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fields of a Table Schema, each with at least a name and a type."""
    return [{"type": "string", **field} for field in schema.get("fields", [])]


def _column_type(field_type: str) -> TypeEngine[Any]:
    if field_type in _JSON_TYPES:
        return JSON()
    # Dates and times are kept as ISO 8601 text: it sorts in time order on both engines.
    return _TYPES.get(field_type, Text())


def table_for(dataset_id: int, schema: Mapping[str, Any]) -> Table:
    """The table of a dataset's rows (a description; ``replace_rows`` makes it in the database)."""
    metadata = MetaData()
    name = table_name(dataset_id)
    columns: list[Column[Any]] = [Column(ROW_ID, Integer, primary_key=True, autoincrement=False)]
    indexes: list[str] = []
    for field in schema_fields(schema):
        columns.append(Column(field["name"], _column_type(field["type"]), nullable=True))
        if field["type"] not in _JSON_TYPES and not field.get("x-free-text"):
            indexes.append(field["name"])
    table = Table(name, metadata, *columns)
    for position, column in enumerate(indexes):
        Index(f"ix_{name}_{position}", table.c[column])
    return table


def replace_rows(
    session: Session,
    *,
    dataset_id: int,
    schema: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
) -> int:
    """Replace a dataset's rows with these, in the caller's transaction; how many there are."""
    table = table_for(dataset_id, schema)
    connection = session.connection()
    table.drop(connection, checkfirst=True)
    # Indexes are made after the rows are in: one sort instead of a million index updates.
    indexes = list(table.indexes)
    table.indexes.clear()
    table.create(connection)
    names = [field["name"] for field in schema_fields(schema)]
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        count += 1
        batch.append({ROW_ID: count, **{name: row.get(name) for name in names}})
        if len(batch) >= INSERT_BATCH:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    for index in indexes:
        index.create(connection)
    # Fresh statistics: with two filters the planner then walks the more selective column's
    # index (SQLite, without them, takes the first it finds: twice the rows to check).
    connection.exec_driver_sql(f'ANALYZE "{table.name}"')
    return count


def drop(session: Session, *, dataset_id: int) -> None:
    """Remove a dataset's rows and their table."""
    table = Table(table_name(dataset_id), MetaData(), Column(ROW_ID, Integer, primary_key=True))
    table.drop(session.connection(), checkfirst=True)


def exists(session: Session, *, dataset_id: int) -> bool:
    """Whether the dataset's rows have been built."""
    return inspect(session.connection()).has_table(table_name(dataset_id))


def iter_rows(
    session: Session,
    *,
    dataset_id: int,
    schema: Mapping[str, Any],
    fields: Sequence[str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every row in order (of ``fields``, where given), streamed."""
    if not exists(session, dataset_id=dataset_id):
        return
    table = table_for(dataset_id, schema)
    columns = [table.c[name] for name in (fields or [f["name"] for f in schema_fields(schema)])]
    query = select(*columns).order_by(table.c[ROW_ID])
    if where is not None:
        query = query.where(_on(table, where))
    result = session.connection().execution_options(yield_per=INSERT_BATCH).execute(query)
    for row in result.mappings():
        yield dict(row)


def _on(table: Table, where: ColumnElement[bool]) -> ColumnElement[bool]:
    """``where`` over ``table`` itself. ``table_for`` describes the table afresh on each call,
    and a condition built on another description would join the table to itself."""

    def swap(element: Any) -> Any:
        owner = getattr(element, "table", None)
        mine = isinstance(owner, Table) and owner is not table and owner.name == table.name
        if isinstance(element, Column) and mine and element.name in table.c:
            return table.c[element.name]
        return None

    return replacement_traverse(where, {}, swap)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SearchResult:
    fields: list[dict[str, Any]]
    records: list[dict[str, Any]]
    total: int


def condition(table: Table, field: str, value: Any) -> ColumnElement[bool]:
    """``field`` equals the value, or one of the values of a list."""
    if field not in table.c:
        raise DatastoreQueryError(field, f"field {field!r} is not in this table")
    column = table.c[field]
    if isinstance(column.type, JSON):
        raise DatastoreQueryError(field, f"field {field!r} holds structured values: no filter")
    if isinstance(value, list):
        return column.in_(value)
    if value is None:
        return column.is_(None)
    return column == value


def search(
    session: Session,
    *,
    dataset_id: int,
    schema: Mapping[str, Any],
    filters: Mapping[str, Any] | None = None,
    q: str | None = None,
    fields: Sequence[str] | None = None,
    sort: Sequence[tuple[str, bool]] = (),
    limit: int = 100,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
) -> SearchResult:
    """A page of rows matching the filters and the text, in the sort given (field, descending)."""
    table = table_for(dataset_id, schema)
    declared = {f["name"]: f for f in schema_fields(schema)}
    chosen = list(fields) if fields else [ROW_ID, *declared]
    for name in chosen:
        if name != ROW_ID and name not in declared:
            raise DatastoreQueryError(name, f"field {name!r} is not in this table")
    conditions = [condition(table, name, value) for name, value in (filters or {}).items()]
    if q:
        texts = [table.c[n] for n, f in declared.items() if f["type"] == "string"]
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        conditions.append(or_(*(column.ilike(pattern) for column in texts)) if texts else False)
    if where is not None:
        conditions.append(_on(table, where))
    matching = and_(True, *conditions)
    if not exists(session, dataset_id=dataset_id):
        return SearchResult(_described(chosen, declared), [], 0)
    order = []
    for name, descending in sort:
        if name not in table.c:
            raise DatastoreQueryError(name, f"cannot sort by {name!r}: it is not in this table")
        order.append(table.c[name].desc() if descending else table.c[name].asc())
    order.append(table.c[ROW_ID])
    query = select(*(table.c[n] for n in chosen)).where(matching).order_by(*order)
    connection = session.connection()
    records = [dict(r) for r in connection.execute(query.limit(limit).offset(offset)).mappings()]
    total = connection.scalar(select(func.count()).select_from(table).where(matching)) or 0
    return SearchResult(_described(chosen, declared), records, int(total))


def _described(
    chosen: Sequence[str], declared: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {"id": name, "type": "int" if name == ROW_ID else declared[name]["type"]} for name in chosen
    ]
