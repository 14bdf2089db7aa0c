"""The city's vital signs on each engine: values counted by hand over a small fleet of our own
(mean, max, min, shares, counts), levels at exactly the thresholds, the hourly trend, district
scope, the alarms each indicator links to, the demo city's indicators, the admins' versioned
edits, and every kind of bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shapely.geometry import Point, shape
from sqlalchemy.orm import Session

from cityloop.demo.city import build_demo_city
from cityloop.demo.vitals import read_vitals
from cityloop.domains.operations import vital_figures, vitals
from cityloop.domains.operations.vital_models import VitalSign
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.perception import rules, service, telemetry
from cityloop.platforms.data.perception.alarm_models import Alarm
from cityloop.platforms.data.perception.codecs import Reading
from cityloop.platforms.data.perception.models import Device
from tests.domains.operations.cases import staff_account
from tests.support.city import City, fresh_point

PATH = "/api/v1/operations/vitals"
SUPERVISOR = Actor(None, "supervisor", "supervisor")
ADMIN = Actor(None, "admin", "admin")
# Our readings sit in three whole UTC hours before now: the oldest, none, the newest.
NEWEST_HOUR = telemetry.as_utc(datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
OLDEST_HOUR = NEWEST_HOUR - timedelta(hours=2)
NOW = NEWEST_HOUR + timedelta(minutes=45)


def point_in(district: str) -> tuple[float, float]:
    """A fresh (lat, lon) inside ``district``."""
    [area] = [
        shape({"type": "Polygon", "coordinates": [j.polygon]})
        for j in build_demo_city().jurisdictions
        if j.code == district
    ]
    for _ in range(2000):
        lat, lon = fresh_point()
        if area.contains(Point(lon, lat)):
            return lat, lon
    raise AssertionError(f"no fresh point left in {district}")


def store(session: Session, device: Device, at: datetime, **values: Any) -> None:
    readings = [Reading(device.device_id, name, value, at, None) for name, value in values.items()]
    telemetry.store_readings(session, device=device, readings=readings, received_at=at)


def indicator(session: Session, code: str, **fields: Any) -> VitalSign:
    """An indicator on our fleet, made as an admin makes one."""
    data = {"name": code, "name_zh": code, "direction": "above", "unit": "", **fields}
    return vitals.save_vital(
        session, code=code, data=vitals.VitalInput(**data), actor=ADMIN, version=None
    )


@pytest.fixture(scope="module")
def fleet(city: City) -> dict[str, Any]:
    """Six sensors of a profile of our own.

    Latest ``level`` / ``state``: d1 (RV01) 10 occupied, d2 (RV01) 20 free, d3 (RV02) 40
    occupied, d4 (no location) 30 occupied; d5 (RV01) is switched off with 1000 occupied; d6
    (RV02) never reported. In the oldest hour d1 said 50 then 30, d2 said 70. An active alarm
    of the level rule stands on d3, a cleared one on d1, and an active one of a battery rule
    on d2."""
    suffix = uuid.uuid4().hex[:8]
    with city.ctx.writing() as session:
        profile = service.create_profile(
            session,
            code=f"vital-{suffix}",
            name="Test gauge",
            entity_type="TestGauge",
            codec="ul",
            codec_config={"mappings": [{"object_id": "l", "name": "level", "type": "Number"}]},
        )
        group = service.create_group(session, apikey=f"vital{suffix}", profile_code=profile.code)
        places = {"d1": "RV01", "d2": "RV01", "d3": "RV02", "d4": None, "d5": "RV01", "d6": "RV02"}
        devices = {}
        for name, district in places.items():
            lat, lon = point_in(district) if district else (None, None)
            devices[name] = service.create_device(
                session, device_id=f"{name}-{suffix}", group=group, lat=lat, lon=lon
            )
        early = OLDEST_HOUR + timedelta(minutes=10)
        store(session, devices["d1"], early, level=50, state="free")
        store(session, devices["d2"], early, level=70, state="occupied")
        store(session, devices["d1"], early + timedelta(minutes=30), level=30, state="free")
        latest = NEWEST_HOUR + timedelta(minutes=5)
        for name, level, state in (
            ("d1", 10, "occupied"),
            ("d2", 20, "free"),
            ("d3", 40, "occupied"),
            ("d4", 30, "occupied"),
            ("d5", 1000, "occupied"),
        ):
            store(session, devices[name], latest, level=level, state=state, battery=0.5)
        service.set_device_active(session, device_id=devices["d5"].device_id, active=False)
        level_rule = rules.create_rule(
            session,
            data=rules.RuleInput(
                name="level high",
                profile_code=profile.code,
                kind="threshold",
                definition={"attribute": "level", "op": ">", "value": 35, "clear": 30},
                alarm_type="LEVEL_HIGH",
                severity="MAJOR",
            ),
        )
        battery_rule = rules.create_rule(
            session,
            data=rules.RuleInput(
                name="battery low",
                profile_code=profile.code,
                kind="threshold",
                definition={"attribute": "battery", "op": "<", "value": 0.6, "clear": 0.7},
                alarm_type="BATTERY_LOW",
                severity="WARNING",
            ),
        )
        alarms = {}
        for name, rule, status in (
            ("d3", level_rule, "ACTIVE_UNACK"),
            ("d1", level_rule, "CLEARED_ACK"),
            ("d2", battery_rule, "ACTIVE_UNACK"),
        ):
            device = devices[name]
            alarm = Alarm(
                originator_id=device.device_id,
                entity_id=device.entity_id,
                type=rule.alarm_type,
                severity=rule.severity,
                status=status,
                rule_id=rule.id,
            )
            session.add(alarm)
            session.flush()
            alarms[name] = alarm.id
        p = profile.code
        indicator(session, f"mean-{suffix}", profile_code=p, attribute="level", aggregation="mean",
                  warning=25, critical=35)  # fmt: skip
        indicator(session, f"max-{suffix}", profile_code=p, attribute="level", aggregation="max",
                  warning=30, critical=40)  # fmt: skip
        indicator(session, f"min-{suffix}", profile_code=p, attribute="level", aggregation="min",
                  direction="below", warning=10, critical=5)  # fmt: skip
        indicator(session, f"above-{suffix}", profile_code=p, attribute="level",
                  aggregation="share_above", operand=15, warning=80, critical=90)  # fmt: skip
        indicator(session, f"below-{suffix}", profile_code=p, attribute="level",
                  aggregation="share_below", operand=15, warning=50, critical=60)  # fmt: skip
        indicator(session, f"occupied-{suffix}", profile_code=p, attribute="state",
                  aggregation="share_equal", operand="occupied", warning=70, critical=75,
                  unit="%")  # fmt: skip
        indicator(session, f"count-{suffix}", profile_code=p, attribute="state",
                  aggregation="count_equal", operand="occupied", warning=1, critical=4)  # fmt: skip
        staff_account(session, "vitals-leader-rv01", "leader", district="RV01")
        return {
            "suffix": suffix,
            "profile": p,
            "devices": {name: d.device_id for name, d in devices.items()},
            "alarms": alarms,
            "rules": {"level": level_rule.id, "battery": battery_rule.id},
        }


def readings(city: City, actor: Actor = SUPERVISOR, **options: Any) -> dict[str, Any]:
    with city.ctx.reading() as session:
        answer = vitals.vital_signs(session, actor=actor, now=NOW, **options)
    return {item["code"]: item for item in answer["items"]}


def ours(found: dict[str, Any], fleet: dict[str, Any]) -> dict[str, Any]:
    """Our indicators by their name before the suffix."""
    tail = "-" + fleet["suffix"]
    return {code.removesuffix(tail): item for code, item in found.items() if code.endswith(tail)}


def test_each_aggregation_counts_the_active_devices_latest_values(
    city: City, fleet: dict[str, Any]
) -> None:
    found = ours(readings(city), fleet)
    values = {code: (item["value"], item["devices"]) for code, item in found.items()}
    assert values == {
        "mean": (25.0, 4),  # (10 + 20 + 40 + 30) / 4; d5 is switched off, d6 never reported
        "max": (40.0, 4),
        "min": (10.0, 4),
        "above": (75.0, 4),  # 20, 40 and 30 are above 15
        "below": (25.0, 4),
        "occupied": (75.0, 4),  # d1, d3 and d4
        "count": (3.0, 4),
    }


def test_a_value_that_reaches_a_threshold_is_at_that_level(
    city: City, fleet: dict[str, Any]
) -> None:
    levels = {code: item["level"] for code, item in ours(readings(city), fleet).items()}
    assert levels == {
        "mean": "warning",  # 25 is the warning threshold
        "max": "critical",  # 40 is the critical one
        "min": "warning",  # lower is worse: 10 reaches the warning 10
        "above": "normal",  # 75 < 80
        "below": "normal",
        "occupied": "critical",  # 75 is the critical one
        "count": "warning",
    }
    level = vitals.level
    assert level(4.99, direction="above", warning=5, critical=10) == "normal"
    assert level(5, direction="above", warning=5, critical=10) == "warning"
    assert level(10, direction="above", warning=5, critical=10) == "critical"
    assert level(5, direction="below", warning=5, critical=3) == "warning"
    assert level(3, direction="below", warning=5, critical=3) == "critical"
    assert level(5.01, direction="below", warning=5, critical=3) == "normal"
    assert level(None, direction="above", warning=5, critical=10) == "unknown"


def test_the_trend_takes_each_devices_last_reading_of_each_hour(
    city: City, fleet: dict[str, Any]
) -> None:
    found = ours(readings(city), fleet)
    trend = found["mean"]["trend"]
    assert len(trend) == 24
    assert trend[-1]["hour"] == NEWEST_HOUR.isoformat()
    # d1's last reading of the oldest hour was 30, d2's 70; nothing in the hour between.
    assert [p["value"] for p in trend[-3:]] == [50.0, None, 25.0]
    assert all(p["value"] is None for p in trend[:-3])
    assert [p["value"] for p in found["occupied"]["trend"][-3:]] == [50.0, None, 75.0]
    assert [p["value"] for p in found["count"]["trend"][-3:]] == [1.0, None, 3.0]


def test_a_district_sees_only_the_devices_standing_in_it(city: City, fleet: dict[str, Any]) -> None:
    rv01 = ours(readings(city, district="RV01"), fleet)
    assert (rv01["mean"]["value"], rv01["mean"]["devices"]) == (15.0, 2)
    assert rv01["count"]["value"] == 1.0
    assert rv01["mean"]["trend"][-3]["value"] == 50.0
    rv02 = ours(readings(city, district="RV02"), fleet)
    assert (rv02["mean"]["value"], rv02["mean"]["devices"]) == (40.0, 1)
    # A district-scoped account sees its own district, whatever it asks for.
    leader = Actor(None, "vitals-leader-rv01", "leader", district_code="RV01")
    assert ours(readings(city, leader, district="RV02"), fleet)["mean"]["value"] == 15.0
    answer = city.client.get(
        PATH, headers=city.headers("vitals-leader-rv01"), params={"district": "RV02"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["district"] == "RV01"


def test_an_indicator_links_the_active_alarms_of_the_rules_on_its_measurement(
    city: City, fleet: dict[str, Any]
) -> None:
    found = ours(readings(city), fleet)
    mean = found["mean"]
    assert mean["rule_ids"] == [fleet["rules"]["level"]]
    # d1's alarm is cleared; d2's is a battery alarm, not about the level.
    assert (mean["alarm_ids"], mean["alarm_count"]) == ([fleet["alarms"]["d3"]], 1)
    assert found["occupied"]["rule_ids"] == [] and found["occupied"]["alarm_count"] == 0
    rv01 = ours(readings(city, district="RV01"), fleet)["mean"]
    assert (rv01["alarm_ids"], rv01["alarm_count"]) == ([], 0)
    # The alarm list filters to the indicator's rules, which is where its tile links.
    listed = city.client.get(
        "/api/v1/perception/alarms",
        headers=city.headers("supervisor"),
        params={"rule": ",".join(map(str, mean["rule_ids"])), "status": "ACTIVE"},
    )
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["items"]] == [fleet["alarms"]["d3"]]


def test_one_indicator_lists_its_devices_with_their_values_and_alarms(
    city: City, fleet: dict[str, Any]
) -> None:
    code = f"occupied-{fleet['suffix']}"
    response = city.client.get(f"{PATH}/{code}", headers=city.headers("supervisor"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["sign"]["value"] == 75.0
    rows = {row["device_id"].split("-")[0]: row for row in answer["devices"]}
    assert set(rows) == {"d1", "d2", "d3", "d4", "d6"}  # d5 is switched off
    assert (rows["d1"]["value"], rows["d1"]["counted"], rows["d1"]["district"]) == (
        "occupied",
        True,
        "RV01",
    )
    assert (rows["d2"]["counted"], rows["d4"]["district"]) == (False, None)
    assert (rows["d6"]["value"], rows["d6"]["counted"], rows["d6"]["observed_at"]) == (
        None,
        None,
        None,
    )
    level = city.client.get(f"{PATH}/mean-{fleet['suffix']}", headers=city.headers("supervisor"))
    level_rows = {row["device_id"].split("-")[0]: row for row in level.json()["devices"]}
    assert level_rows["d3"]["alarm_ids"] == [fleet["alarms"]["d3"]]
    assert level_rows["d1"]["counted"] is None and level_rows["d1"]["value"] == 10


def test_the_demo_city_watches_its_fleet_with_the_indicators_of_its_folder(city: City) -> None:
    response = city.client.get(PATH, headers=city.headers("supervisor"))
    assert response.status_code == 200, response.text
    codes = [item["code"] for item in response.json()["items"]]
    expected = [code for code, _ in read_vitals()]
    assert [code for code in codes if code in expected] == expected  # in the file's order
    assert {"air-pm25-mean", "flood-level-worst", "parking-occupancy", "lamps-out"} <= set(codes)
    by_code = {item["code"]: item for item in response.json()["items"]}
    # The demo's flood rule watches waterLevel on the gauges, and the lamp rule their status.
    assert len(by_code["flood-level-worst"]["rule_ids"]) == 1
    assert len(by_code["lamps-out"]["rule_ids"]) == 1
    assert by_code["parking-occupancy"]["unit"] == "%"


def test_an_admin_edits_an_indicator_on_its_version_and_the_edit_is_audited(
    city: City, fleet: dict[str, Any]
) -> None:
    code = f"edited-{fleet['suffix']}"
    body = {
        "name": "Gauge level",
        "name_zh": "水位",
        "profile_code": fleet["profile"],
        "attribute": "level",
        "aggregation": "max",
        "unit": "m",
        "direction": "above",
        "warning": 50,
        "critical": 60,
    }
    admin = city.headers("admin")
    created = city.client.put(f"{PATH}/{code}", json=body, headers=admin)
    assert created.status_code == 200, created.text
    assert (created.json()["value"], created.json()["level"], created.json()["version"]) == (
        40.0,
        "normal",
        1,
    )
    blind = city.client.put(f"{PATH}/{code}", json={**body, "warning": 40}, headers=admin)
    assert blind.status_code == 428, blind.text
    edited = city.client.put(
        f"{PATH}/{code}", json={**body, "warning": 40, "version": 1}, headers=admin
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["level"], edited.json()["version"]) == ("warning", 2)
    stale = city.client.put(
        f"{PATH}/{code}", json={**body, "warning": 45, "version": 1}, headers=admin
    )
    assert stale.status_code == 409, stale.text
    with city.ctx.reading() as session:
        kept = versions.history(session, kind="vital-sign", key=code)
    assert [(v.version, v.action, v.changes) for v in kept] == [
        (2, "edit", ["warning"]),
        (1, "create", sorted(vitals.VitalInput.__dataclass_fields__)),
    ]
    supervisor = city.client.put(f"{PATH}/{code}", json=body, headers=city.headers("supervisor"))
    assert supervisor.status_code == 403, supervisor.text
    gone = city.client.delete(f"{PATH}/{code}", params={"version": 2}, headers=admin)
    assert gone.status_code == 204, gone.text
    assert city.client.get(f"{PATH}/{code}", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"aggregation": "median"}, "aggregation", "operations.vital_aggregation"),
        ({"direction": "up"}, "direction", "operations.vital_direction"),
        ({"profile_code": "no-such-profile"}, "profile_code", "operations.vital_profile"),
        ({"aggregation": "share_above"}, "operand", "operations.vital_operand_number"),
        ({"aggregation": "share_above", "operand": "x"}, "operand",
         "operations.vital_operand_number"),
        ({"aggregation": "count_equal", "operand": 3}, "operand", "operations.vital_operand_text"),
        ({"operand": 3}, "operand", "operations.vital_operand_none"),
        ({"warning": 70, "critical": 60}, "critical", "operations.vital_thresholds"),
        ({"direction": "below"}, "critical", "operations.vital_thresholds"),
    ],
)  # fmt: skip
def test_a_definition_that_cannot_be_computed_or_judged_is_refused_naming_its_field(
    city: City, fleet: dict[str, Any], change: dict[str, Any], field: str, code: str
) -> None:
    body = {
        "name": "x",
        "name_zh": "x",
        "profile_code": fleet["profile"],
        "attribute": "level",
        "aggregation": "mean",
        "direction": "above",
        "warning": 50,
        "critical": 60,
        **change,
    }
    response = city.client.put(
        f"{PATH}/bad-{fleet['suffix']}", json=body, headers=city.headers("admin")
    )
    assert response.status_code == 400, response.text
    assert (response.json()["field"], response.json()["code"]) == (field, code)


def test_bad_questions_get_a_4xx_that_names_the_problem(city: City, fleet: dict[str, Any]) -> None:
    supervisor = city.headers("supervisor")
    unknown = city.client.get(f"{PATH}/no-such-vital", headers=supervisor)
    assert unknown.status_code == 404, unknown.text
    too_long = city.client.get(f"{PATH}/{'x' * 80}", headers=supervisor)
    assert too_long.status_code == 404, too_long.text
    district = city.client.get(PATH, params={"district": "RV01-S01"}, headers=supervisor)
    assert district.status_code == 400, district.text
    assert (district.json()["field"], district.json()["code"]) == (
        "district",
        "operations.vital_district",
    )
    bad_code = city.client.put(
        f"{PATH}/Bad_Code",
        json={"name": "x", "name_zh": "x", "profile_code": fleet["profile"], "attribute": "l",
              "aggregation": "mean", "direction": "above", "warning": 1, "critical": 2},
        headers=city.headers("admin"),
    )  # fmt: skip
    assert bad_code.status_code == 400 and bad_code.json()["field"] == "code", bad_code.text
    assert city.client.get(PATH).status_code == 401
    assert city.client.get(PATH, headers=city.headers("citizen")).status_code == 403
    clerk = city.client.get(PATH, headers=city.headers("clerk"))
    assert clerk.status_code == 403, clerk.text
    rules_filter = city.client.get(
        "/api/v1/perception/alarms", params={"rule": "1,x"}, headers=supervisor
    )
    assert rules_filter.status_code == 400, rules_filter.text
    assert (rules_filter.json()["field"], rules_filter.json()["code"]) == (
        "rule",
        "perception.rule_ids",
    )


def test_closed_hours_are_kept_a_few_minutes_and_the_current_hour_is_always_read(
    city: City, fleet: dict[str, Any]
) -> None:
    code = f"depth-{fleet['suffix']}"
    with city.ctx.writing() as session:
        indicator(session, code, profile_code=fleet["profile"], attribute="depth",
                  aggregation="max", warning=5, critical=9)  # fmt: skip
        d1 = session.get(Device, fleet["devices"]["d1"])
        assert d1 is not None
        store(session, d1, OLDEST_HOUR + timedelta(minutes=5), depth=1)
        store(session, d1, NEWEST_HOUR + timedelta(minutes=1), depth=2)

    def depth_trend() -> list[float | None]:
        return [p["value"] for p in readings(city)[code]["trend"][-3:]]

    assert depth_trend() == [1.0, None, 2.0]
    with city.ctx.writing() as session:
        d1 = session.get(Device, fleet["devices"]["d1"])
        assert d1 is not None
        # A reading arriving late for a closed hour, and a new one in the current hour.
        store(session, d1, OLDEST_HOUR + timedelta(minutes=20), depth=3)
        store(session, d1, NEWEST_HOUR + timedelta(minutes=2), depth=4)
    assert depth_trend() == [1.0, None, 4.0]
    vital_figures.forget_trends()
    assert depth_trend() == [3.0, None, 4.0]
