"""Perception's built-in open datasets: the register of devices and their daily telemetry.

Neither says who looks after a device or where exactly it stands: a device's name and its free
attributes (which an operator may fill with an owner or a contact) are never read, and its
position is rounded to about a hundred metres.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.data.catalogue.producers import DatasetSpec, FunctionProducer, register
from cityloop.platforms.data.perception.alarm_models import TelemetryRollup
from cityloop.platforms.data.perception.events import DeviceChanged
from cityloop.platforms.data.perception.models import Device, DeviceProfile, Measurement
from cityloop.settings import Settings

# Three decimals of a degree: about 110 m north-south, enough to find a street, not a door.
POSITION_DECIMALS = 3
OWNER = "command"

DEVICES = DatasetSpec(
    name="devices",
    owner_department=OWNER,
    title="Register of city sensors",
    title_zh="城市感知设备目录",
    description=(
        "Every sensor of the city's Internet of Things: its type and model, the district it "
        "stands in, its position rounded to about 100 m, whether it is in service and the day "
        "it last reported. Who looks after a device is not published."
    ),
    description_zh=(
        "城市物联感知设备清单：设备类型、型号、所在行政区、位置（精度约100米）、是否在用及最近上报日期。"
        "不公开设备的管理人或联系人信息。"
    ),
    theme="TECH",
    frequency="DAILY",
    sensitivity="open",
    keywords=("sensors", "IoT", "devices", "物联网", "感知设备"),
    spatial="city",
    table_schema={
        "fields": [
            {
                "name": "device_id",
                "type": "string",
                "title": "Device",
                "constraints": {"required": True},
            },
            {"name": "type", "type": "string", "title": "Entity type (NGSI-LD)"},
            {"name": "model", "type": "string", "title": "Model code"},
            {"name": "model_name", "type": "string", "title": "Model"},
            {"name": "district", "type": "string", "title": "District code"},
            {"name": "lat", "type": "number", "title": "Latitude (rounded)"},
            {"name": "lon", "type": "number", "title": "Longitude (rounded)"},
            {"name": "state", "type": "string", "title": "State (active, inactive)"},
            {"name": "last_seen", "type": "date", "title": "Last reported (UTC day)"},
        ],
        "primaryKey": ["device_id"],
    },
    triggers=(DeviceChanged,),
)

TELEMETRY_DAILY = DatasetSpec(
    name="telemetry-daily",
    owner_department=OWNER,
    title="Daily sensor readings by district",
    title_zh="感知数据日统计（按行政区）",
    description=(
        "The city's sensor readings summarised per device type, district, UTC day and measured "
        "quantity: how many readings, their minimum, maximum and mean, from how many devices. "
        "Drawn from the hourly telemetry rollups and the recent readings not yet rolled up."
    ),
    description_zh=(
        "按设备类型、行政区、日期（UTC）和监测指标汇总的感知数据：读数条数、最小值、最大值、平均值及设备数。"
        "数据来自每小时汇总及尚未汇总的近期读数。"
    ),
    theme="ENVI",
    frequency="DAILY",
    sensitivity="open",
    keywords=("sensors", "telemetry", "air quality", "water level", "监测数据"),
    spatial="city",
    table_schema={
        "fields": [
            {"name": "device_type", "type": "string", "title": "Entity type (NGSI-LD)"},
            {"name": "district", "type": "string", "title": "District code"},
            {"name": "day", "type": "date", "title": "Day (UTC)"},
            {"name": "metric", "type": "string", "title": "Measured quantity"},
            {"name": "unit", "type": "string", "title": "Unit (UN/CEFACT code)"},
            {"name": "devices", "type": "integer", "title": "Devices"},
            {"name": "count", "type": "integer", "title": "Readings"},
            {"name": "min", "type": "number", "title": "Minimum"},
            {"name": "max", "type": "number", "title": "Maximum"},
            {"name": "avg", "type": "number", "title": "Mean"},
        ]
    },
    triggers=(DeviceChanged,),
)


def _district(session: Session, lat: float | None, lon: float | None) -> str:
    if lat is None or lon is None:
        return ""
    placement = geo.place_point(session, lon=lon, lat=lat)
    return placement.district.code if placement else ""


def _rounded(value: float | None) -> float | None:
    return round(value, POSITION_DECIMALS) if value is not None else None


def device_rows(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
    """One row per registered device: what it is and where, never who looks after it."""
    query = (
        select(
            Device.device_id, Device.lat, Device.lon, Device.active, Device.last_seen_at,
            DeviceProfile.code, DeviceProfile.name, DeviceProfile.entity_type,
        )
        .join(DeviceProfile, DeviceProfile.code == Device.profile_code)
        .order_by(Device.device_id)
    )  # fmt: skip
    devices = session.execute(query).all()
    return [
        {
            "device_id": device_id,
            "type": entity_type,
            "model": model,
            "model_name": model_name,
            "district": _district(session, lat, lon),
            "lat": _rounded(lat),
            "lon": _rounded(lon),
            "state": "active" if active else "inactive",
            "last_seen": last_seen.date().isoformat() if last_seen else None,
        }
        for device_id, lat, lon, active, last_seen, model, model_name, entity_type in devices
    ]


@dataclass
class _Day:
    devices: set[str] = field(default_factory=set)
    count: int = 0
    total: float = 0.0
    low: float | None = None
    high: float | None = None
    unit: str = ""

    def add(self, device: str, count: int, low: float, high: float, total: float) -> None:
        self.devices.add(device)
        self.count += count
        self.total += total
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)


def _day_of(session: Session, column: Any) -> Any:
    # Readings are grouped by UTC day in the database, not read one by one into Python.
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.strftime("%Y-%m-%d", column)  # SQLite keeps naive UTC text


def _iso_day(value: date | datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()[:10]


def _per_device_day(session: Session) -> Iterator[Any]:
    """(device, quantity, day, count, min, max, sum, unit) of the folded hourly rollups, then of
    the raw numeric readings still kept: together every reading once (folding deletes what it
    adds), so the days since the raw retention began are there too."""
    day = _day_of(session, TelemetryRollup.hour)
    yield from session.execute(
        select(
            TelemetryRollup.device_id, TelemetryRollup.attribute, day,
            func.sum(TelemetryRollup.count), func.min(TelemetryRollup.min),
            func.max(TelemetryRollup.max), func.sum(TelemetryRollup.sum),
            func.max(TelemetryRollup.unit),
        )
        .where(TelemetryRollup.tenant == "", TelemetryRollup.device_id.is_not(None))
        .group_by(TelemetryRollup.device_id, TelemetryRollup.attribute, day)
    )  # fmt: skip
    day = _day_of(session, Measurement.observed_at)
    value = Measurement.num_value
    yield from session.execute(
        select(
            Measurement.device_id, Measurement.attribute, day, func.count(), func.min(value),
            func.max(value), func.sum(value), func.max(Measurement.unit),
        )
        .where(
            Measurement.tenant == "", Measurement.device_id.is_not(None), value.is_not(None)
        )
        .group_by(Measurement.device_id, Measurement.attribute, day)
    )  # fmt: skip


def telemetry_rows(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
    """Readings per (device type, district, UTC day, quantity), from the hourly rollups and the
    raw readings not yet folded into them."""
    devices = {
        device_id: (entity_type, _district(session, lat, lon))
        for device_id, entity_type, lat, lon in session.execute(
            select(Device.device_id, DeviceProfile.entity_type, Device.lat, Device.lon).join(
                DeviceProfile, DeviceProfile.code == Device.profile_code
            )
        )
    }
    days: dict[tuple[str, str, str, str], _Day] = defaultdict(_Day)
    for device_id, metric, on, count, low, high, total, unit in _per_device_day(session):
        if device_id not in devices:  # deleted from the registry since
            continue
        entity_type, district = devices[device_id]
        summary = days[(entity_type, district, _iso_day(on), metric)]
        summary.add(device_id, int(count), float(low), float(high), float(total))
        summary.unit = summary.unit or unit or ""
    return [
        {
            "device_type": entity_type,
            "district": district,
            "day": on,
            "metric": metric,
            "unit": summary.unit,
            "devices": len(summary.devices),
            "count": summary.count,
            "min": summary.low,
            "max": summary.high,
            "avg": round(summary.total / summary.count, 6) if summary.count else None,
        }
        for (entity_type, district, on, metric), summary in sorted(days.items())
    ]


def register_datasets(ctx: AppContext) -> None:
    """Declare perception's built-in datasets to the catalogue."""
    register(ctx, FunctionProducer(DEVICES, device_rows))
    register(ctx, FunctionProducer(TELEMETRY_DAILY, telemetry_rows))
