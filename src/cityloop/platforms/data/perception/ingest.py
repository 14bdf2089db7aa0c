"""Device messages in: authenticate by api key, find (or auto-provision) the device, decode with
its profile's codec and store the readings. Every rejection is a precise Problem and a counter."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.base.problems import Problem
from cityloop.platforms.data.perception import rule_evaluation, service
from cityloop.platforms.data.perception.codecs import CodecError, Reading, get_codec
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device, DeviceProfile, ProvisioningGroup
from cityloop.platforms.data.perception.ngsild import devices as ngsild_devices
from cityloop.platforms.data.perception.telemetry import StoredReading, as_utc, store_batch

MAX_ATTRIBUTE_LENGTH = 200
MAX_UNIT_LENGTH = 40
# Readings dated before this year, or more than MAX_FUTURE ahead of the platform's clock, are
# refused: a device with a broken clock must not rewrite history or freeze its latest value.
EARLIEST_YEAR = 1970
MAX_FUTURE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IngestResult:
    device_id: str
    entity_id: str
    stored: int
    duplicates: int


def _reject(status: int, reason: str, detail: str | Message, field: str) -> Problem:
    metrics.INGEST_REJECTED.inc(reason=reason)
    return Problem(status, reason, detail, field=field)


@dataclass(frozen=True, slots=True)
class DeviceMessage:
    """One message as a device sent it: its api key, its id and the raw payload."""

    apikey: str
    device_id: str
    payload: bytes
    content_type: str | None = None
    # When the platform received it (MQTT: when it came off the wire); None means now.
    received_at: datetime | None = None


def known_apikeys(session: Session, *, apikeys: set[str]) -> set[str]:
    """The api keys among these that name a provisioning group."""
    # Checked in a read transaction before a request takes the (single, on SQLite) writer, so a
    # flood of bad keys never holds it.
    wanted = {key for key in apikeys if key}
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(ProvisioningGroup.apikey).where(ProvisioningGroup.apikey.in_(wanted))
        )
    )


def unknown_apikey() -> Problem:
    """The 401 for a message whose api key names no provisioning group."""
    return _reject(401, "invalid-api-key", "no provisioning group has this api key", "k")


def ingest_measure(
    session: Session,
    *,
    apikey: str,
    device_id: str,
    payload: bytes,
    content_type: str | None = None,
    received_at: datetime | None = None,
) -> IngestResult:
    """Decode and store one device message; a rejection raises its Problem."""
    message = DeviceMessage(apikey, device_id, payload, content_type, received_at)
    outcome = ingest_batch(session, messages=[message])[0]
    if isinstance(outcome, Problem):
        raise outcome
    return outcome


def ingest_batch(
    session: Session,
    *,
    messages: Sequence[DeviceMessage],
) -> list[IngestResult | Problem]:
    """Decode and store many device messages; one outcome per message, in order."""
    # The registry is read once for the whole batch and the readings are written in a few bulk
    # statements. A rejected message writes nothing (decoding happens before any write), so the
    # others need no savepoint; only auto-provisioning, which does write, gets one of its own. The
    # codec is the device profile's; ``content_type`` is informational, since a profile fixes the
    # payload format for all its devices.
    apikeys = {message.apikey for message in messages if message.apikey}
    groups = {
        group.apikey: group
        for group in session.scalars(
            select(ProvisioningGroup).where(ProvisioningGroup.apikey.in_(apikeys))
        )
    }
    device_ids = {message.device_id for message in messages if message.device_id}
    # Locked (in a fixed order, so two batches cannot deadlock): a device's rule states, alarms
    # and entity are read-modify-write, and on PostgreSQL two batches could interleave on them.
    # SQLite's single writer already serialises batches; there this is a plain read.
    devices = {
        device.device_id: device
        for device in session.scalars(
            select(Device)
            .where(Device.device_id.in_(device_ids))
            .order_by(Device.device_id)
            .with_for_update()
        )
    }
    profile_codes = {group.profile_code for group in groups.values()}
    profile_codes |= {device.profile_code for device in devices.values()}
    profiles = {
        profile.code: profile
        for profile in session.scalars(
            select(DeviceProfile).where(DeviceProfile.code.in_(profile_codes))
        )
    }
    outcomes: list[IngestResult | Problem | None] = [None] * len(messages)
    accepted: list[tuple[int, Device, list[Reading], datetime]] = []
    last_received: dict[str, datetime] = {}
    now = utcnow()
    for index, message in enumerate(messages):
        try:
            group, device = _authorise(message, groups, devices)
            profile = profiles[device.profile_code if device else group.profile_code]
            readings = _decode(message, profile, now)
            # Provisioned only now: a message refused for its payload creates nothing.
            device = device or _provision(session, message, group, devices)
        except Problem as exc:
            outcomes[index] = exc
            continue
        # Untimed readings take the arrival time, which must be distinct per message of a
        # device, or two messages of one batch would collapse into one reading.
        received = message.received_at or utcnow()
        previous = last_received.get(device.device_id)
        if previous is not None and received <= previous:
            received = previous + timedelta(microseconds=1)
        last_received[device.device_id] = received
        accepted.append((index, device, readings, received))
    stored = store_batch(
        session,
        messages=[(device, readings, received) for _, device, readings, received in accepted],
    )
    # What follows a stored reading, in order: the entity projection, then the rules.
    projected = zip((device for _, device, _, _ in accepted), stored, strict=True)
    ngsild_devices.apply_device_batch(
        session, messages=[(device, result.readings) for device, result in projected]
    )
    # The rules once per device, over its messages' readings in arrival order: the same
    # outcome as message by message, for one rule-state read per device, not per message.
    per_device: dict[str, tuple[Device, list[StoredReading]]] = {}
    for (_, device, _, _), result in zip(accepted, stored, strict=True):
        per_device.setdefault(device.device_id, (device, []))[1].extend(result.readings)
    for device, readings in per_device.values():
        rule_evaluation.evaluate_readings(session, device=device, readings=readings)
    total = 0
    for (index, device, _readings, _received), result in zip(accepted, stored, strict=True):
        outcomes[index] = IngestResult(
            device.device_id, device.entity_id, result.stored, result.duplicates
        )
        total += result.stored
    metrics.INGEST_READINGS.inc_on_commit(session, total)
    return [outcome for outcome in outcomes if outcome is not None]


def _authorise(
    message: DeviceMessage,
    groups: dict[str, ProvisioningGroup],
    devices: dict[str, Device],
) -> tuple[ProvisioningGroup, Device | None]:
    """The message's group and device; no device means its group provisions it on arrival."""
    group = groups.get(message.apikey) if message.apikey else None
    if group is None:
        raise unknown_apikey()
    device_id = message.device_id
    if not device_id:
        raise _reject(400, "unknown-device", "name the device with the i parameter", "i")
    device = devices.get(device_id)
    if device is None:
        if not group.auto_provision:
            raise _reject(404, "unknown-device", f"device {device_id!r} is not registered", "i")
        return group, None
    if device.group_id != group.id:
        raise _reject(
            403, "wrong-group", f"device {device_id!r} does not belong to this api key", "i"
        )
    if not device.active:
        raise _reject(403, "inactive-device", f"device {device_id!r} is deactivated", "i")
    return group, device


def _provision(
    session: Session,
    message: DeviceMessage,
    group: ProvisioningGroup,
    devices: dict[str, Device],
) -> Device:
    try:
        with session.begin_nested():
            device = service.create_device(session, device_id=message.device_id, group=group)
    except Problem as exc:
        raise _reject(exc.status, "unknown-device", exc.detail, "i") from exc
    devices[message.device_id] = device
    return device


def _decode(message: DeviceMessage, profile: DeviceProfile, now: datetime) -> list[Reading]:
    try:
        codec = get_codec(profile.codec)
        readings = list(
            codec.decode(message.payload, device_id=message.device_id, config=profile.codec_config)
        )
    except CodecError as exc:
        reason = "out-of-range" if exc.reason == "out_of_range" else "malformed-payload"
        raise _reject(400, reason, exc.detail, exc.field) from exc
    except (ValueError, OverflowError, RecursionError) as exc:
        # A number too long for int(), a nesting too deep for json: the payload's fault.
        raise _reject(
            400, "malformed-payload", f"the payload cannot be read: {exc}"[:300], "payload"
        ) from exc
    if not readings:
        raise _reject(400, "malformed-payload", "the payload holds no measures", "payload")
    return [_checked(reading, now) for reading in readings]


def _checked(reading: Reading, now: datetime) -> Reading:
    """A reading the store can hold: a sane time, a finite number, text without NUL."""
    name = reading.attribute
    if len(name) > MAX_ATTRIBUTE_LENGTH:
        raise _reject(400, "malformed-payload", "an attribute name is too long", name[:60])
    if reading.unit is not None and len(reading.unit) > MAX_UNIT_LENGTH:
        raise _reject(400, "malformed-payload", "a unit is too long", name)
    if reading.observed_at is not None:
        try:
            moment = as_utc(reading.observed_at)
        except OverflowError as exc:
            raise _reject(400, "bad-timestamp", "the timestamp is out of range", name) from exc
        if moment.year < EARLIEST_YEAR:
            raise _reject(400, "bad-timestamp", f"the timestamp is before {EARLIEST_YEAR}", name)
        if moment > now + MAX_FUTURE:
            # A clock far ahead would freeze the latest value: newest wins, for ever.
            raise _reject(400, "bad-timestamp", "the timestamp is in the future", name)
    value = reading.value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError as exc:
            raise _reject(400, "out-of-range", "the number is too large", name) from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise _reject(400, "out-of-range", "the number is not finite", name)
    if isinstance(value, str) and "\x00" in value:
        raise _reject(400, "malformed-payload", "text may not hold NUL characters", name)
    return reading
