"""``datastore_search``: the rows of an open dataset, addressed by any of its resources, as
CKAN's DataStore answers them (``ckanext/datastore``): ``filters``, ``q``, ``fields``, ``sort``,
``limit``, ``offset`` and ``include_total``, with its parameter checks and messages (a field the
table does not have is a 409 naming it), its field types and its ``_links`` to the next page."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Text, and_, cast, column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cityloop.platforms.data.catalogue import datastore
from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.ckan.actions import Call
from cityloop.platforms.data.ckan.errors import NotFound, ValidationError
from cityloop.platforms.data.ckan.index import is_open
from cityloop.platforms.data.ckan.params import Params, integer

LIMIT_DEFAULT, LIMIT_MAX = 100, 32000
FORMATS = ("objects", "lists", "csv", "tsv")
PARAMETERS = frozenset(
    {"resource_id", "q", "plain", "filters", "language", "limit", "offset", "fields", "sort",
     "distinct", "include_total", "total_estimation_threshold", "records_format", "full_text"}
)  # fmt: skip
# Table Schema types as the DataStore names its column types.
TYPE_NAMES = {
    "string": "text", "integer": "int", "number": "numeric", "boolean": "bool", "date": "date",
    "datetime": "timestamp", "time": "time", "year": "int", "object": "json", "array": "json",
    "geojson": "json",
}  # fmt: skip
STRUCTURED = ("object", "array", "geojson")
_SORT = re.compile(r"^(.+?)( +(asc|desc))?$", re.IGNORECASE)


def _strings(params: Params, key: str) -> str | list[str] | None:
    """A text, or a list of texts (CKAN's list_of_strings_or_string)."""
    value = params.data.get(key)
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        params.problem(key, "Not a list")
        return None
    for item in value:
        if not isinstance(item, str):
            params.problem(key, f"Neither a string nor a list: {item}")
            return None
    return value


def _items(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else value
    return [part.strip() for part in parts if part.strip()]


def _invalid(key: str, value: Any) -> ValidationError:
    return ValidationError({key: [f'invalid value "{value}"']})


def _coerced(name: str, field_type: str, value: Any) -> Any:
    """A filter value as the column holds it (a GET sends numbers as text)."""
    if value is None:
        return None
    try:
        if field_type in ("integer", "year"):
            if isinstance(value, bool):
                raise ValueError
            return integer(value)
        if field_type == "number":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if field_type == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
    except (TypeError, ValueError):  # Invalid is a ValueError
        raise ValidationError(
            {"filters": [f'invalid value "{value}": {name} is of type {field_type}']}
        ) from None
    if isinstance(value, dict | list):
        raise _invalid("filters", value)
    return str(value) if not isinstance(value, bool) else str(value).lower()


def _filters(raw: Any, declared: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _invalid("filters", raw)
    filters: dict[str, Any] = {}
    for name, value in raw.items():
        if name != datastore.ROW_ID and name not in declared:
            raise _invalid("filters", name)
        field_type = "integer" if name == datastore.ROW_ID else declared[name]["type"]
        if field_type in STRUCTURED:
            raise ValidationError(
                {"filters": [f"field {name!r} holds structured values: no filter"]}
            )
        values = value if isinstance(value, list) else [value]
        coerced = [_coerced(name, field_type, v) for v in values]
        filters[name] = coerced if isinstance(value, list) else coerced[0]
    return filters


def _sort(clauses: list[str], columns: Sequence[str]) -> list[tuple[str, bool]]:
    order = []
    for clause in clauses:
        match = _SORT.match(clause)
        name = match.group(1) if match else ""
        if len(name) > 1 and name[0] == name[-1] == '"':
            name = name[1:-1]
        if not match or name not in columns:
            raise _invalid("sort", clause)
        order.append((name, (match.group(3) or "asc").lower() == "desc"))
    return order


def _text_conditions(
    q: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]]
) -> ColumnElement[bool]:
    """``q`` as an object: each field's text contains its value."""
    conditions = []
    for name, text in q.items():
        if name not in declared or not isinstance(text, str):
            raise _invalid("q", name)
        if declared[name]["type"] in STRUCTURED:
            raise _invalid("q", name)
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        # An unbound column: the search's own table is the only one its query reads.
        conditions.append(cast(column(name), Text).ilike(pattern))
    return and_(True, *conditions)


def _links(url: str, limit: int, offset: int) -> dict[str, str]:
    """The request's own address for the first and the next page (and the previous)."""
    parts = urlsplit(url)
    arguments = dict(parse_qsl(parts.query))
    start = {k: v for k, v in arguments.items() if k != "offset"}
    links = {
        "start": urlunsplit(parts._replace(query=urlencode(start))),
        "next": urlunsplit(
            parts._replace(query=urlencode({**arguments, "offset": offset + limit}))
        ),
    }
    if offset - limit > 0:
        previous = {**arguments, "offset": offset - limit}
        links["prev"] = urlunsplit(parts._replace(query=urlencode(previous)))
    return links


def _records(records: list[dict[str, Any]], names: list[str], fmt: str) -> Any:
    if fmt == "objects":
        return records
    if fmt == "lists":
        return [[record[n] for n in names] for record in records]
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
    for record in records:
        writer.writerow(
            json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
            for v in (record[n] for n in names)
        )
    return text.getvalue()


def _field_dicts(
    names: list[str], declared: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    fields = []
    for name in names:
        if name == datastore.ROW_ID:
            fields.append({"id": name, "type": "int"})
            continue
        field = declared[name]
        described: dict[str, Any] = {"id": name, "type": TYPE_NAMES.get(field["type"], "text")}
        info = {"label": field.get("title"), "notes": field.get("description")}
        if any(info.values()):
            described["info"] = {k: v or "" for k, v in info.items()}
        fields.append(described)
    return fields


def datastore_search(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """A page of an open dataset's rows, by any of its resource ids."""
    data = dict(data)
    if "id" in data and "resource_id" not in data:
        data["resource_id"] = data.pop("id")
    params = Params(data)
    resource_id = params.required("resource_id")
    raw_filters = params.json("filters")
    q = data.get("q")
    if isinstance(q, str):
        try:
            parsed = json.loads(q)
        except ValueError:
            parsed = None
        q = parsed if isinstance(parsed, dict) else q
    limit = params.natural("limit", LIMIT_DEFAULT, maximum=LIMIT_MAX) or 0
    offset = params.integer("offset")
    fields, sort = _strings(params, "fields"), _strings(params, "sort")
    include_total = params.flag("include_total", True)
    records_format = params.text("records_format", "objects")
    if records_format not in FORMATS:
        params.problem("records_format", f"Value must be one of {list(FORMATS)}")
    junk = sorted(k for k in data if k not in PARAMETERS)
    if junk:
        params.problem("__junk", f"The input field {[(k,) for k in junk]} was not expected.")
    params.done()

    dataset = session.scalar(
        select(Dataset)
        .join(Distribution, Distribution.dataset_id == Dataset.id)
        .where(Distribution.id == resource_id, *is_open())
    )
    if dataset is None or dataset.refreshed_at is None:
        raise NotFound(f'Resource "{resource_id}" was not found.')
    declared = {f["name"]: f for f in datastore.schema_fields(dataset.table_schema)}
    columns = [datastore.ROW_ID, *declared]
    filters = _filters(raw_filters, declared)
    text_query = q if isinstance(q, str) and q else data.get("full_text") or None
    where = _text_conditions(q, declared) if isinstance(q, dict) and q else None
    chosen = _items(fields)
    for name in chosen:
        if name not in columns:
            raise _invalid("fields", name)
    order = _sort(_items(sort), columns)
    if offset is not None and offset < 0:
        raise _invalid("offset", offset)
    try:
        found = datastore.search(
            session,
            dataset_id=dataset.id,
            schema=dataset.table_schema,
            filters=filters,
            q=str(text_query) if text_query else None,
            fields=chosen or None,
            sort=order,
            limit=limit,
            offset=offset or 0,
            where=where,
        )
    except datastore.DatastoreQueryError as problem:
        raise ValidationError({"query": [str(problem)]}) from None
    names = chosen or columns
    answer: dict[str, Any] = {
        "include_total": include_total,
        "limit": limit,
        "records_format": records_format,
        "resource_id": resource_id,
    }
    given = {"q": q, "filters": raw_filters, "offset": offset}
    for key in ("q", "filters", "fields", "sort", "offset", "plain", "language", "full_text"):
        if data.get(key) not in (None, ""):
            answer[key] = given.get(key, data[key])
    answer["records"] = _records(found.records, names, records_format)
    answer["fields"] = _field_dicts(names, declared)
    answer["_links"] = _links(call.url, limit, offset or 0)
    if include_total:
        answer["total"] = found.total
        answer["total_was_estimated"] = False
    return answer
