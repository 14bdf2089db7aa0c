"""The events perception emits about alarms. Payloads carry ids, codes and positions only."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from cityloop.base.events import Event


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
