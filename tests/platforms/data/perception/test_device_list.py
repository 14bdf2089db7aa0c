"""The console's device list: filtered by profile, group, state, district and text, each device
with its state, battery and district; the alarm list by when alarms started; and a CSV import
whose duplicate row names the device_id column."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cityloop.base.db import utcnow
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.data.perception import device_queries
from cityloop.platforms.data.perception.device_queries import DeviceFilter
from tests.support.city import City, fresh_point
from tests.support.perception import BASE, add_device, add_rule, alarm_rule, fleet, send

# An UltraLight sensor that reports a temperature and its battery in per cent.
BATTERY_CONFIG: dict[str, Any] = {
    "mappings": [
        {"object_id": "t", "name": "temperature", "type": "Number"},
        {"object_id": "b", "name": "batteryLevel", "type": "Number", "expression": "value / 100"},
    ]
}


def devices(city: City, expect: int = 200, **params: Any) -> dict[str, Any]:
    response = city.client.get(BASE + "/devices", params=params, headers=city.headers("admin"))
    assert response.status_code == expect, response.text
    return dict(response.json())


def district_of(city: City, point: tuple[float, float]) -> str:
    with city.ctx.reading() as session:
        placed = geo.place_point(session, lon=point[1], lat=point[0])
    assert placed is not None
    return placed.district.code


def test_the_list_shows_state_battery_and_district_and_filters_by_them(city: City) -> None:
    profile, apikey = fleet(city, "ul", BATTERY_CONFIG)
    point = fresh_point()
    reporting = add_device(city, apikey, point)
    silent = add_device(city, apikey)
    send(city, apikey, reporting, "t|21.5|b|64")

    listed = devices(city, profile=profile)
    assert listed["total"] == 2
    rows = {d["device_id"]: d for d in listed["items"]}
    assert rows[reporting]["state"] == "online"
    assert rows[reporting]["battery"] == pytest.approx(0.64)
    assert rows[reporting]["district_code"] == district_of(city, point)
    assert rows[silent]["state"] == "never_seen"
    assert rows[silent]["battery"] is None

    assert [d["device_id"] for d in devices(city, profile=profile, state="online")["items"]] == [
        reporting
    ]
    assert [
        d["device_id"] for d in devices(city, profile=profile, state="never_seen")["items"]
    ] == [silent]
    assert devices(city, profile=profile, state="offline")["total"] == 0
    in_district = devices(city, profile=profile, district=district_of(city, point))
    assert reporting in [d["device_id"] for d in in_district["items"]]
    assert devices(city, q=reporting[-6:].upper())["items"][0]["device_id"] == reporting
    one = city.client.get(BASE + f"/devices/{reporting}", headers=city.headers("admin")).json()
    assert one["state"] == "online"


def test_a_device_silent_for_longer_than_the_window_is_offline(city: City) -> None:
    profile, apikey = fleet(city, "ul", BATTERY_CONFIG)
    device = add_device(city, apikey)
    send(city, apikey, device, "t|20|b|90")
    later = utcnow() + device_queries.ONLINE_WINDOW + timedelta(minutes=1)
    with city.ctx.reading() as session:
        rows, total = device_queries.list_devices(
            session, filters=DeviceFilter(profile_code=profile, state="offline"), now=later
        )
    assert total == 1
    assert (rows[0].device.device_id, rows[0].state) == (device, "offline")


def test_the_district_filter_pages_over_the_devices_inside_it(city: City) -> None:
    profile, apikey = fleet(city, "ul", BATTERY_CONFIG)
    point = fresh_point()
    district = district_of(city, point)
    made = sorted(add_device(city, apikey, point) for _ in range(3))
    first = devices(city, profile=profile, district=district, limit=2)
    second = devices(city, profile=profile, district=district, limit=2, offset=2)
    assert (first["total"], second["total"]) == (3, 3)
    assert [d["device_id"] for d in first["items"] + second["items"]] == made


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "asleep"}, "state"),
        ({"district": "no-such-district"}, "district"),
        ({"q": "x" * 101}, "q"),
        ({"profile": "p" * 61}, "profile"),
    ],
)
def test_bad_device_filters_are_refused_naming_the_parameter(
    city: City, params: dict[str, str], field: str
) -> None:
    response = city.client.get(BASE + "/devices", params=params, headers=city.headers("admin"))
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field


def test_a_text_with_like_wildcards_matches_them_literally(city: City) -> None:
    assert devices(city, q="%")["total"] == 0
    assert devices(city, q="_")["total"] == 0


def test_alarms_are_listed_by_when_they_started(city: City) -> None:
    rule = alarm_rule("threshold", "HOT", "MAJOR", attribute="temperature", op=">", value=30)
    profile, apikey = fleet(city, "ul", BATTERY_CONFIG)
    add_rule(city, profile, **rule)
    device = add_device(city, apikey)
    send(city, apikey, device, "t|35|b|80")
    admin = city.headers("admin")
    now = utcnow()

    def started(**window: str) -> list[int]:
        response = city.client.get(
            BASE + "/alarms", params={"originator": device, **window}, headers=admin
        )
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert len(started(since=(now - timedelta(hours=1)).isoformat())) == 1
    assert started(since=(now + timedelta(hours=1)).isoformat()) == []
    assert started(until=(now - timedelta(hours=1)).isoformat()) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "0001-01-01T00:00:00+00:00"}, "since"),
        ({"until": "9999-01-01T00:00:00+00:00"}, "until"),
        ({"since": "2026-01-02T00:00:00+00:00", "until": "2026-01-01T00:00:00+00:00"}, "until"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_alarm_windows_are_refused_naming_the_parameter(
    city: City, params: dict[str, str], field: str
) -> None:
    response = city.client.get(BASE + "/alarms", params=params, headers=city.headers("admin"))
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field


def test_a_duplicate_device_in_an_import_names_the_device_id_column(city: City) -> None:
    _, apikey = fleet(city, "ul", BATTERY_CONFIG)
    lat, lon = fresh_point()
    body = f"device_id,apikey,name,lat,lon\ndup-a1,{apikey},A,{lat},{lon}\ndup-a1,{apikey},B,,\n"
    response = city.client.post(
        BASE + "/devices/import",
        content=body.encode(),
        headers={**city.headers("admin"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (3, "device_id")
    assert "exists" in error["message"]


def audited(city: City, target: str) -> list[tuple[str, str]]:
    trail = city.client.get(
        "/api/v1/audit", params={"target": target}, headers=city.headers("admin")
    )
    assert trail.status_code == 200, trail.text
    return [(entry["actor"], entry["action"]) for entry in trail.json()]


def test_staff_actions_on_devices_rules_and_alarms_are_audited(city: City) -> None:
    rule = alarm_rule("threshold", "HOT", "MAJOR", attribute="temperature", op=">", value=30)
    profile, apikey = fleet(city, "ul", BATTERY_CONFIG)
    made = add_rule(city, profile, **rule)
    device = add_device(city, apikey)
    send(city, apikey, device, "t|35|b|80")
    [alarm] = city.client.get(
        BASE + "/alarms", params={"originator": device}, headers=city.headers("admin")
    ).json()["items"]
    for action in ("ack", "clear"):
        response = city.client.post(
            BASE + f"/alarms/{alarm['id']}/{action}", headers=city.headers("dispatcher")
        )
        assert response.status_code == 200, response.text
    deleted = city.client.delete(BASE + f"/devices/{device}", headers=city.headers("admin"))
    assert deleted.status_code == 204

    assert audited(city, f"alarm:{alarm['id']}") == [
        ("dispatcher", "alarm.clear"),
        ("dispatcher", "alarm.ack"),
    ]
    assert audited(city, f"device:{device}") == [
        ("admin", "device.delete"),
        ("admin", "device.create"),
    ]
    assert audited(city, f"rule:{made['id']}") == [("admin", "alarm_rule.create")]
