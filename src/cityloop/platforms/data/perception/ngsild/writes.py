"""Single-entity writes: create, replace, merge and delete an entity, and append, update,
patch, replace and delete its attributes. Each locks the entity's row, records the history
and emits one change event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.messages import Message
from cityloop.platforms.data.perception.ngsild.attributes import (
    DEFAULT_DATASET,
    ENTITY_MEMBERS,
    RESERVED_NAMES,
    Deletion,
    check_attribute_name,
    check_dataset_id,
    combine,
    dataset_of,
    expand_attributes,
    expand_instance,
    instances,
    keep_created,
    without_deletions,
)
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import expand_entity, now_iso
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.rows import (
    emit_change,
    find,
    get_entity,
    insert,
    record_history,
    save,
)
from cityloop.platforms.data.perception.ngsild.temporal_store import (
    delete_history,
    record_deletions,
)
from cityloop.platforms.data.perception.ngsild.tenants import ensure_tenant
from cityloop.platforms.data.perception.ngsild.texts import text


def create_entity(session: Session, *, tenant: str, body: Any, active: ActiveContext) -> NgsiEntity:
    """POST /entities: store a new entity (409 AlreadyExists when its id is taken)."""
    stamp = now_iso()
    incoming = expand_entity(body, active, stamp=stamp)
    assert incoming.entity_id is not None
    ensure_tenant(session, tenant=tenant)
    if find(session, tenant=tenant, entity_id=incoming.entity_id) is not None:
        raise NgsiError("AlreadyExists", text("entity_exists", entity=incoming.entity_id))
    return insert(session, tenant=tenant, incoming=incoming)


def replace_entity(
    session: Session, *, tenant: str, entity_id: str, body: Any, active: ActiveContext
) -> NgsiEntity:
    """PUT: the entity's attributes become exactly those given (type and id stay unless given)."""
    row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
    incoming = expand_entity(
        body, active, stamp=now_iso(), need_id=False, need_type=False, previous=row.attrs
    )
    if incoming.entity_id is not None and incoming.entity_id != entity_id:
        raise bad_data(text("write_id_differs"))
    changed = set(row.attrs) | set(incoming.attrs)
    if incoming.types:
        row.type, row.types = incoming.types[0], incoming.types
    if incoming.scope is not None:
        row.scope = incoming.scope
    row.expires_at = incoming.expires_at
    record_history(session, row=row, attrs=incoming.attrs)
    save(session, row=row, attrs=incoming.attrs, changed=changed)
    return row


def delete_entity(
    session: Session, *, tenant: str, entity_id: str, of_types: list[str] | None = None
) -> None:
    """DELETE /entities/{id}: remove the entity and its temporal representation."""
    row = get_entity(
        session, tenant=tenant, entity_id=entity_id, for_update=True, of_types=of_types
    )
    emit_change(session, row=row, attributes=row.attrs, deleted=True)
    delete_history(session, tenant=tenant, entity_id=entity_id)
    session.delete(row)
    session.flush()


@dataclass
class UpdateResult:
    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, Message]] = field(default_factory=list)

    def body(self, active: ActiveContext, locale: str = "en") -> dict[str, Any]:
        """The 207 answer, its reasons in ``locale``."""
        return {
            "updated": [active.compact(iri) for iri in self.updated],
            "notUpdated": [
                {"attributeName": active.compact(iri), "reason": reason.render(locale)}
                for iri, reason in self.not_updated
            ],
        }


def _attribute_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_data(text("write_attributes_body"))
    if not {k for k in body if k not in ("@context", "id")}:
        raise bad_data(text("write_no_attributes"))
    return {k: v for k, v in body.items() if k not in ENTITY_MEMBERS}


def _write_scope_and_types(
    row: NgsiEntity,
    body: dict[str, Any],
    active: ActiveContext,
    result: UpdateResult,
    *,
    append: bool,
    no_overwrite: bool,
) -> bool:
    """Types given are added (clause 4.16); a scope given replaces the entity's, or with
    noOverwrite joins it (clause 4.18); an update reports a scope the entity lacks. Whether
    the entity changed."""
    given = {k: body[k] for k in ("type", "scope") if k in body}
    incoming = expand_entity(given, active, stamp="", need_id=False, need_type=False)
    types = list(row.types or [row.type])
    added = [t for t in incoming.types if t not in types]
    if added:
        row.types = types + added
    if incoming.scope is None:
        return bool(added)
    if not append and not row.scope:
        result.not_updated.append(("scope", text("write_no_scope_to_update")))
        return bool(added)
    kept = list(row.scope or []) if no_overwrite else []
    row.scope = kept + [s for s in incoming.scope if s not in kept]
    result.updated.append("scope")
    return True


def _position(current: list[Any], dataset_id: str | None) -> int | None:
    """Where the instance with ``dataset_id`` (None: the default instance) is, if anywhere."""
    for index, instance in enumerate(current):
        if dataset_of(instance) == dataset_id:
            return index
    return None


def _store(
    session: Session, row: NgsiEntity, attrs: dict[str, Any], written: dict[str, list[Any]]
) -> None:
    """Save the attributes; the instances ``written`` (by name) go to the history too."""
    for iri in written:
        if attrs.get(iri) is None:
            attrs.pop(iri, None)
    kept = {iri: items for iri, items in written.items() if items}
    if kept:
        record_history(session, row=row, attrs=kept)
    save(session, row=row, attrs=attrs, changed=list(written))


def _write_attributes(
    session: Session,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    *,
    append: bool,
    no_overwrite: bool = False,
    of_types: list[str] | None = None,
) -> UpdateResult:
    """Append (new instances added) or update (only existing instances) attribute instances,
    each identified by name and datasetId; an NGSI-LD Null in an update deletes one."""
    row = get_entity(
        session, tenant=tenant, entity_id=entity_id, for_update=True, of_types=of_types
    )
    incoming = expand_attributes(_attribute_body(body), active, stamp=now_iso(), deletes=not append)
    attrs = dict(row.attrs)
    result = UpdateResult()
    entity_changed = _write_scope_and_types(
        row, body, active, result, append=append, no_overwrite=no_overwrite
    )
    written: dict[str, list[Any]] = {}
    removed: dict[str, list[Any]] = {}
    for iri, attribute in incoming.items():
        current = instances(attrs.get(iri))
        reasons: list[Message] = []
        for item in instances(attribute):
            position = _position(current, dataset_of(item))
            if position is None and not append:
                reasons.append(text("write_no_instance_to_update"))
            elif position is None:
                current.append(item)
                written.setdefault(iri, []).append(item)
            elif no_overwrite:
                reasons.append(text("write_exists_no_overwrite"))
            elif isinstance(item, Deletion):
                removed.setdefault(iri, []).append(current.pop(position))
                written.setdefault(iri, [])
            else:
                current[position] = keep_created(without_deletions(item), current[position])
                written.setdefault(iri, []).append(current[position])
        if iri in written:
            attrs[iri] = combine(current)
            result.updated.append(iri)
        if reasons:
            result.not_updated.append((iri, reasons[0]))
    if written or entity_changed:
        _store(session, row, attrs, written)
    for iri, gone in removed.items():
        record_deletions(session, tenant=tenant, entity_id=entity_id, iri=iri, removed=gone)
    return result


def append_attributes(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    no_overwrite: bool = False,
    of_types: list[str] | None = None,
) -> UpdateResult:
    """POST /attrs (5.6.3): add attribute instances; existing ones (same name and datasetId)
    are replaced unless ``no_overwrite``, which reports them not updated."""
    return _write_attributes(
        session,
        tenant,
        entity_id,
        body,
        active,
        append=True,
        no_overwrite=no_overwrite,
        of_types=of_types,
    )


def update_attributes(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    of_types: list[str] | None = None,
) -> UpdateResult:
    """PATCH /attrs (5.6.2): replace the instances that exist (an NGSI-LD Null deletes one);
    the others are reported not updated."""
    return _write_attributes(
        session, tenant, entity_id, body, active, append=False, of_types=of_types
    )


def _fragment(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_data(text("write_fragment_body"))
    fragment = {k: v for k, v in body.items() if k != "@context"}
    if not fragment:
        raise bad_data(text("write_fragment_empty"))
    return fragment


def _target(row: NgsiEntity, iri: str, name: str, dataset_id: Any) -> tuple[list[Any], int]:
    """The attribute's instances and the position of the one ``dataset_id`` names; 404 when
    the attribute or that instance does not exist."""
    current = instances(row.attrs.get(iri))
    if not current:
        raise not_found(text("write_no_attribute", entity=row.entity_id, name=name))
    checked = None if dataset_id is None else check_dataset_id(dataset_id)
    dataset = None if checked in (None, DEFAULT_DATASET) else checked
    position = _position(current, dataset)
    if position is None:
        if dataset:
            raise not_found(text("write_no_dataset_instance", name=name, dataset=dataset))
        raise not_found(text("write_no_default_instance", name=name))
    return current, position


def replace_attribute(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    body: Any,
    active: ActiveContext,
    of_types: list[str] | None = None,
) -> None:
    """PUT /attrs/{attr} (5.6.19): the instance with the body's datasetId, which must exist,
    becomes the one given."""
    check_attribute_name(name)
    row = get_entity(
        session, tenant=tenant, entity_id=entity_id, for_update=True, of_types=of_types
    )
    fragment = _fragment(body)
    iri = active.expand(name)
    current, position = _target(row, iri, name, fragment.get("datasetId"))
    item = expand_attributes({name: fragment}, active, stamp=now_iso())[iri]
    if not isinstance(item, dict):
        raise bad_data(text("write_not_one_instance", name=name))
    current[position] = keep_created(item, current[position])
    attrs = dict(row.attrs)
    attrs[iri] = combine(current)
    _store(session, row, attrs, {iri: [item]})


def _merge(previous: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The instance with the members and sub-attributes given replaced, the NGSI-LD Nulls'
    sub-attributes removed and the rest kept."""
    merged = dict(previous)
    for key, value in patch.items():
        if key == "createdAt":
            continue
        if isinstance(value, Deletion):
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def patch_attribute(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    body: Any,
    active: ActiveContext,
    of_types: list[str] | None = None,
) -> None:
    """PATCH /attrs/{attr} (5.6.4): merge the members given into the instance the body's
    datasetId names (the default one without it); an NGSI-LD Null deletes that instance."""
    if name in RESERVED_NAMES:
        raise bad_data(text("write_not_patchable", name=name))
    row = get_entity(
        session, tenant=tenant, entity_id=entity_id, for_update=True, of_types=of_types
    )
    fragment = _fragment(body)
    iri = active.expand(name)
    current, position = _target(row, iri, name, fragment.get("datasetId"))
    previous = current[position]
    patch = expand_instance(
        name,
        fragment,
        active,
        iri=iri,
        stamp=now_iso(),
        deletes=True,
        kind=previous.get("type", "Property"),
        partial=True,
    )
    written: list[Any] = []
    if isinstance(patch, Deletion):
        del current[position]
    else:
        current[position] = _merge(previous, patch)
        written.append(current[position])
    attrs = dict(row.attrs)
    attrs[iri] = combine(current)
    _store(session, row, attrs, {iri: written})
    if isinstance(patch, Deletion):
        record_deletions(session, tenant=tenant, entity_id=entity_id, iri=iri, removed=[previous])


def delete_attribute(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    active: ActiveContext,
    dataset_id: str | None = None,
    delete_all: bool = False,
    of_types: list[str] | None = None,
) -> None:
    """DELETE /attrs/{attr} (5.6.5): the instance ``dataset_id`` names (the default one
    without it), or every instance with ``delete_all``; ``scope`` deletes the scope (4.18)."""
    row = get_entity(
        session, tenant=tenant, entity_id=entity_id, for_update=True, of_types=of_types
    )
    if name == "scope":
        if not row.scope:
            raise not_found(text("write_no_scope", entity=entity_id))
        row.scope = None
        save(session, row=row, attrs=dict(row.attrs), changed=[])
        return
    iri = active.expand(name)
    current, position = (
        (instances(row.attrs.get(iri)), 0) if delete_all else _target(row, iri, name, dataset_id)
    )
    if not current:
        raise not_found(text("write_no_attribute", entity=entity_id, name=name))
    attrs = dict(row.attrs)
    removed = current if delete_all else [current[position]]
    attrs[iri] = None if delete_all else combine(current[:position] + current[position + 1 :])
    _store(session, row, attrs, {iri: []})
    record_deletions(session, tenant=tenant, entity_id=entity_id, iri=iri, removed=removed)
