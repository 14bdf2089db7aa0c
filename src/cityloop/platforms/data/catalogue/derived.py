"""Derived views (派生数据集): a department's dataset defined as a query over another dataset,
rebuilt whenever its source is.

A view may read an open dataset or one of its own department's, and is never less sensitive
than its source. The query is data, not SQL:
``{"source": "cases-by-cell", "fields": [...], "filters": {"category": "potholes"},
"group_by": ["category", "day"], "aggregates": [{"op": "sum", "field": "count", "as": "total"}]}``
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.problems import forbidden, unprocessable
from cityloop.base.storage import Storage
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.catalogue import datastore, service
from cityloop.platforms.data.catalogue.messages import Message
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.permissions import may_read_rows

OPERATIONS = {
    "count": func.count,
    "sum": func.sum,
    "avg": func.avg,
    "min": func.min,
    "max": func.max,
}
RANK = {"open": 0, "shared": 1, "personal": 2}
_NUMERIC = {"integer", "number"}


def view_schema(query: Mapping[str, Any], source: Dataset) -> dict[str, Any]:
    """The Table Schema of a view's rows; 422 naming the first thing wrong with the query."""
    declared = {f["name"]: f for f in datastore.schema_fields(source.table_schema)}
    unknown = set(query) - {"source", "fields", "filters", "group_by", "aggregates"}
    if unknown:
        raise unprocessable(
            Message("catalogue.view_query_unknown_members", {"members": str(sorted(unknown))}),
            field="view_query",
        )

    def known(name: Any, where: str) -> dict[str, Any]:
        if name not in declared:
            raise unprocessable(
                Message(
                    "catalogue.unknown_field",
                    {"where": str(where), "source_name": str(source.name), "name": repr(name)},
                ),
                field="view_query",
            )
        return declared[name]

    for name in query.get("filters") or {}:
        known(name, "filters")
    group_by = list(query.get("group_by") or [])
    aggregates = list(query.get("aggregates") or [])
    if not group_by and not aggregates:
        fields = list(query.get("fields") or declared)
        return {"fields": [{**known(n, "fields")} for n in fields]}
    if query.get("fields"):
        raise unprocessable(Message("catalogue.grouped_view_names_columns"),
                            field="view_query")  # fmt: skip
    out = [{**known(n, "group_by")} for n in group_by]
    for aggregate in aggregates:
        op, name = aggregate.get("op"), str(aggregate.get("as") or "")
        if op not in OPERATIONS:
            raise unprocessable(
                Message(
                    "catalogue.aggregates_op",
                    {
                        "members": str(sorted(OPERATIONS)),
                    },
                ),
                field="view_query",
            )
        field = (
            known(aggregate.get("field"), "aggregates")
            if op != "count" or aggregate.get("field")
            else None
        )
        if op in ("sum", "avg") and field is not None and field["type"] not in _NUMERIC:
            said = Message(
                "catalogue.aggregates_number_field", {"op": op, "field": repr(field["name"])}
            )
            raise unprocessable(said, field="view_query")
        kind = "integer" if op == "count" else "number" if op in ("sum", "avg") else field["type"]  # type: ignore[index]
        out.append({"name": name, "type": kind})
    problems = service.check_schema({"fields": out})
    if problems:
        raise unprocessable("; ".join(problems), field="view_query")
    return {"fields": out}


def check_view(session: Session, *, query: Any, sensitivity: str, actor: Actor) -> dict[str, Any]:
    """The schema of a view the actor may define (403 or 422 otherwise)."""
    if not isinstance(query, dict) or not isinstance(query.get("source"), str):
        raise unprocessable(Message("catalogue.view_query_object_naming"), field="view_query")
    source = service.get_dataset(session, name=query["source"])
    if not may_read_rows(source, actor):
        raise forbidden(
            Message(
                "catalogue.view_may_read_open",
                {
                    "source_name": repr(source.name),
                    "sensitivity": str(source.sensitivity),
                    "owner_department": str(source.owner_department),
                },
            )
        )
    if RANK.get(sensitivity, 0) < RANK[source.sensitivity]:
        raise unprocessable(
            Message(
                "catalogue.view_sensitivity",
                {
                    "sensitivity": str(source.sensitivity),
                    "sensitivity2": str(sensitivity),
                },
            ),
            field="sensitivity",
        )
    return view_schema(query, source)


def view_rows(session: Session, *, view: Dataset) -> list[dict[str, Any]]:
    """The rows of a view now, from its source's DataStore table."""
    query = view.view_query or {}
    source = service.get_dataset(session, name=query["source"])
    if not datastore.exists(session, dataset_id=source.id):
        return []
    table = datastore.table_for(source.id, source.table_schema)
    conditions = [datastore.condition(table, n, v) for n, v in (query.get("filters") or {}).items()]
    group_by = list(query.get("group_by") or [])
    aggregates = list(query.get("aggregates") or [])
    if not group_by and not aggregates:
        names = [f["name"] for f in view.table_schema["fields"]]
        statement = select(*(table.c[n] for n in names)).order_by(table.c[datastore.ROW_ID])
    else:
        columns = [table.c[n] for n in group_by]
        for aggregate in aggregates:
            target = table.c[aggregate["field"]] if aggregate.get("field") else None
            operation = OPERATIONS[aggregate["op"]]
            value = operation(target) if target is not None else func.count()
            columns.append(value.label(aggregate["as"]))
        statement = select(*columns).group_by(*(table.c[n] for n in group_by))
        statement = statement.order_by(*(table.c[n] for n in group_by))
    if conditions:
        statement = statement.where(*conditions)
    types = {f["name"]: f["type"] for f in view.table_schema["fields"]}
    return [_typed(dict(row), types) for row in session.execute(statement).mappings()]


def _typed(row: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    # PostgreSQL sums and averages come back as Decimal: the view's schema says what they are.
    for name, value in row.items():
        if isinstance(value, Decimal):
            row[name] = int(value) if types.get(name) == "integer" else float(value)
    return row


def build_view(session: Session, storage: Storage, *, view: Dataset) -> int:
    """Rebuild a view from its source now."""
    return service.store_rows(session, storage, dataset=view, rows=view_rows(session, view=view))
