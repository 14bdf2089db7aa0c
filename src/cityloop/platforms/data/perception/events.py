"""The events perception emits about devices and alarms. Payloads carry ids, codes and
positions only."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from cityloop.base.events import Event


class DeviceChanged(Event):
    """The device registry changed: a device was registered (by hand, by import or by
    auto-provisioning), deactivated, reactivated or deleted."""

    type: ClassVar[str] = "perception.device.changed"
    aggregate: ClassVar[str] = "device"
    aggregate_field: ClassVar[str] = "device_id"

    device_id: str
    change: Literal["registered", "deactivated", "activated", "deleted"]


class AlarmEvent(Event):
    aggregate: ClassVar[str] = "alarm"
    aggregate_field: ClassVar[str] = "alarm_id"

    alarm_id: int
    device_id: str
    alarm_type: str = Field(alias="type")  # such as MANHOLE_OPEN


class AlarmRaised(AlarmEvent):
    """A new alarm (not a repeat of an open one); a bridge files a case when it names a
    category."""

    type: ClassVar[str] = "perception.alarm.raised"

    entity_id: str | None
    severity: str
    category: str | None
    lat: float | None
    lon: float | None
    started_at: str
    case_attributes: dict[str, Any] = {}


class AlarmCleared(AlarmEvent):
    """An alarm ended: ``automatic`` when the device reported normal again, else an
    operator's clear."""

    type: ClassVar[str] = "perception.alarm.cleared"

    case_id: int | None
    automatic: bool
    ended_at: str


class AlarmAcknowledged(AlarmEvent):
    """An operator acknowledged an alarm (its condition may still hold)."""

    type: ClassVar[str] = "perception.alarm.acknowledged"

    acked_at: str


class EntityChange(BaseModel):
    """One entity of a change: its id, its type (an expanded IRI) and the attributes written.

    ``previous`` holds the written attributes' former instances (absent: the attribute is new;
    None: not recorded, as for device readings), ``removed`` the attributes the write deleted and
    ``created`` marks a new entity, so subscriptions can tell their notification triggers apart
    and show changes. ``removed_datasets`` names the instances (by datasetId, None for the
    default one) a write deleted from attributes it kept; a deleted entity carries its stamps."""

    entity_id: str
    type: str
    attributes: list[str] = []
    previous: dict[str, Any] | None = None
    removed: list[str] = []
    created: bool = False
    removed_datasets: dict[str, list[str | None]] = {}
    created_at: str | None = None
    modified_at: str | None = None


class EntitiesChanged(Event):
    """Context entities were written (through the API, or by a batch of device readings, which
    reports every entity it touched in one event); NGSI-LD subscriptions match against it."""

    type: ClassVar[str] = "ngsild.entity.changed"
    aggregate: ClassVar[str] = "ngsild_entity"
    aggregate_field: ClassVar[str] = "row_id"

    tenant: str = ""
    changes: list[EntityChange]
    deleted: bool = False
    row_id: int = 0  # the first entity's row: the outbox row's aggregate id

    @model_validator(mode="before")
    @classmethod
    def _one_entity_form(cls, data: Any) -> Any:
        # Rows written before the event was typed named a single entity at the top level.
        if isinstance(data, dict) and "changes" not in data and "entity_id" in data:
            change = {k: data[k] for k in ("entity_id", "type", "attributes") if k in data}
            return {**data, "changes": [change]}
        return data
