"""The device registry: device profiles (models), provisioning groups and devices.

The vocabulary follows the FIWARE IoT Agents: a provisioning group (service group) is keyed by its
api key and resource, and each device belongs to one group and maps to one NGSI-LD entity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class DeviceProfile(Base):
    """A device model: which codec decodes it, how its attributes map, which entity type it is."""

    __tablename__ = "device_profiles"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    entity_type: Mapped[str] = mapped_column(String(100))
    codec: Mapped[str] = mapped_column(String(40))
    codec_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProvisioningGroup(Base):
    """Devices that share an api key, a resource and a profile (an IoT Agent service group)."""

    __tablename__ = "provisioning_groups"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    apikey: Mapped[str] = mapped_column(String(100), unique=True)
    resource: Mapped[str] = mapped_column(String(200), default="/iot/d")
    profile_code: Mapped[str] = mapped_column(ForeignKey("device_profiles.code"))
    auto_provision: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(200), default="")
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Device(Base):
    """One physical sensor and the NGSI-LD entity its readings update."""

    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("provisioning_groups.id"), index=True)
    profile_code: Mapped[str] = mapped_column(ForeignKey("device_profiles.code"))
    entity_id: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(default=None)
    lon: Mapped[float | None] = mapped_column(default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class Measurement(Base):
    """One reading in the history store; (tenant, entity, attribute, time, datasetId) is unique so
    a resent reading is stored once. Device readings have a device; NGSI-LD API updates do not."""

    __tablename__ = "measurements"
    __table_args__ = (
        # One instance per time and datasetId ("" for the default instance); observed_at comes
        # before dataset_id so a series' time range stays one index range.
        UniqueConstraint("tenant", "entity_id", "attribute", "observed_at", "dataset_id"),
        # Retention deletes by age across all devices.
        Index("ix_measurements_observed_at", "observed_at"),
        Index("ix_measurements_device_time", "device_id", "observed_at"),
    )

    # bigint (migration 0045): a busy city passes 2**31 readings. On SQLite an INTEGER primary
    # key is the 64-bit rowid already, and BIGINT would not be one.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant: Mapped[str] = mapped_column(String(100), default="", server_default="")
    device_id: Mapped[str | None] = mapped_column(String(100), default=None)
    entity_id: Mapped[str] = mapped_column(String(300))
    attribute: Mapped[str] = mapped_column(String(200))
    observed_at: Mapped[datetime]
    num_value: Mapped[float | None] = mapped_column(default=None)
    text_value: Mapped[str | None] = mapped_column(Text, default=None)
    unit: Mapped[str | None] = mapped_column(String(40), default=None)
    # NGSI-LD temporal instances (device readings leave these empty): the attribute type, its
    # datasetId, the instance as stored (expanded names) and its system times.
    kind: Mapped[str | None] = mapped_column(String(20), default=None)
    dataset_id: Mapped[str] = mapped_column(String(300), default="", server_default="")
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime | None] = mapped_column(default=None)
    modified_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class MeasurementRollup(Base):
    """The figures of one series (entity, attribute, datasetId) over one bucket of time (a UTC
    minute or hour), kept on every write so aggregations read buckets instead of instances."""

    __tablename__ = "measurement_rollups"

    tenant: Mapped[str] = mapped_column(String(100), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(200), primary_key=True)
    width: Mapped[int] = mapped_column(primary_key=True)  # seconds: 60 or 3600
    # Seconds since 1970 of the bucket's start; before dataset_id so a time range is one range.
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    count: Mapped[int]  # every instance, numeric or not
    numbers: Mapped[int]  # instances with a number
    sum: Mapped[float]
    sumsq: Mapped[float]
    min: Mapped[float | None] = mapped_column(default=None)
    max: Mapped[float | None] = mapped_column(default=None)


class LatestValue(Base):
    """The current value of one attribute of one entity: the newest reading wins."""

    __tablename__ = "latest_values"

    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(200), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSON)
    unit: Mapped[str | None] = mapped_column(String(40), default=None)
    observed_at: Mapped[datetime]
