"""Perception's built-in datasets: the register of devices (what and where, never whose) and the
daily readings per device type, district and quantity, from the rollups and the recent raw
readings; the register rebuilt after a device changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.data.catalogue import build
from cityloop.platforms.data.perception import service
from cityloop.platforms.data.perception.alarm_models import TelemetryRollup
from cityloop.platforms.data.perception.models import Device
from tests.support.catalogue import rows, state
from tests.support.city import City, fresh_point
from tests.support.perception import THERMOMETER_CONFIG, fleet, post, send

TYPE = "DatasetThermometer"
OLD_HOUR = (datetime.now(UTC) - timedelta(days=200)).replace(
    hour=10, minute=0, second=0, microsecond=0
)


@pytest.fixture(scope="module")
def thermometers(city: City) -> dict[str, Any]:
    """Two thermometers at one point, with today's readings (20 and 22; 30) and, for the first,
    an hour of readings folded into a rollup 200 days ago; then both datasets built."""
    profile, apikey = fleet(city, "ul", THERMOMETER_CONFIG, entity_type=TYPE)
    lat, lon = fresh_point()
    devices = []
    for n in (1, 2):
        device_id = f"ds-thermo-{n}-{city.backend}"
        post(
            city,
            "/devices",
            {"device_id": device_id, "apikey": apikey, "lat": lat, "lon": lon,
             "name": f"Thermometer {n}", "attributes": {"mounted": "lamp post"}},
        )  # fmt: skip
        devices.append(device_id)
    send(city, apikey, devices[0], "t|20")
    send(city, apikey, devices[0], "t|22")
    send(city, apikey, devices[1], "t|30")
    with city.ctx.writing() as session:
        entity_id = session.get(Device, devices[0]).entity_id  # type: ignore[union-attr]
        session.add(
            TelemetryRollup(
                entity_id=entity_id, device_id=devices[0], attribute="temperature",
                hour=OLD_HOUR, count=4, min=1.0, max=3.0, sum=8.0,
            )
        )  # fmt: skip
        district = geo.place_point(session, lon=lon, lat=lat)
    assert district is not None
    city.drain()
    build.build(city.ctx, name="devices")
    build.build(city.ctx, name="telemetry-daily")
    return {
        "profile": profile, "devices": devices, "lat": lat, "lon": lon,
        "district": district.district.code,
    }  # fmt: skip


def test_the_register_says_what_and_where_a_device_is_but_not_its_name(
    city: City, thermometers: dict[str, Any]
) -> None:
    first = thermometers["devices"][0]
    [row] = [r for r in rows(city, "devices") if r["device_id"] == first]
    assert row == {
        "device_id": first,
        "type": TYPE,
        "model": thermometers["profile"],
        "model_name": "test sensors",
        "district": thermometers["district"],
        "lat": round(thermometers["lat"], 3),
        "lon": round(thermometers["lon"], 3),
        "state": "active",
        "last_seen": datetime.now(UTC).date().isoformat(),
    }
    assert len(rows(city, "devices")) > 50  # the demo fleet too


def test_daily_readings_combine_the_rollups_and_the_recent_readings_per_district(
    city: City, thermometers: dict[str, Any]
) -> None:
    mine = [r for r in rows(city, "telemetry-daily") if r["device_type"] == TYPE]
    today = datetime.now(UTC).date().isoformat()
    common = {"device_type": TYPE, "district": thermometers["district"], "metric": "temperature"}
    assert mine == [
        {**common, "day": OLD_HOUR.date().isoformat(), "unit": "", "devices": 1, "count": 4,
         "min": 1.0, "max": 3.0, "avg": 2.0},
        {**common, "day": today, "unit": "", "devices": 2, "count": 3,
         "min": 20.0, "max": 30.0, "avg": 24.0},
    ]  # fmt: skip


def test_a_deactivated_device_marks_the_register_out_of_date_and_the_refresh_shows_it(
    city: City, thermometers: dict[str, Any]
) -> None:
    second = thermometers["devices"][1]
    dirty, built_at = state(city, "devices")
    assert not dirty and built_at
    with city.ctx.writing() as session:
        service.set_device_active(session, device_id=second, active=False)
    city.drain()
    assert state(city, "devices")[0]
    assert "devices" in build.refresh(city.ctx)
    dirty, refreshed_at = state(city, "devices")
    assert not dirty and refreshed_at and refreshed_at > built_at
    [row] = [r for r in rows(city, "devices") if r["device_id"] == second]
    assert row["state"] == "inactive"


def test_a_deleted_device_leaves_the_register_after_the_refresh(
    city: City, thermometers: dict[str, Any]
) -> None:
    lat, lon = fresh_point()
    with city.ctx.writing() as session:
        group = session.get(Device, thermometers["devices"][0]).group_id  # type: ignore[union-attr]
        service.create_device(session, device_id=f"ds-gone-{city.backend}", group_id=group,
                              lat=lat, lon=lon)  # fmt: skip
    city.drain()
    build.refresh(city.ctx)
    assert f"ds-gone-{city.backend}" in {r["device_id"] for r in rows(city, "devices")}
    with city.ctx.writing() as session:
        service.delete_device(session, device_id=f"ds-gone-{city.backend}")
    city.drain()
    assert state(city, "devices")[0]
    build.refresh(city.ctx)
    assert f"ds-gone-{city.backend}" not in {r["device_id"] for r in rows(city, "devices")}
