"""Alarm rules over HTTP ingest: every rule kind, the alarm lifecycle, alarms filing cases
through the outbox, and telemetry retention with hourly rollups."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from cityloop.base.db import utcnow
from cityloop.base.outbox import OutboxEvent
from cityloop.demo.seed import DEMO_API_KEY
from cityloop.domains.governance import sensors
from cityloop.domains.governance.events import CasePublicUpdate
from cityloop.domains.governance.models import Case
from cityloop.platforms.data.perception import alarms, retention, rule_evaluation, rules
from cityloop.platforms.data.perception.alarm_models import TelemetryRollup
from tests.support.city import City, fresh_point
from tests.support.perception import (
    BASE,
    MANHOLE_CONFIG,
    add_device,
    add_rule,
    alarm_rule,
    alarms_of,
    demo_rule,
    fleet,
    manhole_payload,
    post,
    send,
    watched_device,
)

# A state rule three tests below share.
JAMMED = alarm_rule("state", "JAMMED", "MINOR", attribute="status", values=["jammed"])


def test_threshold_hysteresis_repeat_and_auto_clear(city: City) -> None:
    above = {"attribute": "waterLevel", "op": ">", "value": 0.30, "clear": 0.20}
    flood = alarm_rule("threshold", "FLOOD_LEVEL_HIGH", "MAJOR", **above)
    _, apikey, device = watched_device(city, flood)
    for level in (0.1, 0.35, 0.25, 0.4, 0.21):
        send(city, apikey, device, f"waterLevel|{level}")
    [alarm] = alarms_of(city, device)
    assert alarm["status"] == "ACTIVE_UNACK"
    assert alarm["count"] == 2  # 0.35 and 0.4; the readings in the band are not repeats
    assert alarm["details"]["value"] == 0.4
    send(city, apikey, device, "waterLevel|0.15")
    [alarm] = alarms_of(city, device)
    assert alarm["status"] == "CLEARED_UNACK"
    assert alarm["cleared_by"] == "rule" and alarm["ended_at"] is not None
    send(city, apikey, device, "waterLevel|0.5")
    found = alarms_of(city, device)
    assert [a["status"] for a in found] == ["ACTIVE_UNACK", "CLEARED_UNACK"]


def test_two_rules_share_one_alarm_which_escalates_and_clears_when_both_end(city: City) -> None:
    dark = alarm_rule(
        "threshold", "LAMP_FAILURE", "MINOR", attribute="illuminanceLevel", op="<", value=0.1
    )
    _, apikey, device = watched_device(city, dark, entity_type="Streetlight")
    post(
        city,
        "/rules",
        {
            "name": "lamp reports itself defective",
            "entity_type": "Streetlight",
            "kind": "state",
            "definition": {"attribute": "status", "values": ["defectiveLamp"]},
            "alarm_type": "LAMP_FAILURE",
            "severity": "MAJOR",
        },
    )
    send(city, apikey, device, "illuminanceLevel|0.05")
    [alarm] = alarms_of(city, device)
    assert alarm["severity"] == "MINOR"
    send(city, apikey, device, "status|defectiveLamp")
    [alarm] = alarms_of(city, device)
    assert (alarm["severity"], alarm["count"]) == ("MAJOR", 2)
    send(city, apikey, device, "illuminanceLevel|0.8")
    assert alarms_of(city, device)[0]["status"] == "ACTIVE_UNACK"  # the state rule still holds
    send(city, apikey, device, "status|ok")
    assert alarms_of(city, device)[0]["status"] == "CLEARED_UNACK"


def test_rate_rule_uses_the_previous_reading(city: City) -> None:
    spike = alarm_rule("rate", "AIR_QUALITY_SPIKE", "WARNING", attribute="pm25", per_minute=20)
    _, apikey, device = watched_device(city, spike, entity_type="AirQualityObserved")
    start = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    for minute, value in ((0, 10), (1, 15), (2, 16)):
        moment = (start + timedelta(minutes=minute)).isoformat()
        send(city, apikey, device, f"{moment}|pm25|{value}")
    assert alarms_of(city, device) == []
    send(city, apikey, device, f"{(start + timedelta(minutes=4)).isoformat()}|pm25|80")
    [alarm] = alarms_of(city, device)  # +64 over two minutes: 32 per minute
    assert alarm["type"] == "AIR_QUALITY_SPIKE" and alarm["status"] == "ACTIVE_UNACK"
    send(city, apikey, device, f"{(start + timedelta(minutes=5)).isoformat()}|pm25|81")
    assert alarms_of(city, device)[0]["status"] == "CLEARED_UNACK"


def test_nodata_raises_once_and_clears_on_the_next_message(city: City) -> None:
    offline = alarm_rule("nodata", "DEVICE_OFFLINE", "WARNING", seconds=3600)
    _, apikey, device = watched_device(city, offline, "binary", MANHOLE_CONFIG, "ManholeCover")
    send(city, apikey, device, manhole_payload(False))
    with city.ctx.writing() as session:
        rule_evaluation.sweep_nodata(session, now=utcnow() + timedelta(minutes=30))
    assert alarms_of(city, device) == []
    for _ in range(2):
        with city.ctx.writing() as session:
            rule_evaluation.sweep_nodata(session, now=utcnow() + timedelta(hours=2))
    [alarm] = alarms_of(city, device)
    assert (alarm["type"], alarm["status"], alarm["count"]) == ("DEVICE_OFFLINE", "ACTIVE_UNACK", 1)
    send(city, apikey, device, manhole_payload(False))
    [alarm] = alarms_of(city, device)
    assert alarm["status"] == "CLEARED_UNACK"


def test_geofence_on_latitude_and_longitude(city: City) -> None:
    square = [[113.0, 23.0], [113.1, 23.0], [113.1, 23.1], [113.0, 23.1], [113.0, 23.0]]
    polygon = {"type": "Polygon", "coordinates": [square]}
    left = alarm_rule("geofence", "LEFT_AREA", "WARNING", polygon=polygon, inside=False)
    _, apikey, device = watched_device(city, left)
    send(city, apikey, device, "latitude|23.05|longitude|113.05")
    assert alarms_of(city, device) == []
    send(city, apikey, device, "latitude|23.2|longitude|113.05")
    assert alarms_of(city, device)[0]["status"] == "ACTIVE_UNACK"
    send(city, apikey, device, "location|23.01,113.01")
    assert alarms_of(city, device)[0]["status"] == "CLEARED_UNACK"


def test_ack_and_clear_follow_the_transition_table(city: City) -> None:
    _, apikey, device = watched_device(city, JAMMED)
    send(city, apikey, device, "status|jammed")
    [alarm] = alarms_of(city, device)
    admin = city.headers("admin")
    url = f"{BASE}/alarms/{alarm['id']}"
    acked = city.client.post(url + "/ack", headers=admin).json()
    assert (acked["status"], acked["acked_by"]) == ("ACTIVE_ACK", "admin")
    assert city.client.post(url + "/ack", headers=admin).status_code == 409
    cleared = city.client.post(url + "/clear", headers=admin).json()
    assert (cleared["status"], cleared["cleared_by"]) == ("CLEARED_ACK", "admin")
    again = city.client.post(url + "/clear", headers=admin)
    assert again.status_code == 409 and again.json()["status"] == "CLEARED_ACK"
    assert city.client.post(url + "/ack", headers=admin).status_code == 409
    assert city.client.get(url, headers=admin).json()["status"] == "CLEARED_ACK"
    # The condition still holds: the next reading raises a new alarm, not the cleared one.
    send(city, apikey, device, "status|jammed")
    assert [a["status"] for a in alarms_of(city, device)] == ["ACTIVE_UNACK", "CLEARED_ACK"]
    assert city.client.get(BASE + "/alarms/999999", headers=admin).status_code == 404
    assert city.client.post(BASE + "/alarms/999999/ack", headers=admin).status_code == 404
    assert city.client.post(BASE + "/alarms/999999/clear", headers=admin).status_code == 404
    assert len(alarms_of(city, device, status="ACTIVE")) == 1
    assert len(alarms_of(city, device, status="ack")) == 1
    assert len(alarms_of(city, device, severity="MINOR", type="JAMMED")) == 2
    page = city.client.get(
        BASE + "/alarms", params={"originator": device, "limit": 1}, headers=admin
    ).json()
    assert (len(page["items"]), page["total"]) == (1, 2)
    for params, field in (({"status": "SLEEPING"}, "status"), ({"severity": "LOUD"}, "severity")):
        bad = city.client.get(BASE + "/alarms", params=params, headers=admin)
        assert bad.status_code == 400 and bad.json()["field"] == field
    citizen = city.client.get(BASE + "/alarms", headers=city.headers("citizen"))
    assert citizen.status_code == 403


def test_bad_rules_are_refused_naming_the_field(city: City) -> None:
    profile, _ = fleet(city)
    good: dict[str, Any] = {
        "name": "tilt",
        "profile_code": profile,
        "kind": "threshold",
        "definition": {"attribute": "tilt", "op": ">", "value": 20, "clear": 10},
        "alarm_type": "MANHOLE_TILTED",
        "severity": "MAJOR",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"definition": {"attribute": "tilt", "op": "~", "value": 20}}, "definition.op"),
        (
            {"definition": {"attribute": "tilt", "op": ">", "value": 20, "clear": 25}},
            "definition.clear",
        ),
        ({"definition": "tilt > 20"}, "definition"),
        ({"kind": "magic"}, "kind"),
        ({"severity": "HUGE"}, "severity"),
        ({"alarm_type": "tilted!"}, "alarm_type"),
        ({"category_code": "X-99-99"}, "category_code"),
        ({"entity_type": "ManholeCover"}, "profile_code"),
        ({"name": "  "}, "name"),
        ({"category_code": "C-01-01"}, "case_attributes"),
        (
            {"category_code": "C-01-01", "case_attributes": {"cover_state": "gone"}},
            "case_attributes",
        ),
        ({"case_attributes": {"cover_state": "missing"}}, "case_attributes"),
    ]
    before = len(city.client.get(BASE + "/rules", headers=city.headers("admin")).json())
    for change, field in cases:
        response = city.client.post(
            BASE + "/rules", json={**good, **change}, headers=city.headers("admin")
        )
        assert response.status_code == 400, (change, response.text)
        assert response.json()["field"] == field, change
        # Every reason is a message code (governance's own for a case attribute it refuses).
        assert "code" in response.json(), response.text
    after = len(city.client.get(BASE + "/rules", headers=city.headers("admin")).json())
    assert after == before  # nothing half-written


def test_rule_crud_and_a_change_reaches_ingest_at_once(city: City) -> None:
    profile, apikey = fleet(city)
    body = {
        "name": "hot",
        "kind": "threshold",
        "definition": {"attribute": "temperature", "op": ">", "value": 100},
        "alarm_type": "HOT",
        "severity": "MINOR",
    }
    rule = add_rule(city, profile, **body)
    admin = city.headers("admin")
    device = add_device(city, apikey)
    send(city, apikey, device, "temperature|50")
    assert alarms_of(city, device) == []
    body["definition"] = {"attribute": "temperature", "op": ">", "value": 40}
    replaced = city.client.put(
        f"{BASE}/rules/{rule['id']}", json={"profile_code": profile, **body}, headers=admin
    )
    assert replaced.status_code == 200 and replaced.json()["definition"]["value"] == 40
    send(city, apikey, device, "temperature|50")
    assert alarms_of(city, device)[0]["type"] == "HOT"
    listed = city.client.get(BASE + "/rules", params={"profile_code": profile}, headers=admin)
    assert [r["id"] for r in listed.json()] == [rule["id"]]
    assert city.client.delete(f"{BASE}/rules/{rule['id']}", headers=admin).status_code == 204
    assert city.client.get(f"{BASE}/rules/{rule['id']}", headers=admin).status_code == 404
    assert city.client.delete(f"{BASE}/rules/{rule['id']}", headers=admin).status_code == 404
    send(city, apikey, device, "temperature|10")  # no rule, so the alarm stays for an operator
    assert alarms_of(city, device)[0]["status"] == "ACTIVE_UNACK"


def test_the_demo_city_has_its_rules(city: City) -> None:
    seeded = city.client.get(BASE + "/rules", headers=city.headers("admin")).json()
    pairs = {(r["profile_code"], r["alarm_type"], r["category_code"]) for r in seeded}
    assert ("manhole-lora", "MANHOLE_OPEN", "C-01-01") in pairs
    assert ("waterlevel-ul", "FLOOD_LEVEL_HIGH", "E-05-01") in pairs
    assert ("wastebin-ul", "BIN_FULL", "C-03-01") in pairs
    assert ("streetlight-ul", "LAMP_FAILURE", "C-01-05") in pairs
    assert ("waterlevel-ul", "DEVICE_OFFLINE", None) in pairs


def test_an_alarm_files_a_dispatched_case_and_device_normal_is_on_its_timeline(
    city: City,
) -> None:
    profile, apikey = fleet(city, "binary", MANHOLE_CONFIG, "ManholeCover")
    post(city, "/rules", demo_rule("MANHOLE_OPEN", profile))
    lat, lon = fresh_point()
    first = add_device(city, apikey, (lat, lon))
    second = add_device(city, apikey, (lat + 0.00005, lon))  # about 5 m away
    city.drain()
    send(city, apikey, first, manhole_payload(True, tilt=3))
    city.drain()
    [alarm] = alarms_of(city, first)
    assert alarm["severity"] == "CRITICAL" and alarm["case_id"] is not None
    case = city.case(alarm["case_id"])
    assert case["category"]["code"] == "C-01-01"
    assert case["status"] == "dispatched"  # C-01-01 is auto-dispatched
    assert case["department"]["code"] == "facilities"
    assert case["channel"] == "system"
    assert case["source_ref"]["alarm_id"] == alarm["id"]
    assert case["source_ref"]["device_id"] == first
    assert case["reports"][0]["device_id"] == first

    send(city, apikey, second, manhole_payload(True))
    city.drain()
    [other] = alarms_of(city, second)
    assert other["case_id"] == alarm["case_id"]  # dedupe: the same cover, one case
    assert city.case(alarm["case_id"])["supporters"] == 1

    send(city, apikey, first, manhole_payload(False))
    city.drain()
    assert alarms_of(city, first)[0]["status"] == "CLEARED_UNACK"
    case = city.case(alarm["case_id"])
    assert case["status"] == "dispatched"  # normal again is not a verified fix
    [line] = [e for e in case["timeline"] if e["action"] == "device_normal"]
    assert first in line["message"] and "normal again" in line["message"]
    assert "恢复正常" in line["message_zh"]
    public = city.client.get(f"/api/v1/public/cases/{alarm['case_id']}")
    assert public.status_code == 200, public.text
    assert any(e["action"] == "device_normal" for e in public.json()["timeline"])
    text = city.client.get("/metrics").text
    assert 'cityloop_alarms_raised_total{severity="CRITICAL",type="MANHOLE_OPEN"}' in text
    assert 'cityloop_alarms_cleared_total{how="automatic",type="MANHOLE_OPEN"}' in text


def test_an_alarm_without_a_category_files_no_case(city: City) -> None:
    profile, apikey = fleet(city, "binary", MANHOLE_CONFIG, "ManholeCover")
    post(city, "/rules", demo_rule("BATTERY_LOW", profile))
    device = add_device(city, apikey)
    send(city, apikey, device, manhole_payload(False, battery=0.1))
    city.drain()
    [alarm] = alarms_of(city, device)
    assert (alarm["type"], alarm["case_id"]) == ("BATTERY_LOW", None)


def test_retention_rolls_up_then_deletes_and_is_idempotent(city: City) -> None:
    _, apikey = fleet(city)
    device = add_device(city, apikey)
    now = utcnow()
    hour = (now - timedelta(days=200)).replace(minute=0, second=0, microsecond=0)
    ancient = (now - timedelta(days=800)).replace(minute=0, second=0, microsecond=0)
    recent = now - timedelta(minutes=30)
    readings = [
        (hour, "level|1"),
        (hour + timedelta(minutes=10), "level|2"),
        (hour + timedelta(minutes=20), "level|3.5|state|full"),
        (hour + timedelta(hours=1, minutes=5), "level|5"),
        (ancient, "level|7"),
        (recent, "level|9"),
    ]
    for moment, body in readings:
        send(city, apikey, device, f"{moment.isoformat()}|{body}")

    def figures() -> list[dict[str, Any]]:
        response = city.client.get(
            f"{BASE}/devices/{device}/rollups",
            params={
                "attribute": "level",
                "since": (now - timedelta(days=210)).isoformat(),
                "until": (now + timedelta(hours=1)).isoformat(),
            },
            headers=city.headers("admin"),
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    before = figures()
    for _ in range(2):  # a second run finds nothing to do and changes nothing
        retention.apply_retention(city.ctx.writing, raw_days=90, rollup_days=730, batch=2)
        assert figures() == before
    first, second, last = before
    assert first["hour"] == hour.isoformat()
    assert (first["count"], first["min"], first["max"], first["sum"]) == (3, 1, 3.5, 6.5)
    assert abs(first["avg"] - 6.5 / 3) < 1e-9
    assert (second["count"], second["sum"]) == (1, 5)
    assert (last["count"], last["max"]) == (1, 9)
    kept = city.client.get(
        f"{BASE}/devices/{device}/measures", headers=city.headers("admin")
    ).json()["items"]
    assert [(m["attribute"], m["value"]) for m in kept] == [("level", 9)]
    with city.ctx.reading() as session:
        stored = session.scalars(
            select(TelemetryRollup).where(TelemetryRollup.device_id == device)
        ).all()
    assert sorted(r.hour.astimezone(UTC) for r in stored) == [hour, hour + timedelta(hours=1)]


def test_rollup_route_refuses_bad_windows(city: City) -> None:
    admin = city.headers("admin")
    missing = city.client.get(
        f"{BASE}/devices/no-such-device/rollups", params={"attribute": "x"}, headers=admin
    )
    assert missing.status_code == 404
    _, apikey = fleet(city)
    device = add_device(city, apikey)
    start = datetime(2026, 1, 2, tzinfo=UTC)
    backwards = city.client.get(
        f"{BASE}/devices/{device}/rollups",
        params={"attribute": "x", "since": start.isoformat(), "until": "2026-01-01T00:00:00Z"},
        headers=admin,
    )
    assert backwards.status_code == 400 and backwards.json()["field"] == "since"
    too_long = city.client.get(
        f"{BASE}/devices/{device}/rollups",
        params={"attribute": "x", "since": "2020-01-01T00:00:00Z", "until": start.isoformat()},
        headers=admin,
    )
    assert too_long.status_code == 400


def test_huge_and_non_finite_numbers_in_rules_are_a_400(city: City) -> None:
    profile, _ = fleet(city)
    good: dict[str, Any] = {
        "name": "deep",
        "profile_code": profile,
        "kind": "threshold",
        "definition": {"attribute": "depth", "op": ">", "value": 20, "clear": 10},
        "alarm_type": "POTHOLE_DEEP",
        "severity": "MINOR",
    }
    huge = 10**400  # a JSON number Python reads as an int too big for a float
    cases: list[tuple[dict[str, Any], str]] = [
        ({"definition": {"attribute": "depth", "op": ">", "value": huge}}, "definition.value"),
        (
            {"definition": {"attribute": "depth", "op": ">", "value": 20, "clear": -huge}},
            "definition.clear",
        ),
        (
            {"kind": "rate", "definition": {"attribute": "depth", "per_minute": huge}},
            "definition.per_minute",
        ),
        ({"category_code": "C-02-01", "case_attributes": {"depth_cm": huge}}, "case_attributes"),
        ({"category_code": "C-02-01", "case_attributes": {"depth_cm": "inf"}}, "case_attributes"),
    ]
    admin = city.headers("admin")
    before = len(city.client.get(BASE + "/rules", headers=admin).json())
    for change, field in cases:
        response = city.client.post(BASE + "/rules", json={**good, **change}, headers=admin)
        assert response.status_code == 400, (change, response.text)
        assert response.json()["field"] == field, change
    assert len(city.client.get(BASE + "/rules", headers=admin).json()) == before


def test_a_rule_deleted_by_another_process_loses_no_reading(city: City) -> None:
    profile, apikey = fleet(city)
    hot = alarm_rule("threshold", "HOT", "MINOR", attribute="temperature", op=">", value=40)
    rule = add_rule(city, profile, **hot)
    device = add_device(city, apikey)
    send(city, apikey, device, "temperature|20")  # fills this process's rule cache
    with rules._cache_lock:
        stale = dict(rules._cache)
    admin = city.headers("admin")
    assert city.client.delete(f"{BASE}/rules/{rule['id']}", headers=admin).status_code == 204
    # Another process deleted it: this one still holds the rule in a fresh cache entry.
    with rules._cache_lock:
        rules._cache.update({key: (time.monotonic(), hit[1]) for key, hit in stale.items()})
    send(city, apikey, device, "temperature|50")
    kept = city.client.get(f"{BASE}/devices/{device}/measures", headers=admin).json()["items"]
    assert sorted(m["value"] for m in kept) == [20, 50]
    assert alarms_of(city, device) == []


def test_an_ack_racing_an_automatic_clear_acknowledges_the_cleared_alarm(city: City) -> None:
    _, apikey, device = watched_device(city, JAMMED)
    send(city, apikey, device, "status|jammed")
    [raised] = alarms_of(city, device)
    if city.backend != "postgresql":
        # SQLite runs one writer at a time: the operator's ack can only follow the clear.
        with city.ctx.writing() as session:
            alarm = alarms.open_alarm(session, device_id=device, alarm_type="JAMMED", lock=True)
            assert alarm is not None
            alarms.clear_alarm(session, alarm=alarm, at=utcnow(), by="rule")
        with city.ctx.writing() as other:
            assert (
                alarms.acknowledge(other, alarm_id=raised["id"], username="admin").status
                == "CLEARED_ACK"
            )
        return
    outcome: list[BaseException | str] = []

    def operator_acks() -> None:
        try:
            with city.ctx.writing() as other:
                outcome.append(
                    alarms.acknowledge(other, alarm_id=raised["id"], username="admin").status
                )
        except BaseException as exc:  # reported to the test thread below
            outcome.append(exc)

    with city.ctx.writing() as session:
        # The device reports normal: its clear holds the alarm row until this commits.
        alarm = alarms.open_alarm(session, device_id=device, alarm_type="JAMMED", lock=True)
        assert alarm is not None
        alarms.clear_alarm(session, alarm=alarm, at=utcnow(), by="rule")
        worker = threading.Thread(target=operator_acks)
        worker.start()
        waiting = 0
        for _ in range(3000):  # until the operator's transaction waits for the row
            with city.ctx.reading() as probe:
                waiting = probe.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting or not worker.is_alive():
                break
            time.sleep(0.01)
        assert waiting, outcome
    worker.join()
    # The ack saw the clear and acknowledged a cleared alarm; it did not revive it.
    assert outcome == ["CLEARED_ACK"]
    [after] = alarms_of(city, device)
    assert after["status"] == "CLEARED_ACK" and after["ended_at"] is not None


def test_two_rules_of_one_type_wait_for_each_other_after_a_manual_clear(city: City) -> None:
    profile, apikey = fleet(city)
    for attribute in ("a", "b"):
        high = alarm_rule("threshold", "PAIR_HIGH", "MINOR", attribute=attribute, op=">", value=10)
        add_rule(city, profile, name=f"{attribute} high", **high)
    device = add_device(city, apikey)
    send(city, apikey, device, "a|20|b|20")
    [first] = alarms_of(city, device)
    url = f"{BASE}/alarms/{first['id']}/clear"
    assert city.client.post(url, headers=city.headers("admin")).status_code == 200
    send(city, apikey, device, "a|30")  # A still holds: a new alarm
    send(city, apikey, device, "a|1")  # A ends, B still holds
    assert [a["status"] for a in alarms_of(city, device)] == ["ACTIVE_UNACK", "CLEARED_UNACK"]
    send(city, apikey, device, "b|1")  # both ended
    assert [a["status"] for a in alarms_of(city, device)] == ["CLEARED_UNACK", "CLEARED_UNACK"]


def test_a_late_older_reading_does_not_undo_newer_ones(city: City) -> None:
    door_open = alarm_rule("state", "DOOR_OPEN", "MINOR", attribute="door", values=["open"])
    _, apikey, device = watched_device(city, door_open)
    now = utcnow()
    send(city, apikey, device, f"{(now - timedelta(minutes=1)).isoformat()}|door|open")
    assert alarms_of(city, device)[0]["status"] == "ACTIVE_UNACK"
    # A reading buffered half an hour ago arrives late: it says nothing about the door now.
    send(city, apikey, device, f"{(now - timedelta(minutes=30)).isoformat()}|door|closed")
    assert alarms_of(city, device)[0]["status"] == "ACTIVE_UNACK"
    send(city, apikey, device, f"{now.isoformat()}|door|closed")
    assert alarms_of(city, device)[0]["status"] == "CLEARED_UNACK"


def test_a_flapping_sensor_is_one_report_and_no_department_update(city: City) -> None:
    profile, apikey = fleet(city, "binary", MANHOLE_CONFIG, "ManholeCover")
    post(city, "/rules", demo_rule("MANHOLE_OPEN", profile))
    device = add_device(city, apikey)
    city.drain()
    send(city, apikey, device, manhole_payload(True))
    city.drain()
    [alarm] = alarms_of(city, device)
    case_id = alarm["case_id"]
    assert case_id is not None
    with city.ctx.reading() as session:
        stamp = session.get(Case, case_id).last_public_update_at  # type: ignore[union-attr]
    send(city, apikey, device, manhole_payload(False))
    city.drain()
    for _ in range(4):
        send(city, apikey, device, manhole_payload(True))
        city.drain()
        send(city, apikey, device, manhole_payload(False))
        city.drain()
    found = alarms_of(city, device)
    assert len(found) == 5 and {a["case_id"] for a in found} == {case_id}
    case = city.case(case_id)
    assert len(case["reports"]) == 1 and case["supporters"] == 0
    lines = [e for e in case["timeline"] if e["action"] == "device_normal"]
    assert len(lines) == 5  # one per alarm, each public for the citizen
    with city.ctx.reading() as session:
        row = session.get(Case, case_id)
        assert row is not None and row.last_public_update_at == stamp
        notices = [
            e.payload
            for e in session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.type == CasePublicUpdate.type,
                    OutboxEvent.aggregate_id == str(case_id),
                )
            )
        ]
    assert [n["action"] for n in notices].count("device_normal") == 1
    # The same clear delivered twice writes no second line.
    with city.ctx.writing() as session:
        again = sensors.record_device_normal(
            session,
            case_id=case_id,
            device_id=device,
            alarm_id=found[0]["id"],
            alarm_type="MANHOLE_OPEN",
        )
    assert again is None


@pytest.mark.parametrize(
    ("param", "moment"),
    [
        ("until", "0001-01-02T00:00:00Z"),
        ("until", "0001-01-01T00:30:00+01:00"),
        ("until", "9999-12-31T23:59:59-05:00"),
        ("since", "0001-01-01T00:30:00+01:00"),
        ("since", "1969-12-31T00:00:00Z"),
    ],
)
def test_rollup_dates_out_of_range_are_a_400(city: City, param: str, moment: str) -> None:
    _, apikey = fleet(city)
    device = add_device(city, apikey)
    response = city.client.get(
        f"{BASE}/devices/{device}/rollups",
        params={"attribute": "x", param: moment},
        headers=city.headers("admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == param


def test_retention_folds_ngsild_history_per_tenant_even_without_a_device(city: City) -> None:
    """History published through the NGSI-LD API has no device, and one entity id may live in
    two tenants: each tenant keeps its own rollup and retention never stalls on them."""
    old = (utcnow() - timedelta(days=200)).replace(minute=0, second=0, microsecond=0)
    stamp = old.strftime("%Y-%m-%dT%H:%M:%SZ")
    entity_id = f"urn:ngsi-ld:WeatherObserved:ret-{uuid.uuid4().hex[:8]}"
    for tenant, value in (("city-a", 10.0), ("city-b", 30.0)):
        body = {
            "id": entity_id,
            "type": "WeatherObserved",
            "temperature": {"type": "Property", "value": value, "observedAt": stamp},
        }
        created = city.client.post(
            "/ngsi-ld/v1/entities",
            json=body,
            headers={"NGSILD-Tenant": tenant, "X-Api-Key": DEMO_API_KEY},
        )
        assert created.status_code == 201, created.text
    result = retention.apply_retention(city.ctx.writing, raw_days=90, rollup_days=730)
    assert result.rolled_up >= 2
    with city.ctx.reading() as session:
        rollups = session.scalars(
            select(TelemetryRollup).where(TelemetryRollup.entity_id == entity_id)
        ).all()
    assert sorted((r.tenant, r.device_id, r.sum) for r in rollups) == [
        ("city-a", None, 10.0),
        ("city-b", None, 30.0),
    ]


def test_messages_of_one_device_in_one_batch_meet_its_rules_in_arrival_order(city: City) -> None:
    profile, apikey = fleet(city)
    add_rule(city, profile, **JAMMED)
    raised_then_cleared, still_raised = add_device(city, apikey), add_device(city, apikey)
    measures = [
        {"k": apikey, "i": raised_then_cleared, "payload": "status|jammed"},
        {"k": apikey, "i": still_raised, "payload": "status|ok"},
        {"k": apikey, "i": raised_then_cleared, "payload": "status|ok"},
        {"k": apikey, "i": still_raised, "payload": "status|jammed"},
    ]
    response = city.client.post(BASE + "/measures", json={"measures": measures})
    assert response.status_code == 200, response.text
    assert [a["status"] for a in alarms_of(city, raised_then_cleared)] == ["CLEARED_UNACK"]
    assert [a["status"] for a in alarms_of(city, still_raised)] == ["ACTIVE_UNACK"]


def test_the_alarm_list_filters_by_the_rules_that_raised_the_alarms(city: City) -> None:
    high = alarm_rule(
        "threshold", "LEVEL_HIGH", "MAJOR", attribute="level", op=">", value=5, clear=3
    )
    profile, apikey, device = watched_device(city, high)
    jammed = add_rule(city, profile, **JAMMED)
    send(city, apikey, device, "level|9|status|jammed")
    rule_ids = {a["type"]: a["rule_id"] for a in alarms_of(city, device)}
    assert set(rule_ids) == {"LEVEL_HIGH", "JAMMED"} and rule_ids["JAMMED"] == jammed["id"]
    admin = city.headers("admin")

    def types(rule: str) -> list[str]:
        response = city.client.get(BASE + "/alarms", params={"rule": rule}, headers=admin)
        assert response.status_code == 200, response.text
        return sorted(a["type"] for a in response.json()["items"])

    assert types(str(jammed["id"])).count("JAMMED") >= 1
    assert "LEVEL_HIGH" not in types(str(jammed["id"]))
    both = f"{rule_ids['LEVEL_HIGH']},{jammed['id']}"
    assert {"LEVEL_HIGH", "JAMMED"} <= set(types(both))
    for bad in ("1,,2", "x", ",".join(["1"] * 51)):
        response = city.client.get(BASE + "/alarms", params={"rule": bad}, headers=admin)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "rule"
