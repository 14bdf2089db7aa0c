"""The services domain's built-in dataset: per service and month of submission, what became of
the applications, how many were decided on time and how the applicants rated them; rebuilt
after an application moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cityloop.platforms.data.catalogue import build
from tests.support.catalogue import rows, state
from tests.support.city import City
from tests.support.services import call, definition, save_service, staff, submitted

SERVICE = "test-stats-permit"


def _accepted(city: City) -> dict[str, Any]:
    application = submitted(city, SERVICE)
    return staff(city, application["id"], "accept", "handler-urbanmgmt")


def _decide(city: City, application: dict[str, Any], decision: str, **body: Any) -> None:
    [step] = [s for s in application["steps"] if s["status"] == "active"]
    path = f"steps/{step['id']}/{decision}"
    staff(city, application["id"], path, "handler-urbanmgmt", **body)


@pytest.fixture(scope="module")
def outcomes(city: City) -> None:
    """Five applications: approved (rated 5), denied (rated 2), not accepted, withdrawn, and
    one still under review; then the dataset built."""
    save_service(city, definition(SERVICE, workflow=[{"departments": ["urbanmgmt"], "days": 3}]))
    approved = _accepted(city)
    _decide(city, approved, "approve")
    denied = _accepted(city)
    _decide(city, denied, "deny", reason="too tall", legal_basis="Planning Law 12")
    for number, score in ((approved["id"], 5), (denied["id"], 2)):
        path = f"/api/v1/applications/{number}/rating"
        call(city, "POST", path, "citizen", 201, json={"score": score})
    refused = submitted(city, SERVICE)
    staff(city, refused["id"], "not-accept", "handler-urbanmgmt", reason="outside the city")
    withdrawn = submitted(city, SERVICE)
    call(city, "POST", f"/api/v1/applications/{withdrawn['id']}/withdraw", "citizen")
    _accepted(city)
    city.drain()
    build.build(city.ctx, name="service-applications-stats")


def test_each_outcome_of_the_month_is_counted_with_the_on_time_rate_and_mean_rating(
    city: City, outcomes: None
) -> None:
    [row] = [r for r in rows(city, "service-applications-stats") if r["service"] == SERVICE]
    assert row == {
        "service": SERVICE,
        "service_name": "Test building permit",
        "service_name_zh": "测试施工许可",
        "month": f"{datetime.now(UTC):%Y-%m}",
        "submitted": 5,
        "approved": 1,
        "denied": 1,
        "not_accepted": 1,
        "withdrawn": 1,
        "on_time_rate": 1.0,  # both decisions came the same day, well within 10 working days
        "average_rating": 3.5,
    }


def test_a_draft_never_submitted_is_not_counted(city: City, outcomes: None) -> None:
    call(city, "POST", "/api/v1/applications", "citizen", 201, json={"service": SERVICE})
    build.build(city.ctx, name="service-applications-stats")
    [row] = [r for r in rows(city, "service-applications-stats") if r["service"] == SERVICE]
    assert row["submitted"] == 5


def test_an_application_moving_marks_the_dataset_out_of_date_and_the_refresh_rebuilds_it(
    city: City, outcomes: None
) -> None:
    dirty, built_at = state(city, "service-applications-stats")
    assert not dirty and built_at
    submitted(city, SERVICE)
    city.drain()
    assert state(city, "service-applications-stats")[0]
    assert "service-applications-stats" in build.refresh(city.ctx)
    dirty, refreshed_at = state(city, "service-applications-stats")
    assert not dirty and refreshed_at and refreshed_at > built_at
    [row] = [r for r in rows(city, "service-applications-stats") if r["service"] == SERVICE]
    assert row["submitted"] == 6
