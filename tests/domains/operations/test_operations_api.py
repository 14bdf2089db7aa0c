"""The operations routes on each engine: cuts with the previous period, drill-down to the case
list, scope (department staff, a district-scoped account, a leader), league tiers, trends,
hotspots turned into proactive tasks, and every kind of bad input."""

from __future__ import annotations

from typing import Any

import pytest

from cityloop.bridges import case_facts
from tests.domains.operations.cases import MARCH, march_cases, staff_account
from tests.support.city import City

PERIOD = {"start": MARCH[0].isoformat(), "end": MARCH[1].isoformat()}


@pytest.fixture(scope="module")
def march(city: City) -> dict[str, int]:
    with city.ctx.writing() as session:
        cases = march_cases(session)
        staff_account(session, "leader-city", "leader")
        staff_account(session, "leader-rv02", "leader", district="RV02")
        staff_account(session, "supervisor-rv02", "supervisor", district="RV02")
        case_facts.reconcile(session)
        return {name: case.id for name, case in cases.items()}


def get(city: City, path: str, who: str = "supervisor", expect: int = 200, **params: Any) -> Any:
    response = city.client.get(path, headers=city.headers(who), params=params)
    assert response.status_code == expect, response.text
    return response.json()


def test_a_cut_carries_the_previous_period_and_each_figures_delta(
    city: City, march: dict[str, int]
) -> None:
    answer = get(city, "/api/v1/operations/kpis", **PERIOD)
    city_row = answer["city"]
    assert city_row["figures"]["registered"] == 5
    # February's last 31 days held d's registration and its response, started in time.
    assert answer["previous_start"].startswith("2030-01-29")
    assert city_row["previous"]["registered"] == 1
    assert city_row["previous"]["response_rate"] == 1.0
    assert city_row["delta"]["registered"] == 4
    assert city_row["delta"]["response_rate"] == -0.5
    assert answer["next_by"] == "district"
    plain = get(city, "/api/v1/operations/kpis", compare="false", **PERIOD)
    assert plain["city"]["previous"] is None and plain["previous_start"] is None


def test_the_drill_down_goes_city_district_street_grid_then_the_cases(
    city: City, march: dict[str, int]
) -> None:
    districts = get(city, "/api/v1/operations/kpis", by="district", **PERIOD)
    assert {g["key"] for g in districts["groups"]} == {"RV01", "RV02"}
    assert districts["next_by"] == "street"
    streets = get(city, "/api/v1/operations/kpis", by="street", district="RV02", **PERIOD)
    assert [g["key"] for g in streets["groups"]] == ["RV02-S01"]
    assert streets["next_by"] == "grid"
    grids = get(
        city,
        "/api/v1/operations/kpis",
        by="grid",
        district="RV02",
        street="RV02-S01",
        **PERIOD,
    )
    assert {g["key"] for g in grids["groups"]} == {"RV02-S01-G01", "RV02-S01-G02"}
    assert grids["next_by"] is None
    overdue = get(
        city,
        "/api/v1/operations/cases",
        figure="overdue",
        district="RV02",
        street="RV02-S01",
        grid="RV02-S01-G01",
        **PERIOD,
    )
    assert [c["case_id"] for c in overdue] == [march["c"]]
    # ... and the last step is the case itself, from governance.
    assert city.case(march["c"])["id"] == march["c"]
    due = get(city, "/api/v1/operations/cases", figure="due", **PERIOD)
    assert {c["case_id"] for c in due} == {march[n] for n in "abcdg"}


def test_department_staff_see_their_department_only(city: City, march: dict[str, int]) -> None:
    answer = get(city, "/api/v1/operations/kpis", "handler-water", by="department", **PERIOD)
    assert [g["key"] for g in answer["groups"]] == ["water"]
    assert answer["filters"] == {"department": "water"}
    # Asking for another department does not widen the scope.
    other = get(city, "/api/v1/operations/kpis", "handler-water", department="roads", **PERIOD)
    assert other["city"]["figures"]["due"] == 2
    cases = get(city, "/api/v1/operations/cases", "handler-water", figure="due", **PERIOD)
    assert {c["case_id"] for c in cases} == {march["c"], march["d"]}
    legacy = get(city, "/api/v1/kpis", "handler-water", **PERIOD)
    assert set(legacy["departments"]) == {"water"}


def test_a_district_scoped_account_sees_its_district_only(
    city: City, march: dict[str, int]
) -> None:
    for who in ("leader-rv02", "supervisor-rv02"):
        answer = get(city, "/api/v1/operations/kpis", who, by="district", **PERIOD)
        assert [g["key"] for g in answer["groups"]] == ["RV02"]
        assert answer["city"]["figures"]["due"] == 2
        asked = get(city, "/api/v1/operations/kpis", who, district="RV01", **PERIOD)
        assert asked["filters"]["district"] == "RV02"
        cases = get(city, "/api/v1/operations/cases", who, figure="due", **PERIOD)
        assert {c["case_id"] for c in cases} == {march["c"], march["d"]}


def test_a_leader_reads_the_operations_centre_and_nothing_else(
    city: City, march: dict[str, int]
) -> None:
    answer = get(city, "/api/v1/operations/kpis", "leader-city", by="district", **PERIOD)
    assert {g["key"] for g in answer["groups"]} == {"RV01", "RV02"}
    get(city, "/api/v1/operations/league", "leader-city", month="2030-03")
    # Read-only: no case list of governance, no proactive task.
    assert city.client.get("/api/v1/cases", headers=city.headers("leader-city")).status_code == 403
    refused = city.client.post(
        "/api/v1/operations/hotspots/tasks",
        headers=city.headers("leader-city"),
        json={"month": "2030-03", "level": "street", "area": "RV01-S01", "category": "C-02-01"},
    )
    assert refused.status_code == 403
    # The clerk works with papers, not cases.
    get(city, "/api/v1/operations/kpis", "clerk", expect=403, **PERIOD)


def test_the_league_ranks_by_score_in_four_tiers(city: City, march: dict[str, int]) -> None:
    table = get(city, "/api/v1/operations/league", month="2030-03", of="department")
    rows = table["rows"]
    # roads: on time 2/3, satisfaction 1/2, rework 1/3 → 100 × (0.5·⅔ + 0.3·½ + 0.2·⅔) = 61.67;
    # water: on time 0/2, no ratings (weight left out), no rework → 100 × 0.2 / 0.7 = 28.57.
    assert [(r["key"], r["rank"], r["score"]) for r in rows] == [
        ("roads", 1, 61.67),
        ("water", 2, 28.57),
    ]
    assert [(r["tier"], r["tier_name_zh"]) for r in rows] == [
        ("advanced", "先进"),
        ("fair", "一般"),
    ]
    streets = get(city, "/api/v1/operations/league", month="2030-03", of="street")
    assert streets["ranked"] == 3
    own = get(city, "/api/v1/operations/league", "handler-water", month="2030-03")
    assert [(r["key"], r["rank"]) for r in own["rows"]] == [("water", 2)]


def test_a_trend_gives_one_point_per_bucket(city: City, march: dict[str, int]) -> None:
    weekly = get(
        city,
        "/api/v1/operations/trends",
        figure="registered",
        bucket="week",
        start="2030-03-01T00:00:00Z",
        end="2030-03-15T00:00:00Z",
    )
    # ISO weeks from Monday 25 February: a and b in the first, none in the second and third.
    assert [(p["start"][:10], p["value"]) for p in weekly["points"]] == [
        ("2030-02-25", 2),
        ("2030-03-04", 0),
        ("2030-03-11", 1),
    ]
    monthly = get(
        city,
        "/api/v1/operations/trends",
        figure="closure_rate",
        bucket="month",
        start="2030-02-01T00:00:00Z",
        end="2030-04-01T00:00:00Z",
    )
    assert [p["value"] for p in monthly["points"]] == [None, 0.6]
