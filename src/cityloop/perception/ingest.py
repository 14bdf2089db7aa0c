"""Device messages in: authenticate by api key, find (or auto-provision) the device, decode with
its profile's codec and store the readings. Every rejection is a precise Problem and a counter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.base.problems import Problem
from cityloop.perception import service
from cityloop.perception.codecs import CodecError, get_codec
from cityloop.perception.models import Device
from cityloop.perception.ngsild import service as ngsild
from cityloop.perception.telemetry import store_readings

MAX_ATTRIBUTE_LENGTH = 200
MAX_UNIT_LENGTH = 40


@dataclass(frozen=True, slots=True)
class IngestResult:
    device_id: str
    entity_id: str
    stored: int
    duplicates: int


def _reject(status: int, reason: str, detail: str, field: str) -> Problem:
    metrics.INGEST_REJECTED.inc(reason=reason)
    return Problem(status, reason, detail, field=field)


def ingest_measure(
    session: Session,
    apikey: str,
    device_id: str,
    payload: bytes,
    content_type: str | None = None,
    *,
    received_at: datetime | None = None,
) -> IngestResult:
    """Decode and store one device message.

    The codec is the device profile's; ``content_type`` is informational, since a profile
    fixes the payload format for all its devices.
    """
    group = service.group_by_apikey(session, apikey) if apikey else None
    if group is None:
        raise _reject(401, "invalid-api-key", "no provisioning group has this api key", "k")
    if not device_id:
        raise _reject(400, "unknown-device", "name the device with the i parameter", "i")
    device = session.get(Device, device_id)
    if device is None:
        if not group.auto_provision:
            raise _reject(404, "unknown-device", f"device {device_id!r} is not registered", "i")
        try:
            with session.begin_nested():
                device = service.create_device(session, device_id=device_id, group=group)
        except Problem as exc:
            raise _reject(exc.status, "unknown-device", exc.detail, "i") from exc
    if device.group_id != group.id:
        raise _reject(
            403, "wrong-group", f"device {device_id!r} does not belong to this api key", "i"
        )
    if not device.active:
        raise _reject(403, "inactive-device", f"device {device_id!r} is deactivated", "i")
    profile = service.get_profile(session, device.profile_code)
    try:
        codec = get_codec(profile.codec)
        readings = codec.decode(payload, device_id=device.device_id, config=profile.codec_config)
    except CodecError as exc:
        reason = "out-of-range" if exc.reason == "out_of_range" else "malformed-payload"
        raise _reject(400, reason, str(exc), exc.field) from exc
    if not readings:
        raise _reject(400, "malformed-payload", "the payload holds no measures", "payload")
    for reading in readings:
        if len(reading.attribute) > MAX_ATTRIBUTE_LENGTH:
            raise _reject(
                400, "malformed-payload", "an attribute name is too long", reading.attribute[:60]
            )
        if reading.unit is not None and len(reading.unit) > MAX_UNIT_LENGTH:
            raise _reject(400, "malformed-payload", "a unit is too long", reading.attribute)
    result = store_readings(session, device, readings, received_at or utcnow())
    # What follows a stored reading, in order: the entity projection, then the rules.
    if result.readings:
        ngsild.apply_device_readings(session, device, result.readings)
    metrics.INGEST_READINGS.inc(result.stored)
    return IngestResult(device.device_id, device.entity_id, result.stored, result.duplicates)
