"""The demo fleet is well placed and well configured, and the simulator's messages are real."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import UTC, datetime

import pytest
from shapely.geometry import Point, shape

from cityloop.demo.city import build_demo_city
from cityloop.demo.devices import PROFILES, PROFILES_BY_CODE, demo_devices
from cityloop.demo.simulator import FLOOD_LEVEL_M, FleetSimulator, Message, pick_devices
from cityloop.platforms.data.perception.codecs import CodecError, Reading, get_codec
from cityloop.platforms.data.perception.service import validate_codec_config

START = datetime(2026, 5, 1, tzinfo=UTC)
CONTRACT = {
    "manhole-lora": ("ManholeCover", "binary", {"tilt", "open", "batteryLevel"}),
    "waterlevel-ul": ("WaterLevelObserved", "ul", {"waterLevel", "batteryLevel"}),
    "airquality-json": (
        "AirQualityObserved",
        "json",
        {"pm25", "pm10", "no2", "temperature", "relativeHumidity"},
    ),
    "waterquality-json": ("WaterQualityObserved", "json", {"pH", "turbidity", "O2", "temperature"}),
    "streetlight-ul": ("Streetlight", "ul", {"powerState", "status", "illuminanceLevel"}),
    "parking-lora": ("ParkingSpot", "binary", {"status", "batteryLevel"}),
    "wastebin-ul": ("WasteContainer", "ul", {"fillingLevel", "temperature", "batteryLevel"}),
    "generic-json": ("DeviceMeasurement", "json", {"numValue", "textValue"}),
}


def decode(message: Message) -> list[Reading]:
    profile = PROFILES_BY_CODE[message.device.profile]
    return get_codec(profile.codec).decode(
        message.payload, device_id=message.device.device_id, config=profile.codec_config
    )


def run(hours: float, seed: int, per_device_minutes: float = 5) -> list[Message]:
    simulator = FleetSimulator(seed=seed)
    rate = len(simulator.devices) / (per_device_minutes * 60)
    count = int(hours * 3600 * rate)
    return list(itertools.islice(simulator.stream(START, rate), count))


def test_the_profiles_follow_the_shared_contract_and_their_configs_are_valid() -> None:
    assert {p.code: (p.entity_type, p.codec) for p in PROFILES} == {
        code: (entity, codec) for code, (entity, codec, _) in CONTRACT.items()
    }
    for profile in PROFILES:
        validate_codec_config(profile.codec, profile.codec_config)
    assert len({p.apikey for p in PROFILES}) == len(PROFILES)
    assert [p.code for p in PROFILES if p.auto_provision] == ["generic-json"]


def test_about_sixty_devices_each_inside_exactly_one_grid_cell_and_apart() -> None:
    devices = demo_devices()
    assert 55 <= len(devices) <= 65
    assert len({d.device_id for d in devices}) == len(devices)
    assert set(Counter(d.profile for d in devices)) == set(CONTRACT)
    grids = [
        shape({"type": "Polygon", "coordinates": [j.polygon]})
        for j in build_demo_city().jurisdictions
        if j.level == "grid"
    ]
    for device in devices:
        point = Point(device.lon, device.lat)
        # Inside, and not on an edge: the alarm's case must land in one grid cell.
        assert sum(g.contains(point) for g in grids) == 1, device.device_id
    for a, b in itertools.combinations(devices, 2):
        assert math.dist((a.lon, a.lat), (b.lon, b.lat)) > 0.0002, (a.device_id, b.device_id)


def test_every_profile_sends_payloads_its_codec_decodes_into_the_contract_attributes() -> None:
    seen: dict[str, set[str]] = {}
    formats = Counter()
    for message in run(hours=2, seed=1):
        if message.kind != "reading":
            continue
        formats[message.content_type] += 1
        attributes = {r.attribute for r in decode(message)}
        seen.setdefault(message.device.profile, set()).update(attributes)
    assert seen == {code: attrs for code, (_, _, attrs) in CONTRACT.items()}
    assert set(formats) == {"text/plain", "application/json"}


def test_faults_are_refused_by_the_codecs_for_the_reason_they_were_made() -> None:
    simulator = FleetSimulator(seed=5, anomaly_rate=50)
    messages = list(itertools.islice(simulator.stream(START, 1.0), 3000))
    kinds = Counter(m.kind for m in messages)
    assert kinds["malformed"] > 10 and kinds["out_of_range"] > 10
    for message in messages:
        if message.kind == "reading":
            decode(message)
            continue
        with pytest.raises(CodecError) as error:
            decode(message)
        expected = "out_of_range" if message.kind == "out_of_range" else "malformed"
        assert error.value.reason == expected, message


def test_the_same_seed_gives_the_same_messages_and_another_seed_does_not() -> None:
    first = [(m.device.device_id, m.payload) for m in run(hours=1, seed=42)]
    again = [(m.device.device_id, m.payload) for m in run(hours=1, seed=42)]
    other = [(m.device.device_id, m.payload) for m in run(hours=1, seed=43)]
    assert first == again
    assert first != other


def test_over_three_days_every_kind_of_anomaly_happens() -> None:
    simulator = FleetSimulator(seed=7)
    rate = len(simulator.devices) / 300
    messages = list(itertools.islice(simulator.stream(START, rate), int(3 * 24 * 3600 * rate)))
    for event in (
        "manhole-open",
        "manhole-closed",
        "rain",
        "flooded",
        "bin-full",
        "bin-emptied",
        "lamp-failed",
        "battery-low",
        "silent",
        "malformed",
        "out_of_range",
    ):
        assert simulator.events[event] > 0, event
    readings = [(m, decode(m)) for m in messages if m.kind == "reading"]
    values = {
        (m.device.profile, r.attribute, r.value) for m, rs in readings for r in rs
    }  # what the platform would have stored
    assert ("manhole-lora", "open", True) in values
    assert ("streetlight-ul", "status", "defectiveLamp") in values
    assert ("wastebin-ul", "fillingLevel", 1) in values
    levels = [v for p, a, v in values if a == "waterLevel"]
    assert max(levels) > FLOOD_LEVEL_M and min(levels) < 0
    # A device that went silent sent nothing for a while (it normally reports every 5 minutes).
    last: dict[str, datetime] = {}
    longest = 0.0
    for message in messages:
        previous = last.get(message.device.device_id)
        if previous is not None:
            longest = max(longest, (message.at - previous).total_seconds())
        last[message.device.device_id] = message.at
    assert longest >= 15 * 60


def test_readings_follow_the_day_lights_burn_at_night_and_bays_fill_by_day() -> None:
    by_hour: dict[int, Counter[str]] = {}
    for message in run(hours=24, seed=3):
        if message.kind != "reading":
            continue
        hour = (message.at.hour + 8) % 24
        for reading in decode(message):
            if reading.attribute in ("powerState", "status"):
                by_hour.setdefault(hour, Counter())[str(reading.value)] += 1
    assert by_hour[23]["on"] > 0 and by_hour[23]["off"] == 0
    assert by_hour[12]["off"] > 0 and by_hour[12]["on"] == 0
    assert by_hour[13]["occupied"] > by_hour[3]["occupied"]


def test_a_few_devices_still_cover_every_format() -> None:
    chosen = pick_devices(8)
    assert {d.profile for d in chosen} == set(CONTRACT)
    with pytest.raises(ValueError, match="1 to"):
        pick_devices(500)
