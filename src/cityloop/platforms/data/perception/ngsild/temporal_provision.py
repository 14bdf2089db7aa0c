"""Temporal provision (clauses 5.6.11-5.6.16, 6.18-6.22): create or extend an entity's
temporal representation, add instances, delete attributes and instances, patch one instance.

An entity and its temporal representation are one resource here: creating a temporal
representation creates the entity (its current state is each attribute's newest instance),
and deleting either deletes both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception import rollups
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild.attributes import (
    ENTITY_MEMBERS,
    check_attribute_name,
    expand_instance,
)
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    Incoming,
    expand_entity,
    is_uri,
    iso,
    now_iso,
    parse_time,
)
from cityloop.platforms.data.perception.ngsild.errors import bad_data, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.rows import emit_change, find, insert, save
from cityloop.platforms.data.perception.ngsild.temporal_store import (
    NULL,
    SCOPE,
    delete_history,
    history_name,
    instance_row,
    record_instances,
    record_scope,
    row_id_of,
    simple_value,
)
from cityloop.platforms.data.perception.ngsild.tenants import ensure_tenant, require_tenant
from cityloop.platforms.data.perception.ngsild.texts import text

MAX_TEMPORAL_INSTANCES = 10_000  # instances of one attribute in one request
# The columns a patched instance takes from its merged form (its id and createdAt stay).
_PATCHED = (
    "observed_at",
    "num_value",
    "text_value",
    "unit",
    "kind",
    "dataset_id",
    "document",
    "deleted_at",
)


# Per attribute type whose content may be the NGSI-LD Null: its member and a valid stand-in.
_NULL_STAND_IN: dict[str, tuple[str, Any]] = {
    "Property": ("value", 0),
    "Relationship": ("object", "urn:ngsi-ld:Null:stand-in"),
}


def _instances(name: str, raw: Any, active: ActiveContext, stamp: str) -> list[dict[str, Any]]:
    """One attribute's instances (a temporal attribute is an instance or a list of them)."""
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(item, dict) for item in items):
        raise bad_data(text("temporal_attribute_not_instances", name=name))
    if len(items) > MAX_TEMPORAL_INSTANCES:
        raise bad_data(text("too_many_instances", name=name, limit=MAX_TEMPORAL_INSTANCES))
    iri = active.expand(name)
    out = []
    for item in items:
        # A deletion instance (clause 4.5.7, an NGSI-LD Null content) is history too: it is
        # checked with a stand-in content, then stored with its Null.
        member = _NULL_STAND_IN.get(str(item.get("type", "Property")))
        deleted = member is not None and item.get(member[0]) == NULL
        checked = {**item, member[0]: member[1]} if member is not None and deleted else item
        instance = expand_instance(name, checked, active, iri=iri, stamp=stamp)
        assert isinstance(instance, dict)
        if member is not None and deleted:
            instance[member[0]] = NULL
        out.append(instance)
    return out


def expand_temporal_attributes(
    body: dict[str, Any], active: ActiveContext, *, stamp: str
) -> dict[str, list[dict[str, Any]]]:
    """Validate temporal attributes and return their instances by expanded name."""
    attrs: dict[str, list[dict[str, Any]]] = {}
    for name, raw in body.items():
        if name in ENTITY_MEMBERS:
            continue
        check_attribute_name(name)
        attrs[active.expand(name)] = _instances(name, raw, active, stamp)
    return attrs


def _newest(instances: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The current state an attribute's history implies: the newest live instance per datasetId."""
    latest: dict[Any, dict[str, Any]] = {}
    for instance in instances:
        key = instance.get("datasetId")
        moment = instance.get("observedAt") or ""
        if key not in latest or moment >= (latest[key].get("observedAt") or ""):
            latest[key] = instance
    live = [i for i in latest.values() if NULL not in (i.get("value"), i.get("object"))]
    if not live:
        return None
    return live[0] if len(live) == 1 else live


# What a scope instance may hold besides its value (clause 4.5.6: only the temporal properties).
_SCOPE_MEMBERS = frozenset({"type", "value", "observedAt", "createdAt", "modifiedAt", "deletedAt"})


def _scope_instances(
    raw: Any, active: ActiveContext, stamp: str
) -> tuple[list[dict[str, Any]], list[str] | None] | None:
    """A temporal scope (an instance or a list of them, clause 4.5.6): its instances and the
    scope they leave current (the newest one's); None when ``raw`` is a plain scope."""
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    instances = []
    for item in items:
        if item.get("type", "Property") != "Property" or "value" not in item:
            raise bad_data(text("temporal_scope_instance"))
        extra = sorted(set(item) - _SCOPE_MEMBERS)
        if extra:
            raise bad_data(text("temporal_scope_member", member=extra[0]))
        scope = expand_entity(
            {"scope": item["value"]}, active, stamp="", need_id=False, need_type=False
        ).scope
        assert scope is not None
        moment = item.get("observedAt", stamp)
        instances.append({"type": "Property", "value": item["value"], "observedAt": moment})
    # Validated as a time (400 when it is not one) before the newest is picked by it.
    newest = max(instances, key=lambda i: parse_time(i["observedAt"], "scope observedAt"))
    value = newest["value"]
    return instances, (value if isinstance(value, list) else [value])


def upsert_temporal_entity(
    session: Session, *, tenant: str, body: Any, active: ActiveContext
) -> bool:
    """POST /temporal/entities: create the entity with its history (True), or add the instances
    and types given to an existing one (False)."""
    if not isinstance(body, dict):
        raise bad_data(text("temporal_entity_not_object"))
    stamp = now_iso()
    # The entity members are checked as for any entity; attributes as lists of instances.
    members = {k: v for k, v in body.items() if k in ENTITY_MEMBERS}
    scoped = _scope_instances(members.get("scope"), active, stamp)
    if scoped is not None:
        members["scope"] = scoped[1]
    head = expand_entity(members, active, stamp=stamp, need_type=False)
    assert head.entity_id is not None
    attrs = expand_temporal_attributes(body, active, stamp=stamp)
    ensure_tenant(session, tenant=tenant)
    row = find(session, tenant=tenant, entity_id=head.entity_id, for_update=True)
    current = {iri: state for iri, items in attrs.items() if (state := _newest(items)) is not None}
    if row is None:
        if not head.types:
            raise bad_data(text("entity_needs_type"))
        incoming = Incoming(head.entity_id, head.types, head.scope, current)
        # The full history is recorded here, not only the current state insert would record.
        row = insert(session, tenant=tenant, incoming=incoming, history=False)
        record_instances(session, tenant=tenant, entity_id=row.entity_id, attrs=attrs, replace=True)
        if scoped is not None:
            record_instances(
                session, tenant=tenant, entity_id=row.entity_id, attrs={SCOPE: scoped[0]}
            )
        elif head.scope:
            record_scope(session, tenant=tenant, entity_id=row.entity_id, scope=head.scope)
        return True
    types = list(row.types or [row.type])
    row.types = types + [t for t in head.types if t not in types]
    if head.scope is not None:
        row.scope = head.scope
    merged = dict(row.attrs or {})
    merged.update({iri: state for iri, state in current.items() if iri not in merged})
    record_instances(session, tenant=tenant, entity_id=row.entity_id, attrs=attrs, replace=True)
    if scoped is not None:
        record_instances(session, tenant=tenant, entity_id=row.entity_id, attrs={SCOPE: scoped[0]})
    save(session, row=row, attrs=merged, changed=attrs, scope_recorded=scoped is not None)
    return False


def _entity(session: Session, tenant: str, entity_id: str) -> NgsiEntity:
    require_tenant(session, tenant=tenant)
    row = find(session, tenant=tenant, entity_id=entity_id, for_update=True)
    if row is None:
        raise not_found(text("temporal_entity_unknown", entity=entity_id))
    return row


def delete_temporal_entity(session: Session, *, tenant: str, entity_id: str) -> None:
    """DELETE /temporal/entities/{id}: the entity and its whole history (404 if neither exists)."""
    require_tenant(session, tenant=tenant)
    row = find(session, tenant=tenant, entity_id=entity_id, for_update=True)
    dropped = delete_history(session, tenant=tenant, entity_id=entity_id)
    if row is None and not dropped:
        raise not_found(text("temporal_entity_unknown", entity=entity_id))
    if row is not None:
        emit_change(session, row=row, attributes=row.attrs, deleted=True)
        session.delete(row)
        session.flush()


def append_temporal_attributes(
    session: Session, *, tenant: str, entity_id: str, body: Any, active: ActiveContext
) -> None:
    """POST /temporal/entities/{id}/attrs: add the instances given to the entity's history."""
    if not isinstance(body, dict):
        raise bad_data(text("temporal_attributes_body"))
    attrs = expand_temporal_attributes(
        {k: v for k, v in body.items() if k not in ("id", "type")}, active, stamp=now_iso()
    )
    if not attrs:
        raise bad_data(text("write_no_attributes"))
    row = _entity(session, tenant, entity_id)
    record_instances(session, tenant=tenant, entity_id=entity_id, attrs=attrs, replace=True)
    merged = dict(row.attrs or {})
    for iri, items in attrs.items():
        state = _newest(items)
        if iri not in merged and state is not None:
            merged[iri] = state
    save(session, row=row, attrs=merged, changed=attrs)


def _series_filter(tenant: str, entity_id: str, iri: str) -> list[Any]:
    return [
        Measurement.tenant == tenant,
        Measurement.entity_id == entity_id,
        Measurement.attribute == history_name(iri),
    ]


def delete_temporal_attribute(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    active: ActiveContext,
    dataset_id: str | None = None,
    delete_all: bool = False,
) -> None:
    """DELETE /temporal/entities/{id}/attrs/{attr}: the default instances, one datasetId's, or
    (``delete_all``) every instance of the attribute; 404 when there is nothing to delete."""
    _entity(session, tenant, entity_id)
    iri = active.expand(name)
    statement = delete(Measurement).where(*_series_filter(tenant, entity_id, iri))
    if not delete_all:
        statement = statement.where(Measurement.dataset_id == (dataset_id or ""))
    if not session.execute(statement).rowcount:  # type: ignore[attr-defined]
        raise not_found(text("temporal_nothing_to_delete", entity=entity_id, name=name))
    rollups.drop_series(
        session,
        tenant=tenant,
        entity_id=entity_id,
        attribute=history_name(iri),
        dataset_id=None if delete_all else (dataset_id or ""),
    )


def _instance(
    session: Session, tenant: str, entity_id: str, name: str, instance: str, active: ActiveContext
) -> Measurement:
    if not is_uri(instance):
        raise bad_data(text("temporal_instance_not_uri", instance=instance[:60]))
    _entity(session, tenant, entity_id)
    row_id = row_id_of(instance)
    found = None
    if row_id is not None:
        found = session.scalar(
            select(Measurement).where(
                Measurement.id == row_id, *_series_filter(tenant, entity_id, active.expand(name))
            )
        )
    if found is None:
        raise not_found(
            text("temporal_instance_unknown", name=name, entity=entity_id, instance=instance)
        )
    return found


def patch_instance(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    instance: str,
    body: Any,
    active: ActiveContext,
) -> None:
    """PATCH /temporal/entities/{id}/attrs/{attr}/{instanceId}: merge the fragment into the
    instance (its instanceId and createdAt stay)."""
    if isinstance(body, dict) and set(body) - {"@context"} == {name}:
        body = body[name]  # the fragment may also come named by its attribute
    if not isinstance(body, dict):
        raise bad_data(text("temporal_instance_body"))
    fragment = {k: v for k, v in body.items() if k != "@context"}
    if not fragment:
        raise bad_data(text("temporal_instance_empty"))
    row = _instance(session, tenant, entity_id, name, instance, active)
    iri = active.expand(name)
    before = row.document or {
        "type": "Property",
        "value": simple_value(row),
        "observedAt": iso(row.observed_at),
    }
    change = expand_instance(name, fragment, active, iri=iri, stamp=now_iso(), partial=True)
    assert isinstance(change, dict)
    merged = {k: v for k, v in {**before, **change}.items() if k != "createdAt"}
    fields = instance_row(tenant, entity_id, iri, merged)
    old = _touched(row)
    try:
        with session.begin_nested():
            for column in _PATCHED:
                setattr(row, column, fields[column])
            row.modified_at = datetime.now(UTC)
            session.flush()
    except IntegrityError as exc:
        taken = iso(fields["observed_at"])
        raise bad_data(text("temporal_instance_time_taken", name=name, time=taken)) from exc
    # A changed value may have been its bucket's minimum: recount the buckets it left and joined.
    rollups.refresh(session, touched=[old, _touched(row)])


def delete_instance(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    instance: str,
    active: ActiveContext,
) -> None:
    """DELETE /temporal/entities/{id}/attrs/{attr}/{instanceId}: drop that one instance."""
    row = _instance(session, tenant, entity_id, name, instance, active)
    touched = _touched(row)
    session.delete(row)
    session.flush()
    rollups.refresh(session, touched=[touched])


def _touched(row: Measurement) -> rollups.Instance:
    return rollups.Instance(
        row.tenant, row.entity_id, row.attribute, row.dataset_id, row.observed_at, row.num_value
    )
