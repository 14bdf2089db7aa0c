"""The history store's NGSI-LD side: attribute instances as rows of perception's
``measurements`` table, their instance ids, and how a row reads back as a temporal instance.

Device readings fill only the scalar columns; instances written through the API also keep
their attribute type, datasetId, the stored instance (``document``) and their system times.
Numbers stay in ``num_value`` for every writer, so aggregations read one column in SQL.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception import rollups
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.attributes import CONTENT_MEMBER
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    content_value,
    iso,
    now_iso,
    parse_time,
    render_attribute,
)
from cityloop.platforms.data.perception.rollups import Instance

INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
# The entity's scope, kept as a series of its own (clause 4.5.6); a core member, so no
# attribute's history name can be "scope".
SCOPE = "scope"
# The value that marks an instance as the attribute's deletion (clause 4.5.x, NGSI-LD Null).
NULL = "urn:ngsi-ld:null"
_SYSTEM = ("createdAt", "modifiedAt", "deletedAt", "instanceId")


def history_name(iri: str) -> str:
    """Measurements keep names as the core context compacts them ("temperature" for a
    default-context IRI), so device readings and API updates share one series."""
    return contexts.core().compact(iri)


def instance_id(row_id: int) -> str:
    """The instanceId of a stored instance: its row, as a URI."""
    return f"{INSTANCE_PREFIX}{row_id}"


def row_id_of(instance: str) -> int | None:
    """The row an instanceId names, or None when it is not one of ours."""
    number = instance.removeprefix(INSTANCE_PREFIX)
    if number == instance or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def scalar_columns(instance: dict[str, Any]) -> tuple[float | None, str | None]:
    """The (number, text) columns of an instance's value: numbers for aggregation, text for
    strings, booleans and relationship targets; nothing for structured values."""
    kind = instance.get("type", "Property")
    value = instance.get("object") if kind == "Relationship" else instance.get("value")
    if kind not in ("Property", "Relationship"):
        return None, None
    if isinstance(value, bool):
        return None, "true" if value else "false"
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None, None
        return (number, None) if math.isfinite(number) else (None, None)
    if isinstance(value, str) and "\x00" not in value:
        return None, value
    return None, None


def instance_row(tenant: str, entity_id: str, iri: str, instance: dict[str, Any]) -> dict[str, Any]:
    """The measurements row of one expanded attribute instance."""
    stamp = now_iso()
    moment = instance.get("observedAt") or instance.get("modifiedAt") or stamp
    num, text = scalar_columns(instance)
    unit = instance.get("unitCode")
    document = {k: v for k, v in instance.items() if k not in _SYSTEM}
    deleted = instance.get("value") == NULL or instance.get("object") == NULL
    created = parse_time(instance.get("createdAt") or stamp, "createdAt")
    return {
        "tenant": tenant,
        "device_id": None,
        "entity_id": entity_id,
        "attribute": history_name(iri),
        "observed_at": parse_time(moment, "observedAt"),
        "num_value": num,
        "text_value": text,
        "unit": unit if isinstance(unit, str) and "\x00" not in unit else None,
        "kind": str(instance.get("type", "Property")),
        "dataset_id": instance.get("datasetId") or "",
        "document": document,
        "created_at": created,
        "modified_at": parse_time(instance.get("modifiedAt") or stamp, "modifiedAt"),
        "deleted_at": parse_time(moment, "observedAt") if deleted else None,
    }


def record_instances(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    attrs: dict[str, Any],
    replace: bool = False,
) -> None:
    """Append every instance of the given (expanded) attributes to the history store; with
    ``replace`` an instance at the time (and datasetId) of a stored one takes its place."""
    rows = []
    for iri, attribute in attrs.items():
        if len(history_name(iri)) > 200:
            continue
        for instance in attribute if isinstance(attribute, list) else [attribute]:
            if isinstance(instance, dict):
                rows.append(instance_row(tenant, entity_id, iri, instance))
    if rows:
        _insert(session, rows, replace=replace)


_KEY = ["tenant", "entity_id", "attribute", "observed_at", "dataset_id"]
_REPLACED = ("num_value", "text_value", "unit", "kind", "document", "modified_at", "deleted_at")


def _insert(session: Session, rows: list[dict[str, Any]], replace: bool = False) -> None:
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    m = Measurement
    if not replace:
        # A resent instance (same attribute, time and datasetId) is stored once, as device
        # readings are; only the rows stored count in the rollups.
        statement = (
            maker(m)
            .on_conflict_do_nothing(index_elements=_KEY)
            .returning(m.tenant, m.entity_id, m.attribute, m.dataset_id, m.observed_at, m.num_value)
        )
        stored = [Instance(*row) for row in session.execute(statement, rows)]
        rollups.add_instances(session, instances=stored)
        return
    # One statement may not update a row twice (PostgreSQL refuses): the last of a key wins.
    unique = list({tuple(row[k] for k in _KEY): row for row in rows}.values())
    statement = maker(m)
    statement = statement.on_conflict_do_update(
        index_elements=_KEY, set_={c: statement.excluded[c] for c in _REPLACED}
    )
    session.execute(statement, unique)
    # Some rows replaced stored ones: their buckets are recounted from the instances.
    rollups.refresh(
        session,
        touched=[
            Instance(
                row["tenant"],
                row["entity_id"],
                row["attribute"],
                row["dataset_id"],
                row["observed_at"],
                row.get("num_value"),
            )
            for row in unique
        ],
    )


# What a deletion instance holds in each type's content member (clause 4.5.x, NGSI-LD Null).
_NULL_CONTENT: dict[str, tuple[str, Any]] = {
    "Property": ("value", NULL),
    "GeoProperty": ("value", NULL),
    "Relationship": ("object", NULL),
    "LanguageProperty": ("languageMap", {"@none": NULL}),
    "VocabProperty": ("vocab", NULL),
    "JsonProperty": ("json", NULL),
    "ListProperty": ("valueList", [NULL]),
    "ListRelationship": ("objectList", [{"object": NULL}]),
}


def record_deletions(
    session: Session, *, tenant: str, entity_id: str, iri: str, removed: list[Any]
) -> None:
    """Keep an attribute's deletion in its history: one NGSI-LD Null instance per removed
    instance (per datasetId), stamped with deletedAt."""
    stamp = now_iso()
    deletions = {}
    for instance in removed:
        if not isinstance(instance, dict):
            continue
        kind = str(instance.get("type", "Property"))
        member, content = _NULL_CONTENT.get(kind, ("value", NULL))
        deletion = {"type": kind, member: content, "modifiedAt": stamp}
        if instance.get("datasetId"):
            deletion["datasetId"] = instance["datasetId"]
        deletions[instance.get("datasetId")] = deletion
    rows = [instance_row(tenant, entity_id, iri, d) for d in deletions.values()]
    for row in rows:
        row["deleted_at"] = row["observed_at"]
    if rows:
        _insert(session, rows)


def record_scope(session: Session, *, tenant: str, entity_id: str, scope: list[str] | None) -> None:
    """Keep a change of an entity's scope in its history (clause 4.5.6): a Property instance
    observed when it was made (observedAt a copy of modifiedAt); a removed scope is an empty
    one stamped with deletedAt."""
    stamp = now_iso()
    if scope:
        value: Any = scope[0] if len(scope) == 1 else list(scope)
        instance = {"type": "Property", "value": value, "observedAt": stamp, "modifiedAt": stamp}
    else:
        instance = {"type": "Property", "value": [], "modifiedAt": stamp}
    row = instance_row(tenant, entity_id, SCOPE, instance)
    if not scope:
        row["deleted_at"] = row["observed_at"]
    _insert(session, [row])


def attribute_names(session: Session, *, tenant: str, entity_id: str) -> list[str]:
    """The names of an entity's series, sorted: one index seek per name (a loose index scan),
    not a read of every instance as SELECT DISTINCT would on a long history."""
    m = Measurement
    names = (
        select(func.min(m.attribute).label("name"))
        .where(m.tenant == tenant, m.entity_id == entity_id)
        .cte("names", recursive=True)
    )
    following = (
        select(func.min(m.attribute))
        .where(m.tenant == tenant, m.entity_id == entity_id, m.attribute > names.c.name)
        .scalar_subquery()
    )
    names = names.union_all(select(following.label("name")).where(names.c.name.is_not(None)))
    return list(session.scalars(select(names.c.name).where(names.c.name.is_not(None))))


def delete_history(session: Session, *, tenant: str, entity_id: str) -> int:
    """Drop an entity's whole temporal representation; the number of instances dropped."""
    result = session.execute(
        delete(Measurement).where(Measurement.tenant == tenant, Measurement.entity_id == entity_id)
    )
    rollups.drop_series(session, tenant=tenant, entity_id=entity_id)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _number(value: float | None, text: str | None) -> Any:
    if value is None:
        return text
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def render_instance(row: Measurement, active: ActiveContext, sys_attrs: bool) -> dict[str, Any]:
    """One stored instance in normalized form, under the client's @context."""
    if row.document is not None:
        out: dict[str, Any] = render_attribute(row.document, active, sys_attrs)
    else:  # a device reading
        out = {
            "type": "Property",
            "value": _number(row.num_value, row.text_value),
            "observedAt": iso(row.observed_at),
        }
        if row.unit:
            out["unitCode"] = row.unit
    out["instanceId"] = instance_id(row.id)
    if sys_attrs:
        out["createdAt"] = iso(row.created_at or row.observed_at)
        out["modifiedAt"] = iso(row.modified_at or row.observed_at)
    if row.deleted_at is not None:
        out["deletedAt"] = iso(row.deleted_at)
    return out


# The member of each attribute type in the simplified (temporalValues) form, clause 4.5.9.
SIMPLIFIED_MEMBER = {
    "Property": "values",
    "GeoProperty": "values",
    "Relationship": "objects",
    "LanguageProperty": "languageMaps",
    "VocabProperty": "vocabs",
    "JsonProperty": "jsons",
    "ListProperty": "valueLists",
    "ListRelationship": "objectLists",
}


# Types whose simplified content is wrapped in its member ({"languageMap": {...}}), clause 4.5.9.
_WRAPPED = frozenset({"LanguageProperty", "JsonProperty", "VocabProperty"})


def simple_value(row: Measurement, active: ActiveContext | None = None) -> Any:
    """The content of one stored instance, as the simplified temporal form lists it; under a
    client's @context (``active``) vocab terms are compacted and a ListRelationship's objects
    are bare URIs (4.5.9)."""
    if row.document is None:
        return _number(row.num_value, row.text_value)
    kind = row.kind or "Property"
    if active is None:
        member = CONTENT_MEMBER.get(kind, "value")
        content = row.document.get(member)
    else:
        member, content = content_value(row.document, active)
    if kind == "ListRelationship" and isinstance(content, list):
        content = [i.get("object") if isinstance(i, dict) else i for i in content]
    return {member: content} if kind in _WRAPPED else content


def moment_of(row: Measurement, timeproperty: str) -> datetime:
    """The instance's time under ``timeproperty`` (device readings only have observedAt)."""
    moment = {
        "createdAt": row.created_at,
        "modifiedAt": row.modified_at,
        "deletedAt": row.deleted_at,
    }.get(timeproperty)
    return moment or row.observed_at
