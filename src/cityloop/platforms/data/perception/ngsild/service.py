"""NGSI-LD business rules as plain functions over a session: entity CRUD, batch operations,
queries, types and attributes, temporal reads, device projection and the change events.

Every API write emits one ``ngsild.entity.changed`` outbox event per entity touched, with the
expanded type and the expanded names of the attributes that changed; a batch of device readings
emits one event listing every entity it changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.platforms.data.perception.events import EntitiesChanged, EntityChange
from cityloop.platforms.data.perception.models import Device, DeviceProfile, Measurement
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    LOCATION,
    EntityView,
    Incoming,
    check_entity_id,
    expand_attributes,
    expand_entity,
    iso,
    now_iso,
)
from cityloop.platforms.data.perception.ngsild.errors import (
    NgsiError,
    bad_data,
    not_found,
    problem_details,
)
from cityloop.platforms.data.perception.ngsild.geo import GeoQuery, evaluate_georel, haversine
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity, NgsiTenant
from cityloop.platforms.data.perception.ngsild.query import ClientPattern, Node, evaluate_q

DEFAULT_TENANT = ""
_TENANT_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
# Codec units are free text; NGSI-LD wants UN/CEFACT common codes.
UNIT_CODES = {
    "c": "CEL",
    "°c": "CEL",
    "celsius": "CEL",
    "degc": "CEL",
    "f": "FAH",
    "°f": "FAH",
    "k": "KEL",
    "m": "MTR",
    "cm": "CMT",
    "mm": "MMT",
    "km": "KMT",
    "%": "P1",
    "percent": "P1",
    "pa": "PAL",
    "hpa": "A97",
    "kpa": "KPA",
    "v": "VLT",
    "a": "AMP",
    "w": "WTT",
    "kw": "KWT",
    "kwh": "KWH",
    "lux": "LUX",
    "lx": "LUX",
    "db": "2N",
    "dba": "2N",
    "m/s": "MTS",
    "km/h": "KMH",
    "l": "LTR",
    "m3": "MTQ",
    "m³": "MTQ",
    "s": "SEC",
    "min": "MIN",
    "h": "HUR",
    "ppm": "59",
    "ppb": "61",
    "µg/m3": "GQ",
    "ug/m3": "GQ",
    "µg/m³": "GQ",
    "mg/m3": "GP",
    "deg": "DD",
    "°": "DD",
}


def unit_code(unit: str | None) -> str | None:
    if unit is None or not unit.strip():
        return None
    return UNIT_CODES.get(unit.strip().lower(), unit.strip())


# --- tenants ----------------------------------------------------------------------------------

# Tenants known to exist, per database: a tenant is never removed, so a hit stays true.
_known_tenants: set[tuple[str, str]] = set()


def _tenant_key(session: Session, tenant: str) -> tuple[str, str]:
    return (str(session.get_bind().url), tenant)


def check_tenant_name(name: str | None) -> str:
    if name is None or name == "":
        return DEFAULT_TENANT
    if not _TENANT_NAME.match(name):
        raise bad_data("NGSILD-Tenant must be 1-100 letters, digits, '-' or '_'")
    return name


def require_tenant(session: Session, tenant: str) -> None:
    """Reads from a tenant nobody has written to are a 404 NonexistentTenant."""
    if tenant == DEFAULT_TENANT or _tenant_key(session, tenant) in _known_tenants:
        return
    if session.get(NgsiTenant, tenant) is None:
        raise NgsiError("NonexistentTenant", f"tenant {tenant!r} does not exist")
    _known_tenants.add(_tenant_key(session, tenant))


def ensure_tenant(session: Session, tenant: str) -> None:
    if tenant == DEFAULT_TENANT or _tenant_key(session, tenant) in _known_tenants:
        return
    if session.get(NgsiTenant, tenant) is None:
        session.add(NgsiTenant(name=tenant, created_at=utcnow()))
        session.flush()
    # Not remembered here: this transaction may still roll back. Reads remember it.


# --- helpers ----------------------------------------------------------------------------------


def view_of(row: NgsiEntity) -> EntityView:
    return EntityView(
        entity_id=row.entity_id,
        types=list(row.types or [row.type]),
        attrs=dict(row.attrs or {}),
        scope=row.scope,
        created_at=iso(row.created_at),
        modified_at=iso(row.modified_at),
    )


def find(
    session: Session, tenant: str, entity_id: str, *, for_update: bool = False
) -> NgsiEntity | None:
    """The entity's row. Writers pass ``for_update``: attributes are one JSON document, so two
    concurrent read-modify-writes on PostgreSQL would lose one's changes without the row lock
    (SQLite's single writer already serialises them)."""
    statement = select(NgsiEntity).where(
        NgsiEntity.tenant == tenant, NgsiEntity.entity_id == entity_id
    )
    if for_update:
        statement = statement.with_for_update()
    return session.scalar(statement)


def get_entity(
    session: Session, tenant: str, entity_id: str, *, for_update: bool = False
) -> NgsiEntity:
    require_tenant(session, tenant)
    row = find(session, tenant, entity_id, for_update=for_update)
    if row is None:
        raise not_found(f"entity {entity_id} does not exist")
    return row


def _place(row: NgsiEntity) -> None:
    """Keep the indexed centroid and bounding box in step with the location GeoProperty."""
    location = row.attrs.get(LOCATION)
    if isinstance(location, list):
        location = location[0] if location else None
    geometry = None
    if isinstance(location, dict) and isinstance(location.get("value"), dict):
        try:
            geometry = shape(location["value"])
        except Exception:
            geometry = None
    if geometry is None or geometry.is_empty:
        row.lat = row.lon = row.min_lat = row.min_lon = row.max_lat = row.max_lon = None
        row.lat_span = None
        return
    min_x, min_y, max_x, max_y = geometry.bounds
    centroid = geometry.centroid
    row.lat, row.lon = float(centroid.y), float(centroid.x)
    row.min_lat, row.min_lon, row.max_lat, row.max_lon = min_y, min_x, max_y, max_x
    row.lat_span = max_y - min_y


def _changed(
    session: Session, row: NgsiEntity, attributes: Iterable[str], *, deleted: bool = False
) -> None:
    change = EntityChange(
        entity_id=row.entity_id, type=row.type, attributes=sorted(set(attributes))
    )
    emit(
        session,
        EntitiesChanged(tenant=row.tenant, changes=[change], deleted=deleted, row_id=row.id),
    )


def _history_name(iri: str) -> str:
    """Measurements keep names as the core context compacts them ("temperature" for a
    default-context IRI), so device readings and API updates share one series."""
    return contexts.core().compact(iri)


def _append_history(session: Session, row: NgsiEntity, attrs: dict[str, Any]) -> None:
    """Numbers and strings written through the API join the history store."""
    rows = []
    for iri, attribute in attrs.items():
        for instance in attribute if isinstance(attribute, list) else [attribute]:
            if not isinstance(instance, dict) or instance.get("type", "Property") != "Property":
                continue
            value = instance.get("value")
            if isinstance(value, bool):
                num, text = None, "true" if value else "false"
            elif isinstance(value, int | float):
                try:
                    num, text = float(value), None
                except OverflowError:
                    continue
                if not math.isfinite(num):
                    continue
            elif isinstance(value, str) and "\x00" not in value:
                num, text = None, value
            else:
                continue
            name = _history_name(iri)
            if len(name) > 200:
                continue
            unit = instance.get("unitCode")
            moment = instance.get("observedAt") or instance.get("modifiedAt") or now_iso()
            rows.append(
                {
                    "tenant": row.tenant,
                    "device_id": None,
                    "entity_id": row.entity_id,
                    "attribute": name,
                    "observed_at": datetime.fromisoformat(moment.replace("Z", "+00:00")),
                    "num_value": num,
                    "text_value": text,
                    "unit": unit if unit and "\x00" not in unit else None,
                }
            )
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = maker(Measurement).on_conflict_do_nothing(
        index_elements=["tenant", "entity_id", "attribute", "observed_at"]
    )
    session.execute(statement, rows)


# --- single-entity writes ---------------------------------------------------------------------


def create_entity(session: Session, tenant: str, body: Any, active: ActiveContext) -> NgsiEntity:
    stamp = now_iso()
    incoming = expand_entity(body, active, stamp=stamp)
    assert incoming.entity_id is not None
    ensure_tenant(session, tenant)
    if find(session, tenant, incoming.entity_id) is not None:
        raise NgsiError("AlreadyExists", f"entity {incoming.entity_id} already exists")
    return _insert(session, tenant, incoming)


def _insert(session: Session, tenant: str, incoming: Incoming) -> NgsiEntity:
    assert incoming.entity_id is not None
    now = utcnow()
    row = NgsiEntity(
        tenant=tenant,
        entity_id=incoming.entity_id,
        type=incoming.types[0],
        types=incoming.types,
        scope=incoming.scope,
        attrs=incoming.attrs,
        created_at=now,
        modified_at=now,
    )
    _place(row)
    session.add(row)
    session.flush()
    _append_history(session, row, incoming.attrs)
    _changed(session, row, incoming.attrs)
    return row


def _save(session: Session, row: NgsiEntity, attrs: dict[str, Any], changed: Iterable[str]) -> None:
    row.attrs = attrs
    row.modified_at = utcnow()
    _place(row)
    session.flush()
    _changed(session, row, changed)


def replace_entity(
    session: Session, tenant: str, entity_id: str, body: Any, active: ActiveContext
) -> NgsiEntity:
    """PUT: the entity's attributes become exactly those given (type and id stay unless given)."""
    row = get_entity(session, tenant, entity_id, for_update=True)
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
    _append_history(session, row, incoming.attrs)
    _save(session, row, incoming.attrs, changed)
    return row


def delete_entity(session: Session, tenant: str, entity_id: str) -> None:
    row = get_entity(session, tenant, entity_id, for_update=True)
    _changed(session, row, row.attrs, deleted=True)
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


def append_attributes(
    session: Session,
    tenant: str,
    entity_id: str,
    body: Any,
    active: ActiveContext,
    *,
    no_overwrite: bool = False,
) -> UpdateResult:
    """POST /attrs: add attributes, replacing existing ones unless ``no_overwrite``."""
    row = get_entity(session, tenant, entity_id, for_update=True)
    incoming = expand_attributes(_attribute_body(body), active, stamp=now_iso(), previous=row.attrs)
    attrs = dict(row.attrs)
    result = UpdateResult()
    for iri, instance in incoming.items():
        if no_overwrite and iri in attrs:
            result.not_updated.append((iri, "attribute exists and noOverwrite was given"))
            continue
        attrs[iri] = instance
        result.updated.append(iri)
    if result.updated:
        _append_history(session, row, {iri: attrs[iri] for iri in result.updated})
        _save(session, row, attrs, result.updated)
    return result


def update_attributes(
    session: Session, tenant: str, entity_id: str, body: Any, active: ActiveContext
) -> UpdateResult:
    """PATCH /attrs: replace attributes that exist; the others are reported not updated."""
    row = get_entity(session, tenant, entity_id, for_update=True)
    incoming = expand_attributes(_attribute_body(body), active, stamp=now_iso(), previous=row.attrs)
    attrs = dict(row.attrs)
    result = UpdateResult()
    for iri, instance in incoming.items():
        if iri not in attrs:
            result.not_updated.append((iri, "attribute does not exist"))
            continue
        attrs[iri] = instance
        result.updated.append(iri)
    if result.updated:
        _append_history(session, row, {iri: attrs[iri] for iri in result.updated})
        _save(session, row, attrs, result.updated)
    return result


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
    session: Session, tenant: str, entity_id: str, name: str, body: Any, active: ActiveContext
) -> None:
    """PATCH /attrs/{attr}: merge the members given into the existing attribute."""
    row = get_entity(session, tenant, entity_id, for_update=True)
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
    _append_history(session, row, {iri: checked})
    _save(session, row, attrs, [iri])


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
    tenant: str,
    entity_id: str,
    name: str,
    active: ActiveContext,
    *,
    dataset_id: str | None = None,
    delete_all: bool = False,
) -> None:
    row = get_entity(session, tenant, entity_id, for_update=True)
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
    _save(session, row, attrs, [iri])


# --- batch operations -------------------------------------------------------------------------


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


def _each(
    session: Session, items: Sequence[tuple[Any, ActiveContext]], result: BatchResult, action: Any
) -> None:
    """Run ``action`` per item in a savepoint, so one bad entity never undoes the others."""
    for body, active in items:
        entity_id = body.get("id") if isinstance(body, dict) else None
        try:
            with session.begin_nested():
                action(body, active)
            result.success.append(str(entity_id))
        except NgsiError as exc:
            result.fail(entity_id, exc)
        except (IntegrityError, DataError) as exc:
            # The savepoint is rolled back; e.g. a concurrent request created the same id.
            result.fail(entity_id, database_error(entity_id, exc))


def database_error(entity_id: Any, exc: IntegrityError | DataError) -> NgsiError:
    """The NGSI-LD error for a constraint the database refused for one item."""
    if isinstance(exc, IntegrityError):
        return NgsiError("AlreadyExists", f"entity {entity_id} already exists")
    return bad_data(f"entity {entity_id} holds a value the database refuses")


def _duplicates(items: Sequence[tuple[Any, ActiveContext]], result: BatchResult) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for item in items:
        body = item[0]
        entity_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(entity_id, str) and entity_id in seen:
            result.fail(entity_id, bad_data(f"entity {entity_id} appears twice in the batch"))
            continue
        if isinstance(entity_id, str):
            seen.add(entity_id)
        kept.append(item)
    return kept


def batch_create(
    session: Session, tenant: str, items: Sequence[tuple[Any, ActiveContext]]
) -> BatchResult:
    result = BatchResult()
    ensure_tenant(session, tenant)
    _each(
        session,
        _duplicates(items, result),
        result,
        lambda body, active: create_entity(session, tenant, body, active),
    )
    result.created = list(result.success)
    return result


def batch_upsert(
    session: Session,
    tenant: str,
    items: Sequence[tuple[Any, ActiveContext]],
    *,
    update_mode: bool = False,
) -> BatchResult:
    """Create missing entities; replace existing ones, or with ``update_mode`` add to them."""
    result = BatchResult()
    ensure_tenant(session, tenant)

    def upsert(body: Any, active: ActiveContext) -> None:
        incoming = expand_entity(body, active, stamp=now_iso())
        assert incoming.entity_id is not None
        row = find(session, tenant, incoming.entity_id, for_update=True)
        if row is None:
            _insert(session, tenant, incoming)
            result.created.append(incoming.entity_id)
            return
        if update_mode:
            attrs = {**row.attrs, **incoming.attrs}
        else:
            attrs = incoming.attrs
            row.type, row.types = incoming.types[0], incoming.types
        changed = set(incoming.attrs) if update_mode else set(row.attrs) | set(incoming.attrs)
        _append_history(session, row, incoming.attrs)
        _save(session, row, attrs, changed)

    _each(session, _duplicates(items, result), result, upsert)
    return result


def batch_update(
    session: Session,
    tenant: str,
    items: Sequence[tuple[Any, ActiveContext]],
    *,
    no_overwrite: bool = False,
) -> BatchResult:
    result = BatchResult()

    def update(body: Any, active: ActiveContext) -> None:
        if not isinstance(body, dict):
            raise bad_data("each entity must be a JSON object")
        entity_id = body.get("id")
        check_entity_id(entity_id)
        attrs = {k: v for k, v in body.items() if k not in ("id", "type", "@context", "scope")}
        if not attrs:
            raise bad_data("the entity names no attributes to update")
        append_attributes(session, tenant, entity_id, attrs, active, no_overwrite=no_overwrite)

    require_tenant(session, tenant)
    _each(session, _duplicates(items, result), result, update)
    return result


def batch_delete(session: Session, tenant: str, ids: Sequence[Any]) -> BatchResult:
    result = BatchResult()
    require_tenant(session, tenant)
    for entity_id in ids:
        try:
            if not isinstance(entity_id, str):
                raise bad_data("each item must be an entity id string")
            check_entity_id(entity_id)
            with session.begin_nested():
                delete_entity(session, tenant, entity_id)
            result.success.append(entity_id)
        except NgsiError as exc:
            result.fail(entity_id, exc)
        except (IntegrityError, DataError) as exc:
            result.fail(entity_id, database_error(entity_id, exc))
    return result


# --- queries ----------------------------------------------------------------------------------


@dataclass
class EntityQuery:
    types: list[str] = field(default_factory=list)  # expanded
    ids: list[str] = field(default_factory=list)
    id_pattern: ClientPattern | None = None
    attrs: list[str] = field(default_factory=list)  # expanded
    q: Node | None = None
    geo: GeoQuery | None = None
    geoproperty: str = LOCATION  # expanded
    limit: int = 20
    offset: int = 0
    count: bool = False


def _literal_prefix(pattern: str) -> str | None:
    """The literal start of an anchored regex (``^urn:ngsi-ld:Bin:.*``), for an index range.

    Only a prefix every match must start with: none under alternation (``^a|b``) or inline
    flags (``(?i)`` may make the whole pattern case-insensitive), and the literal a ``?``,
    ``*`` or ``{`` quantifies is optional, so it is left out."""
    if not pattern.startswith("^") or "|" in pattern or "(?" in pattern:
        return None
    prefix = []
    for char in pattern[1:]:
        if char in ".^$*+?{}[]\\|()":
            if char in "?*{" and prefix:
                prefix.pop()
            break
        prefix.append(char)
    return "".join(prefix) or None


def id_prefix_filter(pattern: ClientPattern) -> Any | None:
    """An indexed LIKE on entity_id for an anchored pattern's literal start (the regex itself
    still runs on the rows it lets through), or None when the pattern has no such start."""
    prefix = _literal_prefix(pattern.pattern)
    if not prefix:
        return None
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return NgsiEntity.entity_id.like(escaped + "%", escape="\\")


def query_entities(
    session: Session, tenant: str, query: EntityQuery, active: ActiveContext
) -> tuple[list[NgsiEntity], int | None]:
    """Matching entities (one page) and, when asked, how many match in all.

    SQL narrows by tenant, type, ids, an id prefix and the location bounding box (all
    indexed); the q language, regexes and exact geometry then run on the candidates.
    """
    require_tenant(session, tenant)
    statement = select(NgsiEntity).where(NgsiEntity.tenant == tenant)
    if query.types:
        statement = statement.where(NgsiEntity.type.in_(query.types))
    if query.ids:
        statement = statement.where(NgsiEntity.entity_id.in_(query.ids))
    if query.id_pattern is not None:
        narrowed = id_prefix_filter(query.id_pattern)
        if narrowed is not None:
            statement = statement.where(narrowed)
    box = query.geo.bbox() if query.geo is not None else None
    if box is not None and query.geoproperty == LOCATION:
        min_lon, min_lat, max_lon, max_lat = box
        span = session.scalar(
            select(func.max(NgsiEntity.lat_span)).where(NgsiEntity.tenant == tenant)
        )
        statement = statement.where(
            NgsiEntity.min_lat.between(min_lat - (span or 0.0), max_lat),
            NgsiEntity.max_lat >= min_lat,
            NgsiEntity.min_lon <= max_lon,
            NgsiEntity.max_lon >= min_lon,
        )
    statement = statement.order_by(NgsiEntity.id)
    in_python = (
        query.q is not None
        or query.geo is not None
        or bool(query.attrs)
        or query.id_pattern is not None
    )
    if not in_python:
        total = None
        if query.count:
            total = session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = list(session.scalars(statement.offset(query.offset).limit(query.limit)))
        return rows, total
    matched: list[NgsiEntity] = []
    seen = 0
    wanted = query.offset + query.limit
    for row in session.scalars(statement.execution_options(yield_per=500)):
        if not matches(row, query, active):
            continue
        if query.offset <= seen < wanted:
            matched.append(row)
        seen += 1
        if seen >= wanted and not query.count:
            break
    return matched, (seen if query.count else None)


def matches(row: NgsiEntity, query: EntityQuery, active: ActiveContext) -> bool:
    if query.id_pattern is not None and not query.id_pattern.search(row.entity_id):
        return False
    attrs = row.attrs or {}
    if query.attrs and not any(iri in attrs for iri in query.attrs):
        return False
    if query.geo is not None:
        geo = query.geo
        point_like = (
            query.geoproperty == LOCATION
            and geo.relation == "near"
            and row.min_lat is not None
            and row.min_lat == row.max_lat
            and row.min_lon == row.max_lon
        )
        if point_like:
            # A point location: distance straight from the indexed columns, no shapely.
            origin = geo.geometry
            distance = haversine(origin.x, origin.y, float(row.min_lon), float(row.min_lat))  # type: ignore[attr-defined,arg-type]
            if geo.max_distance is not None and distance > geo.max_distance:
                return False
            if geo.min_distance is not None and distance < geo.min_distance:
                return False
        elif not evaluate_georel(geo, attrs, query.geoproperty):
            return False
    return query.q is None or evaluate_q(query.q, attrs, active.expand)


# --- types and attributes ---------------------------------------------------------------------


def _rows(session: Session, tenant: str, type_iri: str | None = None) -> Iterable[Any]:
    statement = select(NgsiEntity.type, NgsiEntity.types, NgsiEntity.attrs).where(
        NgsiEntity.tenant == tenant
    )
    if type_iri is not None:
        statement = statement.where(NgsiEntity.type == type_iri)
    return session.execute(statement.execution_options(yield_per=1000))


def list_types(session: Session, tenant: str) -> list[str]:
    require_tenant(session, tenant)
    return list(
        session.scalars(
            select(NgsiEntity.type)
            .where(NgsiEntity.tenant == tenant)
            .distinct()
            .order_by(NgsiEntity.type)
        )
    )


def type_details(session: Session, tenant: str) -> dict[str, dict[str, Any]]:
    """Per expanded type: entity count and {attribute IRI: set of attribute types}."""
    require_tenant(session, tenant)
    details: dict[str, dict[str, Any]] = {}
    for type_iri, _types, attrs in _rows(session, tenant):
        entry = details.setdefault(type_iri, {"count": 0, "attributes": {}})
        entry["count"] += 1
        for iri, attribute in (attrs or {}).items():
            kinds = entry["attributes"].setdefault(iri, set())
            for instance in attribute if isinstance(attribute, list) else [attribute]:
                if isinstance(instance, dict):
                    kinds.add(instance.get("type", "Property"))
    return details


def attribute_details(session: Session, tenant: str) -> dict[str, dict[str, Any]]:
    """Per expanded attribute: how many entities have it, its types, and the entity types."""
    require_tenant(session, tenant)
    details: dict[str, dict[str, Any]] = {}
    for type_iri, _types, attrs in _rows(session, tenant):
        for iri, attribute in (attrs or {}).items():
            entry = details.setdefault(iri, {"count": 0, "kinds": set(), "types": set()})
            entry["count"] += 1
            entry["types"].add(type_iri)
            for instance in attribute if isinstance(attribute, list) else [attribute]:
                if isinstance(instance, dict):
                    entry["kinds"].add(instance.get("type", "Property"))
    return details


# --- device projection ------------------------------------------------------------------------


def apply_device_readings(session: Session, device: Device, readings: Sequence[Any]) -> None:
    """Project one device message's freshly stored readings; see ``apply_device_batch``."""
    apply_device_batch(session, [(device, readings)])


def apply_device_batch(session: Session, messages: Sequence[tuple[Device, Sequence[Any]]]) -> None:
    """Project freshly stored readings onto their devices' entities (default tenant).

    A batch of messages costs one read of the entities it touches, one update per entity
    and one change event per entity, whatever the number of messages; a value only ever
    moves forward in time, so late messages never roll an entity back."""
    per_device: dict[str, tuple[Device, list[Any]]] = {}
    for device, readings in messages:
        if readings:
            per_device.setdefault(device.device_id, (device, []))[1].extend(readings)
    if not per_device:
        return
    entity_ids = [device.entity_id for device, _ in per_device.values()]
    rows = {
        row.entity_id: row
        for row in session.scalars(
            select(NgsiEntity)
            .where(NgsiEntity.tenant == DEFAULT_TENANT, NgsiEntity.entity_id.in_(entity_ids))
            .order_by(NgsiEntity.entity_id)
            .with_for_update()  # an API write may be changing the same entity
        )
    }
    core = contexts.core()
    missing = [device for device, _ in per_device.values() if device.entity_id not in rows]
    if missing:
        codes = {device.profile_code for device in missing}
        types = {
            profile.code: profile.entity_type
            for profile in session.scalars(
                select(DeviceProfile).where(DeviceProfile.code.in_(codes))
            )
        }
        now = utcnow()
        for device in missing:
            type_iri = core.expand(types.get(device.profile_code, "Device"))
            row = NgsiEntity(
                tenant=DEFAULT_TENANT,
                entity_id=device.entity_id,
                type=type_iri,
                types=[type_iri],
                attrs={},
                created_at=now,
                modified_at=now,
            )
            session.add(row)
            rows[device.entity_id] = row
        session.flush()  # the new rows' ids name their change events
    stamp = now_iso()
    now = utcnow()
    changes: list[tuple[NgsiEntity, set[str]]] = []
    for device, readings in per_device.values():
        row = rows[device.entity_id]
        attrs = dict(row.attrs or {})
        changed = _project_readings(attrs, device, readings, core, stamp)
        if changed:
            row.attrs = attrs
            row.modified_at = now
            _place(row)
            changes.append((row, changed))
    session.flush()
    if changes:
        # One event for the whole batch: under load a batch touches hundreds of entities, and
        # an event each would queue hundreds of relay deliveries per commit.
        touched = [
            EntityChange(entity_id=row.entity_id, type=row.type, attributes=sorted(changed))
            for row, changed in changes
        ]
        emit(
            session,
            EntitiesChanged(tenant=DEFAULT_TENANT, changes=touched, row_id=changes[0][0].id),
        )


def _project_readings(
    attrs: dict[str, Any],
    device: Device,
    readings: Sequence[Any],
    core: ActiveContext,
    stamp: str,
) -> set[str]:
    """Write ``readings`` (and the device's position) into ``attrs``; the names changed."""
    changed: set[str] = set()
    for reading in readings:
        iri = core.expand(reading.attribute)
        observed = reading.observed_at
        current = attrs.get(iri)
        if isinstance(current, dict) and current.get("observedAt"):
            try:
                previous = datetime.fromisoformat(current["observedAt"].replace("Z", "+00:00"))
            except ValueError:
                previous = None
            if previous is not None and previous >= observed:
                continue
        instance: dict[str, Any] = {
            "type": "Property",
            "value": reading.value,
            "observedAt": iso(observed),
            "createdAt": current.get("createdAt", stamp) if isinstance(current, dict) else stamp,
            "modifiedAt": stamp,
        }
        code = unit_code(reading.unit)
        if code:
            instance["unitCode"] = code
        attrs[iri] = instance
        changed.add(iri)
    if device.lat is not None and device.lon is not None:
        value = {"type": "Point", "coordinates": [device.lon, device.lat]}
        current = attrs.get(LOCATION)
        if not isinstance(current, dict) or current.get("value") != value:
            attrs[LOCATION] = {
                "type": "GeoProperty",
                "value": value,
                "createdAt": stamp,
                "modifiedAt": stamp,
            }
            changed.add(LOCATION)
    return changed
