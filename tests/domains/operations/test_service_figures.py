"""The services domain's figures in the operations centre (issue 11), on each engine: hand-counted
applications of March 2030 (decided before, exactly at and after their time limit, rated and
not, across the period's boundaries) through the service functions and HTTP; the bridge upserts
a fact on each application event; the reconcile repairs a deleted or tampered fact."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete

from cityloop.bridges import application_facts
from cityloop.domains.operations import service, service_figures
from cityloop.domains.operations.cuts import Period
from cityloop.domains.operations.models import ApplicationFactRow
from cityloop.platforms.application.identity.service import Actor
from tests.domains.operations.applications import APPLICATIONS, at, march_applications
from tests.domains.operations.cases import MARCH
from tests.support.city import City
from tests.support.services import call, definition, save_service, staff, submitted

PERIOD = Period(*MARCH)
MARCH_QUERY = {"start": MARCH[0].isoformat(), "end": MARCH[1].isoformat()}
ADMIN = Actor(None, "admin", "admin")


@pytest.fixture(scope="module")
def march(city: City) -> dict[str, int]:
    with city.ctx.writing() as session:
        applications = march_applications(session)
        application_facts.reconcile(session)
        return {name: application.id for name, application in applications.items()}


def figures(city: City, period: Period = PERIOD, **filters: str) -> dict[str, dict[str, Any]]:
    with city.ctx.reading() as session:
        by = filters.pop("by", None)
        return service_figures.figures(session, period=period, by=by, filters=filters)


def test_the_services_figures_of_march_are_the_hand_counted_ones(
    city: City, march: dict[str, int]
) -> None:
    found = figures(city)["*"]
    # Submitted in March: a, b, c, e, f, g and h (d in February, i never).
    assert found["services_submitted"] == 7
    # Decided in March: a, b, c, d and h (f was not accepted, g was decided in April).
    assert found["services_decided"] == 5
    # With a time limit: a, b, c and d; a early and b exactly at it are on time.
    assert (found["services_decided_with_deadline"], found["services_decided_on_time"]) == (4, 2)
    assert found["services_on_time_rate"] == 0.5
    # Rated in March: a 5, b 2, d 4 and h 5 (c's 4 stars came in April).
    assert (found["services_ratings"], found["services_satisfaction"]) == (4, 4.0)
    assert (found["services_satisfied"], found["services_satisfaction_rate"]) == (3, 0.75)


def test_the_previous_and_the_following_period_count_what_fell_in_them(
    city: City, march: dict[str, int]
) -> None:
    before = figures(city, PERIOD.previous())["*"]
    assert (before["services_submitted"], before["services_decided"]) == (1, 0)
    assert before["services_on_time_rate"] is None and before["services_satisfaction"] is None
    april = figures(city, Period(MARCH[1], at(1, 0, 5)))["*"]
    assert (april["services_decided"], april["services_decided_on_time"]) == (1, 1)
    assert (april["services_ratings"], april["services_satisfaction"]) == (1, 4.0)


def test_a_cut_by_department_splits_the_city(city: City, march: dict[str, int]) -> None:
    found = figures(city, by="department")
    assert set(found) == {"*", "urbanmgmt", "roads"}
    urban, roads = found["urbanmgmt"], found["roads"]
    assert (urban["services_submitted"], urban["services_decided"]) == (6, 4)
    assert (urban["services_on_time_rate"], urban["services_satisfaction"]) == (0.5, 3.67)
    assert urban["services_satisfaction_rate"] == 0.6667
    assert (roads["services_submitted"], roads["services_decided"]) == (1, 1)
    # Decided with no time limit: counted as decided, never in the on-time rate.
    assert roads["services_on_time_rate"] is None
    assert (roads["services_satisfaction"], roads["services_satisfaction_rate"]) == (5.0, 1.0)
    assert figures(city, department="roads")["*"] == roads


def test_the_kpi_report_carries_the_services_figures_with_the_previous_period(
    city: City, march: dict[str, int]
) -> None:
    with city.ctx.reading() as session:
        report = service.kpi_report(
            session, actor=ADMIN, period=PERIOD, by=None, filters={}, compare=True
        )
    city_row = report["city"]
    assert city_row["figures"]["services_submitted"] == 7
    assert city_row["previous"]["services_submitted"] == 1
    assert city_row["delta"]["services_submitted"] == 6
    assert city_row["delta"]["services_on_time_rate"] is None  # none decided in February
    assert report["services_city_wide"] is False


def test_a_district_scope_gets_the_city_wide_services_figures_and_says_so(
    city: City, march: dict[str, int]
) -> None:
    leader = Actor(None, "district-leader", "leader", district_code="RV01")
    with city.ctx.reading() as session:
        report = service.kpi_report(
            session, actor=leader, period=PERIOD, by="street", filters={}, compare=False
        )
    assert report["services_city_wide"] is True
    assert report["city"]["figures"]["services_submitted"] == 7
    # A street's row cannot hold applications, which carry no place: its figures are None.
    for group in report["groups"]:
        assert group["figures"]["services_submitted"] is None


def test_the_operations_kpis_route_answers_the_services_figures(
    city: City, march: dict[str, int]
) -> None:
    headers = city.headers("leader")
    params = {**MARCH_QUERY, "by": "department"}
    response = city.client.get("/api/v1/operations/kpis", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["city"]["figures"]["services_decided"] == 5
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["urbanmgmt"]["figures"]["services_decided_on_time"] == 2
    assert groups["urbanmgmt"]["previous"]["services_submitted"] == 1
    assert groups["roads"]["figures"]["services_ratings"] == 1


def test_a_departments_staff_see_only_their_departments_services(
    city: City, march: dict[str, int]
) -> None:
    headers = city.headers("handler-roads")
    body = city.client.get("/api/v1/kpis", headers=headers, params=MARCH_QUERY).json()
    assert set(body["departments"]) == {"roads"}
    assert body["city"]["services_submitted"] == 1
    assert body["city"]["services_satisfaction"] == 5.0
    assert body["services_city_wide"] is False


def test_the_bridge_upserts_the_fact_on_each_application_event(city: City) -> None:
    service_code = "test-ops-live"
    save_service(city, definition(service_code, workflow=[{"departments": ["roads"], "days": 3}]))
    application = submitted(city, service_code)
    number = application["id"]
    city.drain()
    with city.ctx.reading() as session:
        fact = session.get(ApplicationFactRow, number)
        assert fact is not None and fact.submitted_at is not None
        assert (fact.decided_at, fact.stars) == (None, None)
    accepted = staff(city, number, "accept", "handler-urbanmgmt")
    [step] = [s for s in accepted["steps"] if s["status"] == "active"]
    staff(city, number, f"steps/{step['id']}/approve", "handler-roads")
    call(city, "POST", f"/api/v1/applications/{number}/rating", "citizen", 201, json={"score": 4})
    city.drain()
    with city.ctx.writing() as session:
        fact = session.get(ApplicationFactRow, number)
        assert fact is not None
        assert (fact.outcome, fact.on_time, fact.stars) == ("approved", True, 4)
        assert fact.hours_to_decide is not None and fact.hours_to_decide >= 0
        # A redelivered event changes nothing.
        assert application_facts.refresh_application(session, application_id=number) is False


def test_the_reconcile_repairs_a_deleted_fact_and_a_tampered_one(
    city: City, march: dict[str, int]
) -> None:
    with city.ctx.writing() as session:
        session.execute(
            delete(ApplicationFactRow).where(ApplicationFactRow.application_id == march["a"])
        )
        session.get_one(ApplicationFactRow, march["b"]).on_time = False
        session.add(
            ApplicationFactRow(
                application_id=10_000_000, service="gone", department="roads", status="approved"
            )
        )
    assert figures(city)["*"]["services_submitted"] == 6
    with city.ctx.writing() as session:
        result = application_facts.reconcile(session)
    assert (result.fixed, result.removed) == (2, 1)
    assert result.checked >= len(APPLICATIONS)
    found = figures(city)["*"]
    assert (found["services_submitted"], found["services_decided_on_time"]) == (7, 2)
