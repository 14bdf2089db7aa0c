"""Batch operations (/entityOperations/create, upsert, update, merge and delete): each entity in
its own savepoint, so one bad item never undoes the others, and a BatchOperationResult."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    ENTITY_MEMBERS,
    check_entity_id,
    expand_entity,
    now_iso,
)
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.merge import merge_entity, merge_types
from cityloop.platforms.data.perception.ngsild.rows import (
    find,
    get_entity,
    insert,
    record_history,
    save,
)
from cityloop.platforms.data.perception.ngsild.tenants import ensure_tenant, require_tenant
from cityloop.platforms.data.perception.ngsild.texts import text
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
    # Each failed entity's id with its error, kept unrendered: the 207 body is written in the
    # reader's language, known only to the view.
    failures: list[tuple[str, NgsiError]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def fail(self, entity_id: Any, exc: NgsiError) -> None:
        self.failures.append((entity_id if isinstance(entity_id, str) else "", exc))

    def errors_in(self, locale: str) -> list[dict[str, Any]]:
        """The BatchEntityErrors, each detail in ``locale``."""
        return [
            {"entityId": entity_id, "error": exc.problem(locale)}
            for entity_id, exc in self.failures
        ]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The BatchEntityErrors in English."""
        return self.errors_in("en")

    def body(self, locale: str = "en") -> dict[str, Any]:
        """The BatchOperationResult, its error details in ``locale``."""
        return {"success": self.success, "errors": self.errors_in(locale)}


OPERATIONS = ("create", "upsert", "update", "merge", "delete")


def check_batch(body: Any, *, operation: str, maximum: int) -> None:
    """The whole request is refused (5.5.4, 6.3.x) unless it is a non-empty array, of at most
    ``maximum`` items, each an entity object (an entity id string for delete)."""
    if not isinstance(body, list):
        raise bad_data(text("batch_not_array"))
    if not body:
        raise bad_data(text("batch_empty"))
    if len(body) > maximum:
        raise bad_data(text("batch_too_large", limit=maximum))
    wanted, code = (
        (str, "batch_item_not_id") if operation == "delete" else (dict, "batch_item_not_object")
    )
    for index, item in enumerate(body):
        if not isinstance(item, wanted):
            raise bad_data(text(code, index=index))


def _database_error(entity_id: Any, exc: IntegrityError | DataError) -> NgsiError:
    """The NGSI-LD error for a constraint the database refused for one item."""
    if isinstance(exc, IntegrityError):
        return NgsiError("AlreadyExists", text("entity_exists", entity=entity_id))
    return bad_data(text("entity_value_refused", entity=entity_id))


def _id_of(body: Any) -> Any:
    return body.get("id") if isinstance(body, dict) else None


def _each(
    session: Session,
    result: BatchResult,
    actions: Iterable[tuple[Any, Callable[[], NgsiError | None]]],
) -> None:
    """Run each (entity id, action) in a savepoint, so one bad entity never undoes the others.

    An action returns an error when it did part of its work (kept) and left out the rest."""
    for entity_id, action in actions:
        try:
            with session.begin_nested():
                partly = action()
            if partly is not None:
                result.fail(entity_id, partly)
                continue
            result.success.append(str(entity_id))
        except NgsiError as exc:
            result.fail(entity_id, exc)
        except (IntegrityError, DataError) as exc:
            # The savepoint is rolled back; e.g. a concurrent request created the same id.
            result.fail(entity_id, _database_error(entity_id, exc))


def _per_entity(
    items: Items,
    result: BatchResult,
    action: Callable[[Any, ActiveContext], NgsiError | None],
    *,
    once: bool = False,
) -> list[tuple[Any, Callable[[], NgsiError | None]]]:
    """``action`` bound to each entity, in order; with ``once`` an id given twice fails from
    its second time on (the others apply each occurrence in turn, so the last one wins)."""
    seen: set[str] = set()
    actions = []
    for body, active in items:
        entity_id = _id_of(body)
        if once and isinstance(entity_id, str) and entity_id in seen:
            result.fail(entity_id, bad_data(text("entity_twice_in_batch", entity=entity_id)))
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

    _each(session, result, _per_entity(items, result, create, once=True))
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
            row.scope, row.expires_at = incoming.scope, incoming.expires_at
        changed = set(incoming.attrs) if update_mode else set(row.attrs) | set(incoming.attrs)
        record_history(session, row=row, attrs=incoming.attrs)
        save(session, row=row, attrs=attrs, changed=changed)

    _each(session, result, _per_entity(items, result, upsert))
    # An id created and then replaced in the same batch is reported once.
    result.created = list(dict.fromkeys(result.created))
    result.success = list(dict.fromkeys(result.success))
    return result


def batch_update(
    session: Session, *, tenant: str, items: Items, no_overwrite: bool = False
) -> BatchResult:
    """entityOperations/update: append each entity's attributes to the stored entity and add
    the types it names; with ``no_overwrite`` an entity whose existing attributes were left
    alone is reported among the errors (its new attributes are kept)."""
    result = BatchResult()

    def update(body: Any, active: ActiveContext) -> NgsiError | None:
        entity_id = check_entity_id(body.get("id"))
        attrs = {k: v for k, v in body.items() if k not in ENTITY_MEMBERS}
        if "type" in body:
            row = get_entity(session, tenant=tenant, entity_id=entity_id, for_update=True)
            merge_types(row, body["type"], active)
        elif not attrs:
            raise bad_data(text("no_attributes_to_update"))
        if not attrs:
            return None
        outcome = append_attributes(
            session,
            tenant=tenant,
            entity_id=entity_id,
            body=attrs,
            active=active,
            no_overwrite=no_overwrite,
        )
        if not outcome.not_updated:
            return None
        left = ", ".join(active.compact(iri) for iri, _ in outcome.not_updated)
        return bad_data(text("not_overwritten", names=left))

    require_tenant(session, tenant=tenant)
    _each(session, result, _per_entity(items, result, update))
    return result


def batch_merge(session: Session, *, tenant: str, items: Items) -> BatchResult:
    """entityOperations/merge: merge each entity fragment into its stored entity (5.6.20)."""
    result = BatchResult()
    require_tenant(session, tenant=tenant)

    def merge(body: Any, active: ActiveContext) -> None:
        entity_id = check_entity_id(body.get("id"))
        merge_entity(session, tenant=tenant, entity_id=entity_id, body=body, active=active)

    _each(session, result, _per_entity(items, result, merge))
    return result


def batch_delete(session: Session, *, tenant: str, ids: Sequence[Any]) -> BatchResult:
    """entityOperations/delete: delete each entity the list names."""
    result = BatchResult()
    require_tenant(session, tenant=tenant)

    def delete(entity_id: Any) -> None:
        if not isinstance(entity_id, str):
            raise bad_data(text("batch_item_id_string"))
        check_entity_id(entity_id)
        delete_entity(session, tenant=tenant, entity_id=entity_id)

    _each(session, result, ((entity_id, partial(delete, entity_id)) for entity_id in ids))
    return result
