"""Time limits count working days on the city's calendar (holidays off, adjusted weekends on),
stand still while a supplement request is open, and a step past its limit is flagged once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cityloop.base.db import utcnow
from cityloop.domains.services import deadlines
from cityloop.domains.services.deadlines import Clock
from cityloop.domains.services.models import Application, ApplicationStep
from tests.support.city import City
from tests.support.services import call, definition, save_service, staff, submitted

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLOCK = Clock("Asia/Shanghai")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def test_five_working_days_from_before_national_day_end_after_the_adjusted_saturday(
    city: City,
) -> None:
    # 9/30, then 10/1-10/7 off, 10/8, 10/9, Saturday 10/10 worked (调休), Sunday off, 10/12.
    with city.ctx.reading() as session:
        due = deadlines.due_after(
            session, clock=CLOCK, start=at("2026-09-29"), days=5, application=Application()
        )
    assert due is not None
    assert due.astimezone(SHANGHAI).date().isoformat() == "2026-10-12"


def test_a_paused_working_day_moves_the_limit_on_by_one(city: City) -> None:
    application = Application(pauses=[[at("2026-10-08").isoformat(), at("2026-10-09").isoformat()]])
    with city.ctx.reading() as session:
        due = deadlines.due_after(
            session, clock=CLOCK, start=at("2026-09-29"), days=5, application=application
        )
    assert due is not None and due.astimezone(SHANGHAI).date().isoformat() == "2026-10-13"


def test_an_open_pause_has_no_limit_until_it_ends(city: City) -> None:
    application = Application(pauses=[[at("2026-10-08").isoformat(), None]])
    with city.ctx.reading() as session:
        assert (
            deadlines.due_after(
                session, clock=CLOCK, start=at("2026-09-29"), days=5, application=application
            )
            is None
        )


def test_a_pause_over_a_weekend_costs_no_working_day(city: City) -> None:
    # Friday 2026-11-06 to Monday 11-09: Saturday and Sunday paused, Monday too.
    plain = Application()
    paused = Application(pauses=[[at("2026-11-06").isoformat(), at("2026-11-08").isoformat()]])
    with city.ctx.reading() as session:
        before = deadlines.due_after(
            session, clock=CLOCK, start=at("2026-11-04"), days=3, application=plain
        )
        after = deadlines.due_after(
            session, clock=CLOCK, start=at("2026-11-04"), days=3, application=paused
        )
    assert before == after


@pytest.fixture(scope="module", autouse=True)
def permit(city: City) -> None:
    save_service(city, definition())


def test_a_step_past_its_limit_is_flagged_once_and_queued_as_overdue(city: City) -> None:
    application = submitted(city, "test-permit")
    staff(city, application["id"], "accept", "handler-urbanmgmt")
    with city.ctx.writing() as session:
        step = session.scalar(
            select(ApplicationStep).where(
                ApplicationStep.application_id == application["id"],
                ApplicationStep.department_code == "parks",
            )
        )
        assert step is not None
        step.due_at = utcnow() - timedelta(hours=1)
    with city.ctx.writing() as session:
        assert deadlines.sweep_overdue(session) >= 1
    with city.ctx.writing() as session:
        assert deadlines.sweep_overdue(session) == 0
    overdue = call(city, "GET", "/api/v1/service-queue?overdue=true", "handler-parks")
    assert [i["application_id"] for i in overdue] == [application["id"]]
    seen = call(city, "GET", f"/api/v1/staff/applications/{application['id']}", "admin")
    assert "overdue" in [row["action"] for row in seen["staff_timeline"]]
    mine = call(city, "GET", f"/api/v1/applications/{application['id']}", "citizen")
    assert "overdue" not in [row["action"] for row in mine["timeline"]]


def test_the_counters_show_each_departments_on_time_rate_and_ratings(city: City) -> None:
    application = submitted(city, "test-permit")
    number = application["id"]
    accepted = staff(city, number, "accept", "handler-urbanmgmt")
    step = next(s for s in accepted["steps"] if s["department"]["code"] == "roads")
    denied = staff(
        city, number, f"steps/{step['id']}/deny", "handler-roads", reason="no", legal_basis="art. 1"
    )
    assert denied["status"] == "denied"
    call(city, "POST", f"/api/v1/applications/{number}/rating", "citizen", 201, json={"score": 1})
    counters = {
        c["department"]["code"]: c for c in call(city, "GET", "/api/v1/service-stats", "admin")
    }
    assert counters["roads"]["steps_decided"] >= 1 and counters["roads"]["on_time_rate"] == 1.0
    assert counters["urbanmgmt"]["accepted"] >= 1
    assert counters["urbanmgmt"]["ratings"] >= 1 and counters["urbanmgmt"]["poor_ratings"] >= 1
    assert city.client.get("/api/v1/service-stats").status_code == 401


def test_a_late_step_is_escalated_to_its_department_and_the_supervisors(city: City) -> None:
    application = submitted(city, "test-permit")
    staff(city, application["id"], "accept", "handler-urbanmgmt")
    with city.ctx.writing() as session:
        for step in session.scalars(
            select(ApplicationStep).where(ApplicationStep.application_id == application["id"])
        ):
            if step.department_code == "roads":
                step.due_at = utcnow() - timedelta(hours=1)
    with city.ctx.writing() as session:
        deadlines.sweep_overdue(session)
    city.drain()
    number = f"{application['id']:06d}"

    def late(username: str) -> list[dict[str, Any]]:
        inbox = call(city, "GET", "/api/v1/me/notifications", username)
        return [
            n for n in inbox if n["kind"] == "application.step_overdue" and number in n["message"]
        ]

    for username in ("handler-roads", "supervisor"):
        assert late(username) and "审查已超出时限" in late(username)[0]["message_zh"], username
    assert late("handler-parks") == []
