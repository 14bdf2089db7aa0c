"""Riverton's sensor fleet, as plain data: device profiles, provisioning groups and ~60 devices.

Devices stand along the city's roads (the street boundaries in ``riverton/jurisdictions.geojson``)
and the River Ling embankments, a few metres off the centre line so each falls clearly inside
one street and grid cell, which is what lets a sensor alarm become a routed case.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.perception import service
from cityloop.platforms.data.perception.models import Device, DeviceProfile

# The design grid Riverton's map was drawn on: integer units of 1e-4 degree from this (lon, lat)
# origin, so the roads below are the polylines its streets and districts were cut along.
_ORIGIN = (120.108, 30.223)
_UNIT = 1e-4


@dataclass(frozen=True)
class ProfileSpec:
    code: str
    name: str
    entity_type: str
    codec: str
    codec_config: dict[str, Any]
    apikey: str  # the profile's one provisioning group
    auto_provision: bool = False
    # Which vendor format the device sends: "hex", "ul" or "json" (the simulator follows it).
    wire: str = "json"


@dataclass(frozen=True)
class DeviceSpec:
    device_id: str
    profile: str
    name: str
    lat: float
    lon: float
    attributes: dict[str, Any] = field(default_factory=dict)
    name_zh: str = ""


def _n(
    object_id: str,
    name: str,
    unit: str | None = None,
    *,
    expression: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> dict[str, Any]:
    mapping: dict[str, Any] = {"object_id": object_id, "name": name, "type": "Number"}
    for key, value in (
        ("unit", unit),
        ("expression", expression),
        ("minimum", minimum),
        ("maximum", maximum),
    ):
        if value is not None:
            mapping[key] = value
    return mapping


# 0..100 on the wire (one byte, or a UL integer), 0..1 on the platform as Smart Data Models want.
_BATTERY = _n("bat", "batteryLevel", expression="value / 100", minimum=0, maximum=1)

# Units are UN/CEFACT common codes, as NGSI-LD unitCode expects: DD degree, MTR metre,
# GQ microgram per cubic metre, CEL degree Celsius, M1 milligram per litre.
PROFILES: tuple[ProfileSpec, ...] = (
    ProfileSpec(
        "manhole-lora",
        "Manhole cover tilt sensor (LoRaWAN)",
        "ManholeCover",
        "binary",
        {
            "encoding": "hex",
            # bytes 0-1 tilt in tenths of a degree; byte 2 bit 0 the cover-open switch;
            # byte 3 battery percent.
            "layout": [
                {"name": "tilt", "offset": 0, "type": "u16", "scale": 0.1},
                {"name": "open", "offset": 2, "type": "u8", "bits": [0, 1]},
                {"name": "bat", "offset": 3, "type": "u8"},
            ],
            "mappings": [
                _n("tilt", "tilt", "DD", minimum=0, maximum=180),
                {"object_id": "open", "name": "open", "type": "Boolean"},
                _BATTERY,
            ],
        },
        "riverton-manholes",
        wire="hex",
    ),
    ProfileSpec(
        "waterlevel-ul",
        "Road flood level sensor (UltraLight)",
        "WaterLevelObserved",
        "ul",
        {
            "mappings": [
                # centimetres above the road surface on the wire; negative is water in the drain
                _n("l", "waterLevel", "MTR", expression="value / 100", minimum=-2, maximum=3),
                _BATTERY,
            ]
        },
        "riverton-waterlevel",
        wire="ul",
    ),
    ProfileSpec(
        "airquality-json",
        "Air quality station (JSON)",
        "AirQualityObserved",
        "json",
        {
            "mappings": [
                _n("pm25", "pm25", "GQ", minimum=0, maximum=1000),
                _n("pm10", "pm10", "GQ", minimum=0, maximum=2000),
                _n("no2", "no2", "GQ", minimum=0, maximum=2000),
                _n("t", "temperature", "CEL", minimum=-40, maximum=60),
                _n("rh", "relativeHumidity", expression="value / 100", minimum=0, maximum=1),
            ]
        },
        "riverton-airquality",
    ),
    ProfileSpec(
        "waterquality-json",
        "River water quality probe (JSON)",
        "WaterQualityObserved",
        "json",
        {
            "mappings": [
                _n("ph", "pH", minimum=0, maximum=14),
                _n("turb", "turbidity", "NTU", minimum=0, maximum=4000),
                _n("do", "O2", "M1", minimum=0, maximum=25),
                _n("t", "temperature", "CEL", minimum=-5, maximum=45),
            ]
        },
        "riverton-waterquality",
    ),
    ProfileSpec(
        "streetlight-ul",
        "Street light controller (UltraLight)",
        "Streetlight",
        "ul",
        {
            "mappings": [
                {"object_id": "p", "name": "powerState", "type": "Text"},
                {"object_id": "s", "name": "status", "type": "Text"},
                _n("i", "illuminanceLevel", expression="value / 100", minimum=0, maximum=1),
            ]
        },
        "riverton-streetlights",
        wire="ul",
    ),
    ProfileSpec(
        "parking-lora",
        "Parking bay occupancy sensor (LoRaWAN)",
        "ParkingSpot",
        "binary",
        {
            "encoding": "hex",
            # byte 0 bit 0 a vehicle above the sensor; byte 1 battery percent.
            "layout": [
                {"name": "occ", "offset": 0, "type": "u8", "bits": [0, 1]},
                {"name": "bat", "offset": 1, "type": "u8"},
            ],
            "mappings": [
                {
                    "object_id": "occ",
                    "name": "status",
                    "type": "Text",
                    "values": {"0": "free", "1": "occupied"},
                },
                _BATTERY,
            ],
        },
        "riverton-parking",
        wire="hex",
    ),
    ProfileSpec(
        "wastebin-ul",
        "Waste container fill sensor (UltraLight)",
        "WasteContainer",
        "ul",
        {
            "mappings": [
                _n("f", "fillingLevel", expression="value / 100", minimum=0, maximum=1),
                _n("t", "temperature", "CEL", minimum=-40, maximum=90),
                _BATTERY,
            ]
        },
        "riverton-wastebins",
        wire="ul",
    ),
    ProfileSpec(
        "generic-json",
        "Any other device (JSON, auto-provisioned)",
        "DeviceMeasurement",
        "json",
        {
            "mappings": [
                {"object_id": "v", "name": "numValue", "type": "Number"},
                {"object_id": "txt", "name": "textValue", "type": "Text"},
            ]
        },
        "riverton-generic",
        auto_provision=True,
    ),
)
PROFILES_BY_CODE: dict[str, ProfileSpec] = {p.code: p for p in PROFILES}

# Roads as design polylines: most are street boundaries in the map, i.e. real streets.
ROADS: dict[str, tuple[tuple[int, int], ...]] = {
    "Wall Road": ((400, 560), (380, 460), (480, 360), (520, 260), (520, 200)),
    "North Embankment": ((20, 240), (220, 200), (420, 220), (620, 180), (720, 140), (840, 140)),
    "Drum Tower Road": ((10, 340), (120, 340), (220, 320)),
    "Temple Road": ((240, 420), (480, 360)),
    "Lotus Road": ((200, 520), (240, 420), (220, 320), (220, 200)),
    "Willow Road": ((200, 0), (180, 100), (220, 200)),
    "Riverview Road": ((400, 20), (440, 120), (420, 220)),
    "Wharf Road": ((600, 0), (640, 100), (620, 180)),
    "North Pass Road": ((480, 360), (580, 340), (680, 360), (780, 340), (820, 340)),
    "Jade Spring Road": ((560, 520), (600, 420), (580, 340)),
    "Maple Road": ((680, 360), (700, 260), (720, 240), (720, 140)),
}

# The fleet's names in Chinese: the roads, the kinds of device, and the profiles.
ROAD_NAMES_ZH: dict[str, str] = {
    "Wall Road": "城墙路",
    "North Embankment": "北堤",
    "Drum Tower Road": "鼓楼路",
    "Temple Road": "庙前路",
    "Lotus Road": "荷花路",
    "Willow Road": "柳树路",
    "Riverview Road": "望江路",
    "Wharf Road": "码头路",
    "North Pass Road": "北关路",
    "Jade Spring Road": "玉泉路",
    "Maple Road": "枫林路",
}
LABELS_ZH: dict[str, str] = {
    "Manhole cover": "井盖",
    "Flood gauge": "积水监测点",
    "Air quality station": "空气质量监测站",
    "River probe": "河道水质探头",
    "Street light": "路灯",
    "Parking bay": "停车位",
    "Waste bin": "垃圾桶",
    "Weather mast": "气象杆",
}
PROFILE_NAMES_ZH: dict[str, str] = {
    "manhole-lora": "井盖倾斜传感器（LoRaWAN）",
    "waterlevel-ul": "道路积水水位传感器（UltraLight）",
    "airquality-json": "空气质量监测站（JSON）",
    "waterquality-json": "河道水质探头（JSON）",
    "streetlight-ul": "路灯控制器（UltraLight）",
    "parking-lora": "车位占用传感器（LoRaWAN）",
    "wastebin-ul": "垃圾桶满溢传感器（UltraLight）",
    "generic-json": "其他设备（JSON，自动注册）",
}

# (profile, id prefix, label, [(road, how many)]): devices are spread evenly along each road.
_PLACEMENT: tuple[tuple[str, str, str, tuple[tuple[str, int], ...]], ...] = (
    (
        "manhole-lora",
        "mh",
        "Manhole cover",
        (("Wall Road", 3), ("Temple Road", 2), ("Drum Tower Road", 2), ("Riverview Road", 2),
         ("North Pass Road", 3)),
    ),
    (
        "waterlevel-ul",
        "wl",
        "Flood gauge",
        (("North Embankment", 4), ("Wharf Road", 1), ("Willow Road", 1)),
    ),
    (
        "airquality-json",
        "aq",
        "Air quality station",
        (("Lotus Road", 2), ("North Pass Road", 2), ("Riverview Road", 1), ("Maple Road", 1)),
    ),
    ("waterquality-json", "wq", "River probe", (("North Embankment", 4),)),
    (
        "streetlight-ul",
        "sl",
        "Street light",
        (("Temple Road", 3), ("Jade Spring Road", 3), ("Willow Road", 3), ("Maple Road", 3)),
    ),
    (
        "parking-lora",
        "pk",
        "Parking bay",
        (("Drum Tower Road", 3), ("Wharf Road", 3), ("Jade Spring Road", 2)),
    ),
    (
        "wastebin-ul",
        "wb",
        "Waste bin",
        (("Lotus Road", 3), ("Temple Road", 2), ("Riverview Road", 2), ("North Pass Road", 3)),
    ),
    ("generic-json", "gen", "Weather mast", (("Wall Road", 1), ("Wharf Road", 1))),
)  # fmt: skip

# How far off the road's centre line a device stands (design units, ~30 m): far enough that it
# never sits on a jurisdiction boundary, close enough to be "on" the road.
_OFFSET = 3.0


def _point_along(road: Sequence[tuple[int, int]], share: float, side: int) -> tuple[float, float]:
    """The (x, y) design point ``share`` of the way along ``road``, offset to its left or right."""
    lengths = [math.dist(a, b) for a, b in itertools.pairwise(road)]
    target = share * sum(lengths)
    for (a, b), length in zip(itertools.pairwise(road), lengths, strict=True):
        if target <= length or (a, b) == (road[-2], road[-1]):
            t = min(target / length, 1.0)
            dx, dy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
            x, y = a[0] + dx * length * t, a[1] + dy * length * t
            return x - dy * _OFFSET * side, y + dx * _OFFSET * side
        target -= length
    raise AssertionError("unreachable: share is within 0..1")


def _lonlat(xy: tuple[float, float]) -> tuple[float, float]:
    return round(_ORIGIN[0] + xy[0] * _UNIT, 6), round(_ORIGIN[1] + xy[1] * _UNIT, 6)


@functools.cache
def demo_devices() -> tuple[DeviceSpec, ...]:
    """Every device of the demo fleet, in a stable order."""
    devices: list[DeviceSpec] = []
    for index, (profile, prefix, label, roads) in enumerate(_PLACEMENT):
        # A small shift per profile, so a bin and a manhole on the same road are not co-located.
        shift = 0.025 * (index % 5 - 2)
        number = 0
        for road, count in roads:
            for k in range(count):
                number += 1
                # Stay off the road ends, which meet the city edge or another road.
                share = (k + 1) / (count + 1) + shift
                lon, lat = _lonlat(_point_along(ROADS[road], share, 1 if number % 2 else -1))
                devices.append(
                    DeviceSpec(
                        device_id=f"rv-{prefix}-{number:02d}",
                        profile=profile,
                        name=f"{label} {number}, {road}",
                        name_zh=f"{ROAD_NAMES_ZH[road]}{LABELS_ZH[label]} {number} 号",
                        lat=lat,
                        lon=lon,
                        # road_zh: the console shows a <name>_zh attribute to Chinese readers.
                        attributes={"road": road, "road_zh": ROAD_NAMES_ZH[road]},
                    )
                )
    return tuple(devices)


def seed_devices(session: Session) -> int:
    """Register the demo profiles, groups and devices through perception's service. Idempotent;
    returns how many devices were created."""
    for spec in PROFILES:
        if session.get(DeviceProfile, spec.code) is None:
            service.create_profile(
                session,
                code=spec.code,
                name=spec.name,
                name_zh=PROFILE_NAMES_ZH[spec.code],
                entity_type=spec.entity_type,
                codec=spec.codec,
                codec_config=spec.codec_config,
            )
    groups = {}
    for spec in PROFILES:
        group = service.group_by_apikey(session, apikey=spec.apikey) or service.create_group(
            session,
            apikey=spec.apikey,
            profile_code=spec.code,
            auto_provision=spec.auto_provision,
            name=spec.name,
            name_zh=PROFILE_NAMES_ZH[spec.code],
        )
        if not group.name_zh:
            # A fleet seeded before groups had Chinese names gets them now.
            group.name_zh = PROFILE_NAMES_ZH[spec.code]
        groups[spec.code] = group
    created = 0
    for device in demo_devices():
        if session.get(Device, device.device_id) is not None:
            continue
        service.create_device(
            session,
            device_id=device.device_id,
            group=groups[device.profile],
            name=device.name,
            name_zh=device.name_zh,
            lat=device.lat,
            lon=device.lon,
            attributes=device.attributes,
        )
        created += 1
    return created
