"""Batch operations (/entityOperations/create, upsert, update and delete): each entity in its
own savepoint, so one bad item never undoes the others, and a BatchOperationResult."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    check_entity_id,
    expand_entity,
    now_iso,
)
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, problem_details
from cityloop.platforms.data.perception.ngsild.rows import find, insert, record_history, save
from cityloop.platforms.data.perception.ngsild.tenants import ensure_tenant, require_tenant
from cityloop.platforms.data.perception.ngsild.writes import (
    append_attributes,
    create_entity,
    delete_entity,
)

# Entities with the @context each was sent with.
Items = Sequence[tuple[Any, ActiveContext]]


@dataclass
class BatchResult:
    success: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def fail(self, entity_id: Any, exc: NgsiError) -> None:
        self.errors.append(
            {
                "entityId": entity_id if isinstance(entity_id, str) else "",
                "error": problem_details(exc.kind, exc.detail, exc.status),
            }
        )

    def body(self) -> dict[str, Any]:
        return {"success": self.success, "errors": self.errors}


def _database_error(entity_id: Any, exc: IntegrityError | DataError) -> NgsiError:
    """The NGSI-LD error for a constraint the database refused for one item."""
    if isinstance(exc, IntegrityError):
        return NgsiError("AlreadyExists", f"entity {entity_id} already exists")
    return bad_data(f"entity {entity_id} holds a value the database refuses")


def _id_of(body: Any) -> Any:
    return body.get("id") if isinstance(body, dict) else None


def _each(
    session: Session, result: BatchResult, actions: Iterable[tuple[Any, Callable[[], None]]]
) -> None:
    """Run each (entity id, action) in a savepoint, so one bad entity never undoes the others."""
    for entity_id, action in actions:
        try:
            with session.begin_nested():
                action()
            result.success.append(str(entity_id))
        except NgsiError as exc:
            result.fail(entity_id, exc)
        except (IntegrityError, DataError) as exc:
            # The savepoint is rolled back; e.g. a concurrent request created the same id.
            result.fail(entity_id, _database_error(entity_id, exc))


def _per_entity(
    items: Items, result: BatchResult, action: Callable[[Any, ActiveContext], None]
) -> list[tuple[Any, Callable[[], None]]]:
    """``action`` bound to each entity; an id given twice fails from its second time on."""
    seen: set[str] = set()
    actions = []
    for body, active in items:
        entity_id = _id_of(body)
        if isinstance(entity_id, str) and entity_id in seen:
            result.fail(entity_id, bad_data(f"entity {entity_id} appears twice in the batch"))
            continue
        if isinstance(entity_id, str):
            seen.add(entity_id)
        actions.append((entity_id, partial(action, body, active)))
    return actions


def batch_create(session: Session, *, tenant: str, items: Items) -> BatchResult:
    """entityOperations/create: create each entity."""
    result = BatchResult()
    ensure_tenant(session, tenant=tenant)

    def create(body: Any, active: ActiveContext) -> None:
        create_entity(session, tenant=tenant, body=body, active=active)

    _each(session, result, _per_entity(items, result, create))
    result.created = list(result.success)
    return result


def batch_upsert(
    session: Session, *, tenant: str, items: Items, update_mode: bool = False
) -> BatchResult:
    """Create missing entities; replace existing ones, or with ``update_mode`` add to them."""
    result = BatchResult()
    ensure_tenant(session, tenant=tenant)

    def upsert(body: Any, active: ActiveContext) -> None:
        incoming = expand_entity(body, active, stamp=now_iso())
        assert incoming.entity_id is not None
        row = find(session, tenant=tenant, entity_id=incoming.entity_id, for_update=True)
        if row is None:
            insert(session, tenant=tenant, incoming=incoming)
            result.created.append(incoming.entity_id)
            return
        if update_mode:
            attrs = {**row.attrs, **incoming.attrs}
        else:
            attrs = incoming.attrs
            row.type, row.types = incoming.types[0], incoming.types
        changed = set(incoming.attrs) if update_mode else set(row.attrs) | set(incoming.attrs)
        record_history(session, row=row, attrs=incoming.attrs)
        save(session, row=row, attrs=attrs, changed=changed)

    _each(session, result, _per_entity(items, result, upsert))
    return result


def batch_update(
    session: Session, *, tenant: str, items: Items, no_overwrite: bool = False
) -> BatchResult:
    """entityOperations/update: append each entity's attributes to the stored entity."""
    result = BatchResult()

    def update(body: Any, active: ActiveContext) -> None:
        if not isinstance(body, dict):
            raise bad_data("each entity must be a JSON object")
        entity_id = body.get("id")
        check_entity_id(entity_id)
        attrs = {k: v for k, v in body.items() if k not in ("id", "type", "@context", "scope")}
        if not attrs:
            raise bad_data("the entity names no attributes to update")
        append_attributes(
            session,
            tenant=tenant,
            entity_id=entity_id,
            body=attrs,
            active=active,
            no_overwrite=no_overwrite,
        )

    require_tenant(session, tenant=tenant)
    _each(session, result, _per_entity(items, result, update))
    return result


def batch_delete(session: Session, *, tenant: str, ids: Sequence[Any]) -> BatchResult:
    """entityOperations/delete: delete each entity the list names."""
    result = BatchResult()
    require_tenant(session, tenant=tenant)

    def delete(entity_id: Any) -> None:
        if not isinstance(entity_id, str):
            raise bad_data("each item must be an entity id string")
        check_entity_id(entity_id)
        delete_entity(session, tenant=tenant, entity_id=entity_id)

    _each(session, result, ((entity_id, partial(delete, entity_id)) for entity_id in ids))
    return result
