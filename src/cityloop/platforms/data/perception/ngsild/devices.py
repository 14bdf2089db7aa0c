"""Devices as entities: each batch of freshly stored device readings is projected onto the
devices' entities in the default tenant, with one change event for the whole batch.

The rows are read and written through the driver (one locked read, one ``executemany`` update,
one insert for new entities), never as ORM objects: at hundreds of entities a batch, the ORM's
per-object bookkeeping was ingest's largest cost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from cityloop.base.bulk import driver_statement, execute_many
from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.platforms.data.perception.events import EntitiesChanged, EntityChange
from cityloop.platforms.data.perception.models import Device, DeviceProfile
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import LOCATION, iso, now_iso
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.rows import LOCATION_COLUMNS, location_columns
from cityloop.platforms.data.perception.ngsild.tenants import DEFAULT_TENANT

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
    """The UN/CEFACT code of a codec unit; an unknown unit stands for itself."""
    if unit is None or not unit.strip():
        return None
    return UNIT_CODES.get(unit.strip().lower(), unit.strip())


def apply_device_batch(
    session: Session, *, messages: Sequence[tuple[Device, Sequence[Any]]]
) -> None:
    """Project freshly stored readings onto their devices' entities (default tenant)."""
    # A batch of messages costs one read of the entities it touches, one executemany of their
    # updates, one insert of new ones and one change event for the batch, whatever the number of
    # messages; a value only ever moves forward in time, so late messages never roll it back.
    per_device: dict[str, tuple[Device, list[Any]]] = {}
    for device, readings in messages:
        if readings:
            per_device.setdefault(device.device_id, (device, []))[1].extend(readings)
    if not per_device:
        return
    # Entity changes the session still holds (an API write earlier in this transaction) first.
    session.flush()
    connection = session.connection()
    table = NgsiEntity.__table__
    found = {
        entity_id: (row_id, type_iri, attrs)
        for row_id, entity_id, type_iri, attrs in connection.execute(
            select(table.c.id, table.c.entity_id, table.c.type, table.c.attrs)
            .where(
                table.c.tenant == DEFAULT_TENANT,
                table.c.entity_id.in_([device.entity_id for device, _ in per_device.values()]),
            )
            .order_by(table.c.entity_id)
            .with_for_update()  # an API write may be changing the same entity
        )
    }
    core = contexts.core()
    missing = [device for device, _ in per_device.values() if device.entity_id not in found]
    types = _profile_types(connection, missing) if missing else {}
    created_at = utcnow()
    stamp = now_iso()
    now = utcnow()
    times: dict[datetime, str] = {}  # observedAt texts: a message's readings share a time
    changes: list[tuple[str, str, set[str]]] = []  # entity id, type, attributes changed
    updates: list[tuple[Any, ...]] = []  # values in _UPDATED order
    placed: list[tuple[Any, ...]] = []  # values in _PLACED order
    new: list[tuple[Any, ...]] = []  # values in _INSERTED order
    for device, readings in per_device.values():
        known = found.get(device.entity_id)
        attrs = dict(known[2] or {}) if known is not None else {}
        changed = _project_readings(attrs, device, readings, core, stamp, times)
        if known is None:
            type_iri = core.expand(types.get(device.profile_code, "Device"))
            where = location_columns(attrs)
            new.append(
                (
                    DEFAULT_TENANT,
                    device.entity_id,
                    type_iri,
                    [type_iri],
                    attrs,
                    *(where[name] for name in LOCATION_COLUMNS),
                    created_at,
                    now if changed else created_at,
                )
            )
        elif changed:
            type_iri = known[1]
            if LOCATION in changed:  # a geometry per entity per batch costs more than the rest
                where = location_columns(attrs)
                placed.append((known[0], attrs, now, *(where[name] for name in LOCATION_COLUMNS)))
            else:
                updates.append((known[0], attrs, now))
        else:
            continue
        changes.append((device.entity_id, type_iri, changed))
    dialect = connection.dialect
    execute_many(connection, _statement("updated", dialect, _UPDATED), updates)
    execute_many(connection, _statement("placed", dialect, _PLACED), placed)
    execute_many(connection, _statement("inserted", dialect, _INSERTED), new)
    _expire_loaded(
        session, [found[entity_id][0] for entity_id, _, _ in changes if entity_id in found]
    )
    if changes:
        # One event for the whole batch: under load a batch touches hundreds of entities, and
        # an event each would queue hundreds of relay deliveries per commit.
        first = changes[0][0]
        row_id = found[first][0] if first in found else _row_id(connection, first)
        touched = [
            EntityChange(entity_id=entity_id, type=type_iri, attributes=sorted(changed))
            for entity_id, type_iri, changed in changes
        ]
        emit(session, EntitiesChanged(tenant=DEFAULT_TENANT, changes=touched, row_id=row_id))


_UPDATED = ("row_id", "attrs", "modified_at")
_PLACED = (*_UPDATED, *LOCATION_COLUMNS)
_INSERTED = (
    "tenant",
    "entity_id",
    "type",
    "types",
    "attrs",
    *LOCATION_COLUMNS,
    "created_at",
    "modified_at",
)


def _statement(shape: str, dialect: Dialect, columns: tuple[str, ...]) -> Any:
    """The driver statement of one write shape: an update by row id, or the insert."""
    table = NgsiEntity.__table__

    def build(_: Dialect) -> Any:
        if shape == "inserted":
            return insert(table).values({name: bindparam(name) for name in columns})
        return (
            update(table)
            .where(table.c.id == bindparam("row_id", type_=Integer()))
            .values({name: bindparam(name) for name in columns[1:]})
        )

    return driver_statement(f"ngsild-device-{shape}", dialect, table, columns, build)


def _profile_types(connection: Connection, devices: list[Device]) -> dict[str, str]:
    """The entity type of each of these devices' profiles, by profile code."""
    profiles = DeviceProfile.__table__
    codes = {device.profile_code for device in devices}
    return dict(
        connection.execute(
            select(profiles.c.code, profiles.c.entity_type).where(profiles.c.code.in_(codes))
        ).all()
    )


def _row_id(connection: Connection, entity_id: str) -> int:
    """The row id of an entity of the default tenant (one just inserted)."""
    table = NgsiEntity.__table__
    return int(
        connection.execute(
            select(table.c.id).where(
                table.c.tenant == DEFAULT_TENANT, table.c.entity_id == entity_id
            )
        ).scalar_one()
    )


def _expire_loaded(session: Session, row_ids: list[int]) -> None:
    """Entity objects this session already holds are stale once their rows are written."""
    loaded = session.identity_map
    for row_id in row_ids:
        row = loaded.get(identity_key(NgsiEntity, row_id))
        if row is not None:
            session.expire(row)


def _project_readings(
    attrs: dict[str, Any],
    device: Device,
    readings: Sequence[Any],
    core: ActiveContext,
    stamp: str,
    times: dict[datetime, str],
) -> set[str]:
    """Write ``readings`` (and the device's position) into ``attrs``; the names changed."""
    # Only each attribute's newest reading can end up on the entity (an earlier one of the same
    # batch is overwritten by it), so the stored value is compared once per attribute, not once
    # per reading; on equal times the first reading wins, as it would one by one.
    newest: dict[str, Any] = {}
    for reading in readings:
        iri = core.expand(reading.attribute)
        known = newest.get(iri)
        if known is None or reading.observed_at > known.observed_at:
            newest[iri] = reading
    changed: set[str] = set()
    for iri, reading in newest.items():
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
            "observedAt": times.get(observed) or times.setdefault(observed, iso(observed)),
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
