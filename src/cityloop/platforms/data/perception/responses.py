"""Answers of the device registry, ingest, telemetry, rule and alarm routes, with their builders."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cityloop.base.contracts import Answer, JsonObject, Timestamp
from cityloop.base.db import iso, utcnow
from cityloop.platforms.data.perception.alarm_models import Alarm as AlarmRow
from cityloop.platforms.data.perception.alarm_models import AlarmRule as RuleRow
from cityloop.platforms.data.perception.alarms import ACTIVE, ACTIVE_ACK, CLEARED_ACK, STATUSES
from cityloop.platforms.data.perception.device_queries import STATES, ListedDevice, device_state
from cityloop.platforms.data.perception.models import Device as DeviceRow
from cityloop.platforms.data.perception.models import DeviceProfile, ProvisioningGroup
from cityloop.platforms.data.perception.rule_logic import KINDS, SEVERITIES

Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
AlarmStatus = Literal[STATUSES]  # type: ignore[valid-type]
RuleKind = Literal[KINDS]  # type: ignore[valid-type]
DeviceState = Literal[STATES]  # type: ignore[valid-type]

# ------------------------------------------------------------------ the registry


class Profile(Answer):
    code: str
    name: str
    name_zh: str = Field(default="", description="the profile's name in Chinese")
    entity_type: str
    codec: str
    codec_config: JsonObject
    created_at: Timestamp


class Group(Answer):
    id: int
    apikey: str
    resource: str
    profile_code: str
    auto_provision: bool
    name: str
    name_zh: str = ""
    created_at: Timestamp


class Device(Answer):
    device_id: str
    group_id: int
    profile_code: str
    entity_id: str
    name: str
    name_zh: str = Field(default="", description="the device's name in Chinese")
    lat: float | None
    lon: float | None
    attributes: JsonObject
    active: bool
    created_at: Timestamp
    last_seen_at: Timestamp | None
    state: DeviceState = Field(
        description="online (reported within the last two hours), offline or never_seen"
    )


class DeviceListItem(Device):
    """A device on the list, with what the list shows besides the registry's fields."""

    battery: float | None = Field(description="the latest batteryLevel, 0..1, if it reports one")
    district_code: str | None = Field(description="the district its point falls in, if any")


class DevicePage(Answer):
    items: list[DeviceListItem]
    total: int
    offset: int
    limit: int


class ImportRowError(Answer):
    row: int = Field(description="the CSV line (the header is line 1)")
    field: str
    message: str


class ImportAnswer(Answer):
    created: int
    errors: list[ImportRowError]


def profile_out(profile: DeviceProfile) -> Profile:
    return Profile(
        code=profile.code,
        name=profile.name,
        name_zh=profile.name_zh,
        entity_type=profile.entity_type,
        codec=profile.codec,
        codec_config=profile.codec_config,
        created_at=iso(profile.created_at),
    )


def group_out(group: ProvisioningGroup) -> Group:
    return Group(
        id=group.id,
        apikey=group.apikey,
        resource=group.resource,
        profile_code=group.profile_code,
        auto_provision=group.auto_provision,
        name=group.name,
        name_zh=group.name_zh,
        created_at=iso(group.created_at),
    )


def device_out(device: DeviceRow) -> Device:
    return Device(
        device_id=device.device_id,
        group_id=device.group_id,
        profile_code=device.profile_code,
        entity_id=device.entity_id,
        name=device.name,
        name_zh=device.name_zh,
        lat=device.lat,
        lon=device.lon,
        attributes=device.attributes,
        active=device.active,
        created_at=iso(device.created_at),
        last_seen_at=iso(device.last_seen_at),
        state=device_state(device.last_seen_at, now=utcnow()),
    )


def device_row_out(listed: ListedDevice) -> DeviceListItem:
    fields = device_out(listed.device).model_dump() | {"state": listed.state}
    return DeviceListItem(
        **fields,
        battery=listed.battery,
        district_code=listed.district_code,
    )


# ------------------------------------------------------------------ ingest and telemetry


class Stored(Answer):
    stored: int
    duplicates: int = Field(description="readings already stored (same device, attribute, time)")


class BatchStored(Answer):
    index: int
    ok: Literal[True]
    stored: int
    duplicates: int


class BatchRejected(Answer):
    index: int
    ok: Literal[False]
    status: int
    field: str | None
    detail: str


class BatchAnswer(Answer):
    results: list[BatchStored | BatchRejected] = Field(description="one per item, by index")


class LatestValue(Answer):
    value: Any
    unit: str | None
    observed_at: Timestamp


class LatestValues(Answer):
    device_id: str
    entity_id: str
    last_seen_at: Timestamp | None
    attributes: dict[str, LatestValue]


class Measurement(Answer):
    attribute: str
    value: float | str | None
    unit: str | None
    observed_at: Timestamp


class Measurements(Answer):
    device_id: str
    entity_id: str
    items: list[Measurement]


class Rollup(Answer):
    hour: Timestamp
    count: int
    min: float
    max: float
    sum: float
    unit: str | None
    avg: float


class Rollups(Answer):
    device_id: str
    entity_id: str
    attribute: str
    items: list[Rollup]


# ------------------------------------------------------------------ rules and alarms


class Rule(Answer):
    id: int
    name: str
    name_zh: str = Field(default="", description="the rule's name in Chinese")
    profile_code: str | None
    entity_type: str | None
    kind: RuleKind
    definition: JsonObject
    alarm_type: str
    severity: Severity
    category_code: str | None
    case_attributes: JsonObject
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp


class Alarm(Answer):
    id: int
    originator: str = Field(description="the device id")
    entity_id: str
    type: str
    severity: Severity
    status: AlarmStatus
    active: bool
    acknowledged: bool
    rule_id: int | None
    started_at: Timestamp
    last_seen_at: Timestamp
    ended_at: Timestamp | None
    acked_at: Timestamp | None
    acked_by: str | None
    cleared_by: str | None
    count: int
    details: JsonObject
    category_code: str | None
    case_id: int | None


class AlarmPage(Answer):
    items: list[Alarm]
    total: int
    offset: int
    limit: int


def rule_out(rule: RuleRow) -> Rule:
    return Rule(
        id=rule.id,
        name=rule.name,
        name_zh=rule.name_zh,
        profile_code=rule.profile_code,
        entity_type=rule.entity_type,
        kind=rule.kind,
        definition=rule.definition,
        alarm_type=rule.alarm_type,
        severity=rule.severity,
        category_code=rule.category_code,
        case_attributes=rule.case_attributes,
        enabled=rule.enabled,
        created_at=iso(rule.created_at),
        updated_at=iso(rule.updated_at),
    )


def alarm_out(alarm: AlarmRow) -> Alarm:
    return Alarm(
        id=alarm.id,
        originator=alarm.originator_id,
        entity_id=alarm.entity_id,
        type=alarm.type,
        severity=alarm.severity,
        status=alarm.status,
        active=alarm.status in ACTIVE,
        acknowledged=alarm.status in (ACTIVE_ACK, CLEARED_ACK),
        rule_id=alarm.rule_id,
        started_at=iso(alarm.started_at),
        last_seen_at=iso(alarm.last_seen_at),
        ended_at=iso(alarm.ended_at),
        acked_at=iso(alarm.acked_at),
        acked_by=alarm.acked_by,
        cleared_by=alarm.cleared_by,
        count=alarm.count,
        details=alarm.details,
        category_code=alarm.category_code,
        case_id=alarm.case_id,
    )
