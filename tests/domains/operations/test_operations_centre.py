"""The operations centre's map, area heat and live changes on each engine: which layers come
back and in what shape, who sees what (a department, a district, a leader), heat values counted
by hand, workers' positions as audited personal data, bad input, and the change log the live
feed reads (a case change and an alarm change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.domains.operations import live
from cityloop.domains.operations.facts import CaseFact, record_case
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import AuditEntry
from cityloop.platforms.data.access.models import DataAccess
from cityloop.platforms.data.perception import alarms
from cityloop.platforms.data.perception import service as perception
from tests.domains.operations.cases import staff_account
from tests.support.city import City
from tests.support.crews import new_crew, new_worker

# Case ids far above any governance case: these facts are the test's own.
FIRST_ID = 9_100_000
NOW = datetime.now(UTC)
PAST = NOW - timedelta(days=1)
LATER = NOW + timedelta(days=3)
# The second made-up grid, in district RV02.
IN_G2 = {"district": "RV02", "street": "OPS-S2", "grid": "OPS-G2"}


def label_point(city: City, code: str) -> tuple[float, float]:
    """(lat, lon) of an area's label: a point inside it."""
    with city.ctx.reading() as session:
        area = session.get(Jurisdiction, code)
        assert area is not None
        return area.label_lat, area.label_lon


def fact(case_id: int, **values: Any) -> CaseFact:
    fields: dict[str, Any] = {
        "case_id": case_id,
        "category": "C-02-01",
        "priority": "normal",
        "channel": "app",
        "department": "roads",
        "district": "RV01",
        "street": "OPS-S1",
        "grid": "OPS-G1",
        "lat": 30.25,
        "lon": 120.15,
        "status": "dispatched",
        "created_at": PAST,
        "resolution_due": LATER,
        **values,
    }
    return CaseFact(**fields)


@pytest.fixture(scope="module")
def leaders(city: City) -> None:
    """A leader scoped to RV02 and a city-wide one."""
    with city.ctx.writing() as session:
        staff_account(session, "ops-leader-rv02", "leader", district="RV02")
        staff_account(session, "ops-citywide-leader", "leader")


@pytest.fixture(scope="module")
def facts(city: City, leaders: None) -> dict[str, int]:
    """Seven facts in two made-up grids of RV01 and RV02, counted by hand below."""
    wanted = {
        # OPS-G1: three open (one overdue), one closed, one rejected.
        "g1_open": fact(FIRST_ID + 1),
        "g1_overdue": fact(FIRST_ID + 2, resolution_due=PAST, priority="urgent"),
        "g1_open_water": fact(FIRST_ID + 3, department="water"),
        "g1_closed": fact(FIRST_ID + 4, status="closed", closed_at=NOW, resolution_due=PAST),
        "g1_rejected": fact(FIRST_ID + 5, status="rejected", resolution_due=None),
        # OPS-G2 in RV02: two open, both overdue.
        "g2_a": fact(FIRST_ID + 6, resolution_due=PAST, **IN_G2),
        "g2_b": fact(FIRST_ID + 7, resolution_due=PAST, department="water", **IN_G2),
    }  # fmt: skip
    with city.ctx.writing() as session:
        for value in wanted.values():
            record_case(session, fact=value)
    return {name: value.case_id for name, value in wanted.items()}


def get(city: City, path: str, who: str = "supervisor", expect: int = 200, **params: Any) -> Any:
    response = city.client.get(path, headers=city.headers(who), params=params)
    assert response.status_code == expect, response.text
    return response.json()


def rows_of(layer: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(layer["columns"], row, strict=True)) for row in layer["rows"]]


def test_the_map_sends_open_cases_as_compact_rows_with_priority_and_overdue(
    city: City, facts: dict[str, int]
) -> None:
    answer = get(city, "/api/v1/operations/map", layers="cases")
    assert answer["alarms"] is None and answer["devices"] is None and answer["crews"] is None
    assert answer["cases"]["columns"][:3] == ["id", "lat", "lon"]
    cases = {row["id"]: row for row in rows_of(answer["cases"])}
    assert facts["g1_closed"] not in cases and facts["g1_rejected"] not in cases
    assert cases[facts["g1_overdue"]]["overdue"] is True
    assert cases[facts["g1_overdue"]]["priority"] == "urgent"
    assert cases[facts["g1_open"]]["overdue"] is False
    assert cases[facts["g1_open"]]["status"] == "dispatched"
    # No personal data: the case row has codes, a point and a status, nothing a person wrote.
    assert set(answer["cases"]["columns"]) == {
        "id", "lat", "lon", "status", "priority", "overdue", "category", "district",
    }  # fmt: skip


def test_a_department_sees_its_cases_and_a_district_leader_only_their_district(
    city: City, facts: dict[str, int]
) -> None:
    roads = {
        r["id"]
        for r in rows_of(
            get(city, "/api/v1/operations/map", "handler-roads", layers="cases")["cases"]
        )
    }
    assert facts["g1_open"] in roads and facts["g1_open_water"] not in roads
    leader = get(
        city, "/api/v1/operations/map", "ops-leader-rv02", layers="cases,alarms,devices,crews"
    )
    assert leader["scope"] == {"district": "RV02"}
    cases = rows_of(leader["cases"])
    assert {c["district"] for c in cases} == {"RV02"}
    assert {facts["g2_a"], facts["g2_b"]} <= {c["id"] for c in cases}
    rv02 = label_point(city, "RV02")
    # Devices and alarms are placed by their point: everything the leader sees lies in RV02.
    with city.ctx.reading() as session:
        from cityloop.platforms.application.geo import service as geo

        index = geo.jurisdiction_index(session)
        for device in rows_of(leader["devices"]):
            placed = index.place(device["lon"], device["lat"])
            assert placed is not None and placed.district.code == "RV02"
    assert rv02  # the district has a label point the tests below stand workers on
    whole = get(city, "/api/v1/operations/map", "ops-citywide-leader", layers="cases")
    assert {"RV01", "RV02"} <= {c["district"] for c in rows_of(whole["cases"])}


def test_a_counter_clerk_and_a_citizen_do_not_read_the_map(city: City) -> None:
    get(city, "/api/v1/operations/map", "clerk", expect=403)
    get(city, "/api/v1/operations/map", "citizen", expect=403)
    assert city.client.get("/api/v1/operations/map").status_code == 401


def test_heat_by_grid_counts_open_cases_and_their_overdue_share_by_hand(
    city: City, facts: dict[str, int]
) -> None:
    counts = get(city, "/api/v1/operations/areas", level="grid", measure="count")
    by_code = {a["code"]: a for a in counts["areas"]}
    assert by_code["OPS-G1"] == {"code": "OPS-G1", "open": 3, "overdue": 1, "value": 3}
    assert by_code["OPS-G2"] == {"code": "OPS-G2", "open": 2, "overdue": 2, "value": 2}
    shares = get(city, "/api/v1/operations/areas", level="grid", measure="overdue_share")
    by_code = {a["code"]: a for a in shares["areas"]}
    assert by_code["OPS-G1"]["value"] == pytest.approx(1 / 3, abs=1e-4)
    assert by_code["OPS-G2"]["value"] == 1.0
    # A department's handler counts only their department's cases: roads has one in OPS-G2.
    roads = get(city, "/api/v1/operations/areas", "handler-roads", level="grid")
    assert {a["code"]: a["open"] for a in roads["areas"]}["OPS-G2"] == 1
    streets = get(city, "/api/v1/operations/areas", "ops-leader-rv02", level="street")
    assert "OPS-S1" not in {a["code"] for a in streets["areas"]}
    assert {a["code"]: a["open"] for a in streets["areas"]}["OPS-S2"] == 2


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("/api/v1/operations/map", {"layers": "cases,traffic"}, "layers", "traffic"),
        ("/api/v1/operations/areas", {"level": "county"}, "level", "county"),
        ("/api/v1/operations/areas", {"measure": "mean"}, "measure", "mean"),
        ("/api/v1/operations/live", {"last_event_id": "abc"}, "Last-Event-ID", "Last-Event-ID"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    city: City, path: str, params: dict[str, str], field: str, words: str
) -> None:
    response = city.client.get(path, params=params, headers=city.headers("supervisor"))
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["field"] == field
    assert words in problem["detail"]
    chinese = city.client.get(
        path, params=params, headers={**city.headers("supervisor"), "Accept-Language": "zh-CN"}
    ).json()
    assert chinese["detail"] != problem["detail"]


def test_a_worker_reports_a_position_and_the_map_shows_it_audited_and_logged(
    city: City, leaders: None
) -> None:
    worker, worker_id = new_worker(city, "roads")
    crew_id = new_crew(city, "roads", worker)
    lat, lon = label_point(city, "RV02")
    response = city.client.post(
        "/api/v1/me/position",
        json={"lat": lat, "lon": lon, "accuracy_m": 8},
        headers=city.headers(worker),
    )
    assert response.status_code == 200, response.text
    # An older fix arriving late leaves the newer one.
    stale = city.client.post(
        "/api/v1/me/position",
        json={"lat": 0.0, "lon": 0.0, "at": (NOW - timedelta(hours=2)).isoformat()},
        headers=city.headers(worker),
    )
    assert stale.json()["lat"] == lat
    answer = get(city, "/api/v1/operations/map", "dispatcher", layers="crews")
    workers = {w["user_id"]: w for w in rows_of(answer["workers"])}
    assert workers[worker_id]["lat"] == lat and crew_id in workers[worker_id]["crews"]
    assert any(c["id"] == crew_id and c["located"] == 1 for c in answer["crews"])
    with city.ctx.reading() as session:
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "operations.positions_read", AuditEntry.actor == "dispatcher"
            )
        ).all()
        assert any(worker_id in entry.detail["workers"] for entry in audit)
        logged = session.scalars(
            select(DataAccess).where(
                DataAccess.user_id == worker_id, DataAccess.actor == "dispatcher"
            )
        ).all()
        assert logged and logged[-1].fields == ["position"]
    # A water handler sees water's crews only; a leader of RV02, where the worker stands, sees it.
    water = get(city, "/api/v1/operations/map", "handler-water", layers="crews")
    assert worker_id not in {w["user_id"] for w in rows_of(water["workers"])}
    rv02 = get(city, "/api/v1/operations/map", "ops-leader-rv02", layers="crews")
    assert worker_id in {w["user_id"] for w in rows_of(rv02["workers"])}


def test_only_field_accounts_report_positions_and_bad_points_are_refused(city: City) -> None:
    answer = city.client.post(
        "/api/v1/me/position", json={"lat": 30.2, "lon": 120.1}, headers=city.headers("supervisor")
    )
    assert answer.status_code == 403
    worker, _ = new_worker(city, "roads")
    for body, field in (
        ({"lat": 91, "lon": 120.1}, "lat"),
        ({"lat": 30.2, "lon": 120.1, "at": (NOW + timedelta(hours=1)).isoformat()}, "at"),
    ):
        refused = city.client.post("/api/v1/me/position", json=body, headers=city.headers(worker))
        assert refused.status_code in (400, 422), refused.text
        assert field in refused.text


def test_the_live_log_holds_a_case_change_for_those_in_scope(
    city: City, facts: dict[str, int]
) -> None:
    with city.ctx.reading() as session:
        before = live.latest_change_id(session)
    with city.ctx.writing() as session:
        record_case(session, fact=fact(facts["g2_a"], status="in_progress", **IN_G2))
        # Recording the same fact again changes nothing, so nothing more is sent.
        record_case(session, fact=fact(facts["g2_a"], status="in_progress", **IN_G2))
    with city.ctx.reading() as session:
        leader = identity.actor_for(identity.user_named(session, username="ops-leader-rv02"))
        poll = live.changes_since(session, actor=leader, after=before)
        mine = [c for c in poll.changes if c.kind == "case" and c.data["id"] == facts["g2_a"]]
        assert [c.data["status"] for c in mine] == ["in_progress"]
        assert mine[0].data["open"] is True and poll.cursor >= mine[0].id
        water = identity.actor_for(identity.user_named(session, username="handler-water"))
        theirs = live.changes_since(session, actor=water, after=before).changes
        assert facts["g2_a"] not in {c.data.get("id") for c in theirs if c.kind == "case"}
        # A change the feed missed (written before, committed after a higher one) is asked for
        # again by id, below the cursor, and found.
        again = live.changes_since(session, actor=leader, after=poll.cursor, gaps=[mine[0].id])
        assert [c.id for c in again.changes] == [mine[0].id] and again.missing == set()


def test_the_live_log_holds_an_alarm_raised_acknowledged_and_cleared(
    city: City, leaders: None
) -> None:
    lat, lon = label_point(city, "RV01")
    with city.ctx.writing() as session:
        before = live.latest_change_id(session)
        group = perception.list_groups(session)[0]
        device = perception.create_device(
            session, device_id=f"ops-{FIRST_ID}", group=group, lat=lat, lon=lon
        )
        alarm, created = alarms.raise_alarm(
            session, device=device, rule_id=None, alarm_type="OPS_TEST", severity="MAJOR",
            at=NOW, details={},
        )  # fmt: skip
        assert created
        alarm_id = alarm.id
    city.drain()
    with city.ctx.writing() as session:
        alarms.acknowledge(session, alarm_id=alarm_id, username="dispatcher")
    city.drain()
    with city.ctx.writing() as session:
        alarms.clear_manually(session, alarm_id=alarm_id, username="dispatcher")
    city.drain()
    with city.ctx.reading() as session:
        dispatcher = identity.actor_for(identity.user_named(session, username="dispatcher"))
        changes = live.changes_since(session, actor=dispatcher, after=before).changes
        seen = [c.data for c in changes if c.kind == "alarm" and c.data["id"] == alarm_id]
        assert [c["change"] for c in seen] == ["raised", "acknowledged", "cleared"]
        assert seen[0]["severity"] == "MAJOR" and seen[0]["lat"] == lat
        leader = identity.actor_for(identity.user_named(session, username="ops-leader-rv02"))
        theirs = live.changes_since(session, actor=leader, after=before).changes
        assert alarm_id not in {c.data["id"] for c in theirs if c.kind == "alarm"}
    answer = get(city, "/api/v1/operations/map", layers="alarms")
    assert alarm_id not in {a["id"] for a in rows_of(answer["alarms"])}  # cleared: off the map


def test_a_device_state_change_is_found_by_comparing_two_readings() -> None:
    before = {"a": {"id": "a", "state": "online"}, "b": {"id": "b", "state": "never_seen"}}
    after = {"a": {"id": "a", "state": "offline"}, "c": {"id": "c", "state": "online"}}
    changes = live.state_changes(before, after)
    assert {(c["id"], c["state"]) for c in changes} == {
        ("a", "offline"),
        ("c", "online"),
        ("b", None),
    }


def test_ids_skipped_below_the_cursor_are_asked_for_again_within_a_window() -> None:
    # Found 10 and 13 after 9: 11 and 12 are not there yet.
    assert live.missing_ids(9, 13, [10, 13], []) == {11, 12}
    # Next poll: 12 came, 11 still has not; nothing new is missing.
    assert live.missing_ids(13, 13, [12], [11, 12]) == {11}
    # Far behind, only the last MAX_GAP_SPAN ids below the cursor are watched.
    far = live.missing_ids(0, 5000, [5000], [])
    assert min(far) == 5000 - live.MAX_GAP_SPAN and len(far) == live.MAX_GAP_SPAN


def test_old_changes_are_pruned_after_a_day(city: City) -> None:
    with city.ctx.writing() as session:
        kept = live.latest_change_id(session)
        assert kept > 0
        live.prune(session, now=datetime.now(UTC) + live.KEEP + timedelta(minutes=1))
        assert live.latest_change_id(session) == 0


def test_the_demo_city_shows_each_departments_crew_where_its_worker_reported(city: City) -> None:
    answer = get(city, "/api/v1/operations/map", "admin", layers="crews")
    demo_crews = {c["department"]: c for c in answer["crews"] if c["name"].endswith("field crew")}
    assert {"roads", "water"} <= set(demo_crews)
    assert all(crew["located"] >= 1 for crew in demo_crews.values())
    workers = {w["username"] for w in rows_of(answer["workers"])}
    assert {"worker-roads", "worker-water"} <= workers
