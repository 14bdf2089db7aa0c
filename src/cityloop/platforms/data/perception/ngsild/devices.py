"""Devices as entities: each batch of freshly stored device readings is projected onto the
devices' entities in the default tenant, with one change event for the whole batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.platforms.data.perception.events import EntitiesChanged, EntityChange
from cityloop.platforms.data.perception.models import Device, DeviceProfile
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import LOCATION, iso, now_iso
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.rows import place
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
    # A batch of messages costs one read of the entities it touches, one update per entity and one
    # change event for the batch, whatever the number of messages; a value only ever moves forward
    # in time, so late messages never roll an entity back.
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
        rows.update(_new_rows(session, missing, core))
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
            if LOCATION in changed:  # a geometry per entity per batch costs more than the rest
                place(row)
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


def _new_rows(
    session: Session, devices: list[Device], core: ActiveContext
) -> dict[str, NgsiEntity]:
    """Empty entities for devices that have none yet, typed by their profiles."""
    codes = {device.profile_code for device in devices}
    types = {
        profile.code: profile.entity_type
        for profile in session.scalars(select(DeviceProfile).where(DeviceProfile.code.in_(codes)))
    }
    now = utcnow()
    rows: dict[str, NgsiEntity] = {}
    for device in devices:
        type_iri = core.expand(types.get(device.profile_code, "Device"))
        rows[device.entity_id] = NgsiEntity(
            tenant=DEFAULT_TENANT,
            entity_id=device.entity_id,
            type=type_iri,
            types=[type_iri],
            attrs={},
            created_at=now,
            modified_at=now,
        )
    session.add_all(rows.values())
    session.flush()  # the new rows' ids name their change events
    return rows


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
