"""Alarm rules, their per-device memory, alarms, and hourly telemetry rollups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class AlarmRule(Base):
    """A declarative rule for every device of one profile, or of one entity type.

    Profile and category codes are plain strings: rules may be written before the devices
    arrive, and categories belong to governance, which perception reaches only through its
    service functions."""

    __tablename__ = "alarm_rules"
    __table_args__ = (
        CheckConstraint("(profile_code IS NULL) <> (entity_type IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    profile_code: Mapped[str | None] = mapped_column(String(60), index=True)
    entity_type: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]]
    alarm_type: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str | None] = mapped_column(String(20))
    # Report attributes the case is filed with, e.g. {"cover_state": "displaced"}.
    case_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleState(Base):
    """What one rule remembers about one device: keyed by device first, because ingest loads
    every state of one device at once."""

    __tablename__ = "alarm_rule_states"

    device_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alarm_rules.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    active: Mapped[bool] = mapped_column(default=False)
    last_value: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    last_at: Mapped[datetime | None] = mapped_column(default=None)
    alarm_id: Mapped[int | None] = mapped_column(default=None)


class Alarm(Base):
    """A condition on one device: ACTIVE/CLEARED × UNACK/ACK, with its repeats folded in."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_originator_type_status", "originator_id", "type", "status"),
        Index("ix_alarms_status_started", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    originator_id: Mapped[str] = mapped_column(String(100))  # the device id
    entity_id: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alarm_rules.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_by: Mapped[str | None] = mapped_column(String(80), default=None)
    cleared_by: Mapped[str | None] = mapped_column(String(80), default=None)
    count: Mapped[int] = mapped_column(default=1)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    category_code: Mapped[str | None] = mapped_column(String(20), default=None)
    case_id: Mapped[int | None] = mapped_column(default=None, index=True)


class TelemetryRollup(Base):
    """Count, min, max and sum of one numeric attribute of one entity over one UTC hour."""

    __tablename__ = "telemetry_rollups"
    __table_args__ = (
        UniqueConstraint("tenant", "entity_id", "attribute", "hour"),
        Index("ix_telemetry_rollups_device_attribute_hour", "device_id", "attribute", "hour"),
        Index("ix_telemetry_rollups_hour", "hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # The NGSI-LD tenant; device readings are in the default one (""). History published
    # through the NGSI-LD API has no device.
    tenant: Mapped[str] = mapped_column(String(100), default="", server_default="")
    entity_id: Mapped[str] = mapped_column(String(300))
    device_id: Mapped[str | None] = mapped_column(String(100), default=None)
    attribute: Mapped[str] = mapped_column(String(200))
    hour: Mapped[datetime]
    count: Mapped[int]
    min: Mapped[float]
    max: Mapped[float]
    sum: Mapped[float]
    unit: Mapped[str | None] = mapped_column(String(40), default=None)
