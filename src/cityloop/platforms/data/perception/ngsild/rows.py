"""Entity rows: finding them (with the row lock writers need), keeping the indexed location
columns in step, saving, the history store and the change event every write emits. The
building blocks of :mod:`.writes`, :mod:`.batch` and :mod:`.devices`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shapely.geometry import shape
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.platforms.data.perception.events import EntitiesChanged, EntityChange
from cityloop.platforms.data.perception.ngsild.attributes import instances
from cityloop.platforms.data.perception.ngsild.entities import (
    LOCATION,
    EntityView,
    Incoming,
    iso,
    unexpired,
)
from cityloop.platforms.data.perception.ngsild.errors import not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.temporal_store import (
    record_instances,
    record_scope,
)
from cityloop.platforms.data.perception.ngsild.tenants import require_tenant
from cityloop.platforms.data.perception.ngsild.texts import text


def view_of(row: NgsiEntity) -> EntityView:
    """The row as :func:`.entities.render_entity` takes it."""
    return EntityView(
        entity_id=row.entity_id,
        types=list(row.types or [row.type]),
        attrs=unexpired(row.attrs or {}, utcnow()),
        scope=row.scope,
        created_at=iso(row.created_at),
        modified_at=iso(row.modified_at),
        expires_at=iso(row.expires_at) if row.expires_at else None,
    )


def find(
    session: Session, *, tenant: str, entity_id: str, for_update: bool = False
) -> NgsiEntity | None:
    """The entity's row, or None; writers pass ``for_update`` to lock it."""
    # Attributes are one JSON document, so two concurrent read-modify-writes on PostgreSQL would
    # lose one's changes without the row lock (SQLite's single writer already serialises them).
    statement = select(NgsiEntity).where(
        NgsiEntity.tenant == tenant, NgsiEntity.entity_id == entity_id
    )
    if for_update:
        statement = statement.with_for_update()
    return session.scalar(statement)


def get_entity(
    session: Session,
    *,
    tenant: str,
    entity_id: str,
    for_update: bool = False,
    of_types: list[str] | None = None,
) -> NgsiEntity:
    """The entity's row; 404 when the tenant or the entity does not exist, or when the entity
    has none of ``of_types`` (expanded; the type selector of clause 4.17)."""
    require_tenant(session, tenant=tenant)
    row = find(session, tenant=tenant, entity_id=entity_id, for_update=for_update)
    if row is None:
        raise not_found(text("write_entity_unknown", entity=entity_id))
    if of_types and not set(of_types) & set(row.types or [row.type]):
        raise not_found(text("write_entity_not_of_type", entity=entity_id))
    return row


def place(row: NgsiEntity) -> None:
    """Keep the indexed centroid and bounding box in step with the location GeoProperty."""
    for name, value in location_columns(row.attrs).items():
        setattr(row, name, value)


LOCATION_COLUMNS = ("lat", "lon", "min_lat", "min_lon", "max_lat", "max_lon", "lat_span")


def location_columns(attrs: dict[str, Any]) -> dict[str, float | None]:
    """The indexed centroid and bounding box of the attributes' location, by column name."""
    location = attrs.get(LOCATION)
    if isinstance(location, list):
        location = location[0] if location else None
    geometry = None
    if isinstance(location, dict) and isinstance(location.get("value"), dict):
        try:
            geometry = shape(location["value"])
        except Exception:
            geometry = None
    if geometry is None or geometry.is_empty:
        return dict.fromkeys(LOCATION_COLUMNS)
    min_x, min_y, max_x, max_y = geometry.bounds
    centroid = geometry.centroid
    return {
        "lat": float(centroid.y),
        "lon": float(centroid.x),
        "min_lat": min_y,
        "min_lon": min_x,
        "max_lat": max_y,
        "max_lon": max_x,
        "lat_span": max_y - min_y,
    }


def emit_change(
    session: Session,
    *,
    row: NgsiEntity,
    attributes: Iterable[str],
    deleted: bool = False,
    previous: dict[str, Any] | None = None,
    created: bool = False,
) -> None:
    """Emit the change event of one entity's write (the subscriptions' matcher reads it)."""
    # ``previous``: the attributes before the write (a deletion's are still on the row).
    names = sorted(set(attributes))
    before = row.attrs if deleted and previous is None else previous or {}
    change = EntityChange(
        entity_id=row.entity_id,
        type=row.type,
        attributes=names,
        previous={name: before[name] for name in names if name in before},
        removed=[] if deleted else [name for name in names if name not in row.attrs],
        created=created,
        removed_datasets={} if deleted else _removed_datasets(names, before, row.attrs or {}),
        created_at=iso(row.created_at) if deleted else None,
        modified_at=iso(row.modified_at) if deleted else None,
    )
    emit(
        session,
        EntitiesChanged(tenant=row.tenant, changes=[change], deleted=deleted, row_id=row.id),
    )


def _removed_datasets(
    names: list[str], before: dict[str, Any], after: dict[str, Any]
) -> dict[str, list[str | None]]:
    """Per attribute kept by a write, the datasetIds of the instances it deleted."""
    found: dict[str, list[str | None]] = {}
    for name in names:
        if name not in before or name not in after:
            continue
        kept = {i.get("datasetId") for i in instances(after[name]) if isinstance(i, dict)}
        gone = [
            i.get("datasetId")
            for i in instances(before[name])
            if isinstance(i, dict) and i.get("datasetId") not in kept
        ]
        if gone:
            found[name] = gone
    return found


def record_history(session: Session, *, row: NgsiEntity, attrs: dict[str, Any]) -> None:
    """Append the attribute instances written through the API to the history store."""
    record_instances(session, tenant=row.tenant, entity_id=row.entity_id, attrs=attrs)


def insert(
    session: Session, *, tenant: str, incoming: Incoming, history: bool = True
) -> NgsiEntity:
    """Add a new entity's row, its history (unless the caller records it) and its change event."""
    assert incoming.entity_id is not None
    now = utcnow()
    row = NgsiEntity(
        tenant=tenant,
        entity_id=incoming.entity_id,
        type=incoming.types[0],
        types=incoming.types,
        scope=incoming.scope,
        attrs=incoming.attrs,
        expires_at=incoming.expires_at,
        created_at=now,
        modified_at=now,
    )
    place(row)
    session.add(row)
    session.flush()
    if history:
        record_history(session, row=row, attrs=incoming.attrs)
        if incoming.scope:
            record_scope(session, tenant=tenant, entity_id=row.entity_id, scope=incoming.scope)
    emit_change(session, row=row, attributes=incoming.attrs, created=True)
    return row


def _scope_changed(row: NgsiEntity) -> bool:
    """Whether the row's scope was set to another value since it was loaded or flushed."""
    history = inspect(row).attrs.scope.history
    if not history.added:
        return False
    before = history.deleted[0] if history.deleted else None
    return list(history.added[0] or []) != list(before or [])


def save(
    session: Session,
    *,
    row: NgsiEntity,
    attrs: dict[str, Any],
    changed: Iterable[str],
    scope_recorded: bool = False,
) -> None:
    """Store an entity's new attributes and emit the change (attribute history is the caller's;
    a changed scope is recorded here unless the caller recorded its instances)."""
    previous = row.attrs
    scope_changed = not scope_recorded and _scope_changed(row)
    row.attrs = attrs
    row.modified_at = utcnow()
    place(row)
    session.flush()
    if scope_changed:
        record_scope(session, tenant=row.tenant, entity_id=row.entity_id, scope=row.scope)
    emit_change(session, row=row, attributes=changed, previous=previous)
