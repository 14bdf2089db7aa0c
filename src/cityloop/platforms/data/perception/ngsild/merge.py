"""Merge Entity (clause 5.6.17, ``PATCH /entities/{id}``) and the per-entity step of Batch
Entity Merge (5.6.20): the fragment's attributes are added, or merged into the instance with the
same datasetId (members given replace, the others such as ``unitCode`` and ``observedAt`` are
kept), and the NGSI-LD Null (``urn:ngsi-ld:null``) deletes an attribute instance or a
sub-attribute. Types given are added, ``scope`` is replaced, ``expiresAt`` set or (Null)
cleared."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild.attributes import (
    CONTENT_MEMBER,
    ENTITY_MEMBERS,
    RESERVED_NAMES,
    check_attribute_name,
    expand_instance,
    infer_type,
    is_null_content,
    keep_created,
)
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.identifiers import (
    NGSI_LD_NULL,
    check_scope,
    check_term,
    now_iso,
    parse_time,
)
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.rows import get_entity, record_history, save
from cityloop.platforms.data.perception.ngsild.temporal_store import record_deletions
from cityloop.platforms.data.perception.ngsild.texts import text

NGSI_NULL = NGSI_LD_NULL


def is_null(fragment: Any) -> bool:
    """Whether an attribute fragment is the NGSI-LD Null (4.5.5): a request to delete it."""
    if fragment == NGSI_NULL:
        return True
    if not isinstance(fragment, dict):
        return False
    member = CONTENT_MEMBER.get(str(fragment.get("type")))
    if member is None:
        member = next((m for m in CONTENT_MEMBER.values() if m in fragment), None)
    return member is not None and member in fragment and is_null_content(member, fragment[member])


def _is_instance_list(raw: Any) -> bool:
    """A list of attribute instances (datasets), not a list value given in concise form."""
    return (
        isinstance(raw, list)
        and bool(raw)
        and all(isinstance(i, dict) and ("type" in i or infer_type(i, "")) for i in raw)
    )


def _key_value_fragment(raw: Any, instances: list[dict[str, Any]]) -> Any:
    """``options=keyValues``: a bare value replaces the content of the default instance."""
    if is_null(raw):
        return raw
    default = next((i for i in instances if "datasetId" not in i), None)
    kind = str(default.get("type")) if default else "Property"
    return {CONTENT_MEMBER.get(kind, "value"): raw}


def _merge_instance(
    name: str,
    iri: str,
    fragment: Any,
    existing: dict[str, Any],
    active: ActiveContext,
    stamp: str,
) -> dict[str, Any]:
    """One instance merged: members given replace, sub-attributes given as Null are removed."""
    if not isinstance(fragment, dict):
        fragment = {"value": fragment}
    kind = fragment.get("type", existing.get("type"))
    if kind != existing.get("type"):
        # A different attribute type cannot be merged into the old one: it replaces it.
        replaced = expand_instance(name, fragment, active, iri=iri, stamp=stamp)
        assert isinstance(replaced, dict)
        return dict(keep_created(replaced, existing))
    removed = {
        active.expand(key)
        for key, item in fragment.items()
        if key not in RESERVED_NAMES and is_null(item)
    }
    kept = {
        key: item for key, item in fragment.items() if key in RESERVED_NAMES or not is_null(item)
    }
    partial = expand_instance(
        name, {**kept, "type": kind}, active, iri=iri, stamp=stamp, partial=True
    )
    assert isinstance(partial, dict)
    merged = {**existing, **partial}
    for sub_iri in removed:
        merged.pop(sub_iri, None)
    return merged


def _merge_attribute(
    name: str,
    raw: Any,
    stored: Any,
    active: ActiveContext,
    stamp: str,
    key_values: bool,
    removed: list[Any],
) -> Any:
    """The attribute's stored form after the merge (None: every instance was deleted); the
    instances the NGSI-LD Null deletes are added to ``removed``."""
    instances: list[dict[str, Any]] = (
        list(stored) if isinstance(stored, list) else [stored] if stored else []
    )
    iri = active.expand(name)
    for fragment in raw if _is_instance_list(raw) else [raw]:
        if key_values:
            fragment = _key_value_fragment(fragment, instances)
        dataset = fragment.get("datasetId") if isinstance(fragment, dict) else None
        index = next(
            (i for i, inst in enumerate(instances) if inst.get("datasetId") == dataset), None
        )
        if is_null(fragment):
            if index is not None:
                removed.append(instances.pop(index))
        elif index is None:
            added = expand_instance(name, fragment, active, iri=iri, stamp=stamp)
            assert isinstance(added, dict)
            instances.append(added)
        else:
            instances[index] = _merge_instance(name, iri, fragment, instances[index], active, stamp)
    if not instances:
        return None
    return instances if len(instances) > 1 else instances[0]


def merge_types(row: NgsiEntity, given: Any, active: ActiveContext) -> None:
    """Add the types given (a name or a list) to the entity's; the first type stays first."""
    names = given if isinstance(given, list) else [given]
    if not names:
        raise bad_data(text("entity_types_empty"))
    types = list(row.types or [row.type])
    for type_name in names:
        iri = active.expand(check_term(type_name, "entity type"))
        if iri not in types:
            types.append(iri)
    row.types = types


def _merge_members(row: NgsiEntity, body: dict[str, Any], active: ActiveContext) -> None:
    """The entity members of a fragment: types are added, scope replaced, expiresAt set."""
    if body.get("type") is not None:
        merge_types(row, body["type"], active)
    if "scope" in body:
        scope = body["scope"]
        row.scope = None if scope == NGSI_NULL else check_scope(scope)
    if "expiresAt" in body:
        expires = body["expiresAt"]
        row.expires_at = None if expires == NGSI_NULL else parse_time(expires, "expiresAt")


def merge_into(
    session: Session,
    *,
    row: NgsiEntity,
    body: Any,
    active: ActiveContext,
    key_values: bool = False,
) -> None:
    """Merge an entity fragment into a locked entity row (history and change event included)."""
    if not isinstance(body, dict):
        raise bad_data(text("fragment_not_object"))
    if body.get("id", row.entity_id) != row.entity_id:
        raise bad_data(text("fragment_id_differs"))
    _merge_members(row, body, active)
    stamp = now_iso()
    attrs = dict(row.attrs)
    changed: list[str] = []
    removed: dict[str, list[Any]] = {}
    for name, raw in body.items():
        if name in ENTITY_MEMBERS:
            continue
        iri = active.expand(check_attribute_name(name))
        gone = removed.setdefault(iri, [])
        merged = _merge_attribute(name, raw, attrs.get(iri), active, stamp, key_values, gone)
        if merged is None:
            attrs.pop(iri, None)
        else:
            attrs[iri] = merged
        changed.append(iri)
    record_history(session, row=row, attrs={iri: attrs[iri] for iri in changed if iri in attrs})
    save(session, row=row, attrs=attrs, changed=changed)
    for iri, gone in removed.items():
        if gone:
            record_deletions(
                session, tenant=row.tenant, entity_id=row.entity_id, iri=iri, removed=gone
            )


def merge_entity(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    key_values: bool = False,
) -> None:
    """PATCH /entities/{id}: merge a fragment into the entity (404 when it does not exist)."""
    row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
    merge_into(session, row=row, body=body, active=active, key_values=key_values)
