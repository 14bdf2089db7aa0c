"""Single-entity writes: create, replace, merge and delete an entity, and append, update,
patch, replace and delete its attributes. Each locks the entity's row, records the history
and emits one change event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    expand_attributes,
    expand_entity,
    now_iso,
)
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


def create_entity(session: Session, *, tenant: str, body: Any, active: ActiveContext) -> NgsiEntity:
    """POST /entities: store a new entity (409 AlreadyExists when its id is taken)."""
    stamp = now_iso()
    incoming = expand_entity(body, active, stamp=stamp)
    assert incoming.entity_id is not None
    ensure_tenant(session, tenant=tenant)
    if find(session, tenant=tenant, entity_id=incoming.entity_id) is not None:
        raise NgsiError("AlreadyExists", f"entity {incoming.entity_id} already exists")
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
        raise bad_data("the id in the body differs from the id in the URL")
    changed = set(row.attrs) | set(incoming.attrs)
    if incoming.types:
        row.type, row.types = incoming.types[0], incoming.types
    if incoming.scope is not None:
        row.scope = incoming.scope
    record_history(session, row=row, attrs=incoming.attrs)
    save(session, row=row, attrs=incoming.attrs, changed=changed)
    return row


def delete_entity(session: Session, *, tenant: str, entity_id: str) -> None:
    """DELETE /entities/{id}: remove the entity and its temporal representation."""
    row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
    emit_change(session, row=row, attributes=row.attrs, deleted=True)
    delete_history(session, tenant=tenant, entity_id=entity_id)
    session.delete(row)
    session.flush()


@dataclass
class UpdateResult:
    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)

    def body(self, active: ActiveContext) -> dict[str, Any]:
        return {
            "updated": [active.compact(iri) for iri in self.updated],
            "notUpdated": [
                {"attributeName": active.compact(iri), "reason": reason}
                for iri, reason in self.not_updated
            ],
        }


def _attribute_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_data("the body must be a JSON object of attributes")
    body = {k: v for k, v in body.items() if k != "@context"}
    if "id" in body or "type" in body:
        body = {k: v for k, v in body.items() if k not in ("id", "type")}
    if not body:
        raise bad_data("the body names no attributes")
    return body


def _write_attributes(
    session: Session,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    refusal: Callable[[bool], str | None],
) -> UpdateResult:
    """Write the attributes given; ``refusal(exists)`` is why one is left out, or None."""
    row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
    incoming = expand_attributes(_attribute_body(body), active, stamp=now_iso(), previous=row.attrs)
    attrs = dict(row.attrs)
    result = UpdateResult()
    for iri, instance in incoming.items():
        reason = refusal(iri in attrs)
        if reason is not None:
            result.not_updated.append((iri, reason))
            continue
        attrs[iri] = instance
        result.updated.append(iri)
    if result.updated:
        record_history(session, row=row, attrs={iri: attrs[iri] for iri in result.updated})
        save(session, row=row, attrs=attrs, changed=result.updated)
    return result


def append_attributes(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    no_overwrite: bool = False,
) -> UpdateResult:
    """POST /attrs (and merge): add attributes, replacing existing ones unless ``no_overwrite``."""

    def refusal(exists: bool) -> str | None:
        return "attribute exists and noOverwrite was given" if exists and no_overwrite else None

    return _write_attributes(session, tenant, entity_id, body, active, refusal)


def update_attributes(
    session: Session, *, tenant: str, entity_id: str, body: Any, active: ActiveContext
) -> UpdateResult:
    """PATCH /attrs: replace attributes that exist; the others are reported not updated."""

    def refusal(exists: bool) -> str | None:
        return None if exists else "attribute does not exist"

    return _write_attributes(session, tenant, entity_id, body, active, refusal)


def replace_attribute(
    session: Session, *, tenant: str, entity_id: str, name: str, body: Any, active: ActiveContext
) -> None:
    """PUT /attrs/{attr}: the attribute, which must exist, becomes the one given."""
    if not isinstance(body, dict):
        raise bad_data("the body must be an attribute object")
    fragment = {name: {k: v for k, v in body.items() if k != "@context"}}
    row = get_entity(session, tenant=tenant, entity_id=entity_id)
    if active.expand(name) not in row.attrs:
        raise not_found(f"entity {entity_id} has no attribute {name}")
    append_attributes(session, tenant=tenant, entity_id=entity_id, body=fragment, active=active)


def _merge(previous: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(previous)
    for key, value in patch.items():
        if key == "createdAt":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and "type" not in value:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def patch_attribute(
    session: Session, *, tenant: str, entity_id: str, name: str, body: Any, active: ActiveContext
) -> None:
    """PATCH /attrs/{attr}: merge the members given into the existing attribute."""
    row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
    if not isinstance(body, dict) or not {k for k in body if k != "@context"}:
        raise bad_data("the body must be a JSON object with the members to change")
    iri = active.expand(name)
    previous = row.attrs.get(iri)
    if previous is None:
        raise not_found(f"entity {entity_id} has no attribute {name}")
    if isinstance(previous, list):
        raise NgsiError(
            "OperationNotSupported", f"attribute {name} has several instances; use PATCH /attrs"
        )
    patch = {k: v for k, v in body.items() if k != "@context"}
    partial = expand_attributes(
        {name: patch}, active, stamp=now_iso(), previous=row.attrs, partial=True
    )[iri]
    merged = _merge(previous, partial)  # type: ignore[arg-type]
    # The merged attribute must still be a valid one of its kind.
    checked = expand_attributes(
        {name: {k: v for k, v in merged.items() if k not in ("createdAt", "modifiedAt")}},
        _Identity(active),
        stamp=merged.get("modifiedAt", now_iso()),
        previous=row.attrs,
    )[iri]
    attrs = dict(row.attrs)
    attrs[iri] = checked
    record_history(session, row=row, attrs={iri: checked})
    save(session, row=row, attrs=attrs, changed=[iri])


class _Identity(ActiveContext):
    """Re-validates an already expanded attribute: expanded names expand to themselves."""

    def __init__(self, active: ActiveContext) -> None:
        super().__init__(
            user=active.user,
            key=active.key,
            mappings=active.mappings,
            prefixes=active.prefixes,
            vocab=active.vocab,
            _processed=active._processed,
        )
        self._outer = active

    def expand(self, term: str) -> str:
        return term if "://" in term else self._outer.expand(term)


def delete_attribute(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    name: str,
    active: ActiveContext,
    dataset_id: str | None = None,
    delete_all: bool = False,
) -> None:
    """DELETE /attrs/{attr}: one instance (``dataset_id``), the default one, or all of them."""
    row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
    iri = active.expand(name)
    if iri not in row.attrs:
        raise not_found(f"entity {entity_id} has no attribute {name}")
    attrs = dict(row.attrs)
    current = attrs[iri]
    if isinstance(current, list) and not delete_all:
        kept = [i for i in current if i.get("datasetId") != dataset_id]
        if len(kept) == len(current):
            raise not_found(f"attribute {name} has no instance with that datasetId")
        if kept:
            attrs[iri] = kept
        else:
            del attrs[iri]
    elif not delete_all and dataset_id is not None and current.get("datasetId") != dataset_id:
        raise not_found(f"attribute {name} has no instance with datasetId {dataset_id}")
    else:
        del attrs[iri]
    before = current if isinstance(current, list) else [current]
    after = attrs.get(iri, [])
    kept = after if isinstance(after, list) else [after]
    removed = [instance for instance in before if instance not in kept]
    record_deletions(session, tenant=tenant, entity_id=entity_id, iri=iri, removed=removed)
    save(session, row=row, attrs=attrs, changed=[iri])
