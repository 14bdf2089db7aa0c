"""An application from draft to decision through HTTP: three departments review in parallel,
one asks for a supplement, the clock pauses, the last stage approves; every illegal move is
refused with the status that names it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.city import City
from tests.support.services import (
    GOOD_FORM,
    call,
    definition,
    draft,
    hand_in,
    save_service,
    staff,
    step_of,
    submitted,
)


@pytest.fixture(scope="module", autouse=True)
def permit(city: City) -> None:
    save_service(city, definition())


def accepted(city: City) -> dict[str, Any]:
    application = submitted(city, "test-permit")
    return staff(city, application["id"], "accept", "handler-urbanmgmt")


def test_the_hall_finds_the_service_by_english_or_chinese_words(city: City) -> None:
    found = call(city, "GET", "/api/v1/services?q=测试+施工", "citizen")
    assert [s["code"] for s in found] == ["test-permit"]
    assert call(city, "GET", "/api/v1/services?q=building+permit&audience=enterprise", "citizen")
    guide = city.client.get("/api/v1/services/test-permit").json()
    assert [m["code"] for m in guide["materials"]] == ["site-plan", "photo"]
    assert [[d["code"] for d in s["departments"]] for s in guide["workflow"]] == [
        ["environment", "parks", "roads"],
        ["urbanmgmt"],
    ]


def test_three_departments_review_at_once_then_the_last_stage_approves(city: City) -> None:
    application = accepted(city)
    number = application["id"]
    assert application["status"] == "under_review"
    assert application["due_at"]
    active = [s["department"]["code"] for s in application["steps"] if s["status"] == "active"]
    assert active == ["environment", "parks", "roads"]
    for department in ("environment", "parks"):
        step = step_of(application, department)
        application = staff(city, number, f"steps/{step['id']}/approve", f"handler-{department}")
    assert application["status"] == "under_review"
    step = step_of(application, "roads")
    application = staff(city, number, f"steps/{step['id']}/approve", "handler-roads")
    final = step_of(application, "urbanmgmt")
    assert final["status"] == "active" and final["stage"] == 1
    application = staff(city, number, f"steps/{final['id']}/approve", "handler-urbanmgmt")
    assert application["status"] == "approved"
    mine = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    lines = [(row["action"], row["message"], row["message_zh"]) for row in mine["timeline"]]
    assert lines[0][0] == "submit" and "测试施工许可" in lines[0][2]
    assert ("approve", "Approved", "审批通过") in lines
    assert all(row["message"] and row["message_zh"] for row in mine["timeline"])


def test_a_supplement_request_pauses_the_clock_until_the_applicant_answers(city: City) -> None:
    application = accepted(city)
    number = application["id"]
    step = step_of(application, "parks")
    path = f"steps/{step['id']}/request_supplement"
    asked = staff(city, number, path, "handler-parks", items=["a tree survey"])
    assert asked["status"] == "supplement_requested"
    mine = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    assert mine["paused"] is True and mine["supplement_items"] == ["a tree survey"]
    assert "answer_supplement" in mine["actions"]
    # No department decides while the applicant is asked for more.
    other = step_of(application, "roads")
    staff(city, number, f"steps/{other['id']}/approve", "handler-roads", expect=409)
    hand_in(city, number, name="survey.pdf")
    answered = call(
        city, "POST", f"/api/v1/applications/{number}/supplement", "citizen",
        json={"note": "survey attached"},
    )  # fmt: skip
    assert answered["status"] == "under_review" and answered["paused"] is False
    # The step used its one supplement: another needs a supervisor's leave.
    refused = staff(city, number, path, "handler-parks", 409, items=["more"])
    assert refused["type"].endswith("/supplement-limit")
    staff(city, number, f"steps/{step['id']}/allow-supplement", "handler-parks", expect=403)
    staff(city, number, f"steps/{step['id']}/allow-supplement", "supervisor")
    assert staff(city, number, path, "handler-parks", items=["more"])["status"] == (
        "supplement_requested"
    )


def test_a_denial_needs_its_reason_and_legal_basis_and_ends_every_step(city: City) -> None:
    application = accepted(city)
    number = application["id"]
    step = step_of(application, "environment")
    path = f"steps/{step['id']}/deny"
    refused = staff(city, number, path, "handler-environment", 400, reason="too loud")
    assert refused["field"] == "legal_basis"
    denied = staff(
        city, number, path, "handler-environment", reason="too loud", legal_basis="Noise Law 36"
    )
    assert denied["status"] == "denied"
    assert {s["status"] for s in denied["steps"]} == {"denied", "cancelled"}
    mine = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    assert "Noise Law 36" in mine["timeline"][-1]["message_zh"]
    assert call(
        city, "POST", f"/api/v1/applications/{number}/rating", "citizen", 201,
        json={"score": 2, "comment": "slow"},
    )["score"] == 2  # fmt: skip
    call(city, "POST", f"/api/v1/applications/{number}/rating", "citizen", 409, json={"score": 5})


@pytest.mark.parametrize(
    ("username", "status"),
    [("handler-parks", 404), ("citizen", 403), ("handler-urbanmgmt", 200)],
)
def test_only_the_responsible_department_accepts(city: City, username: str, status: int) -> None:
    application = submitted(city, "test-permit")
    staff(city, application["id"], "accept", username, status)


def test_illegal_moves_are_refused_with_409_naming_the_state(city: City) -> None:
    application = accepted(city)
    number = application["id"]
    again = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 409)
    assert again["status"] == "under_review"
    staff(city, number, "accept", "handler-urbanmgmt", 409)
    waiting = step_of(application, "urbanmgmt")
    staff(city, number, f"steps/{waiting['id']}/approve", "handler-urbanmgmt", 409)
    call(city, "POST", f"/api/v1/applications/{number}/rating", "citizen", 409, json={"score": 5})
    other = step_of(application, "roads")
    staff(city, number, f"steps/{other['id']}/approve", "handler-parks", 403)
    staff(city, number, f"steps/{other['id']}/overrule", "handler-roads", 422)
    withdrawn = call(city, "POST", f"/api/v1/applications/{number}/withdraw", "citizen")
    assert withdrawn["status"] == "withdrawn"
    assert {s["status"] for s in withdrawn["steps"]} == {"cancelled"}
    call(city, "POST", f"/api/v1/applications/{number}/withdraw", "citizen", 409)


def test_not_accepted_tells_the_applicant_why(city: City) -> None:
    application = submitted(city, "test-permit")
    staff(city, application["id"], "not-accept", "handler-urbanmgmt", 422, reason="")
    refused = staff(
        city, application["id"], "not-accept", "handler-urbanmgmt", reason="outside the city"
    )
    assert refused["status"] == "not_accepted"
    mine = call(city, "GET", f"/api/v1/applications/{application['id']}", "citizen")
    assert mine["timeline"][-1]["message_zh"] == "不予受理：outside the city"


def test_a_submitted_form_is_checked_and_every_failing_field_named(city: City) -> None:
    application = draft(city, "test-permit")
    number = application["id"]
    bad = {"project": "x", "floors": 0, "contact_phone": "12345", "extra": 1}
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": bad})
    hand_in(city, number)
    problem = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 422)
    fields = {e["field"] for e in problem["errors"]}
    assert {"project", "floors", "contact_phone"} <= fields
    assert problem["type"].endswith("/invalid-form")


def test_a_draft_is_saved_as_typed_and_resumed_later(city: City) -> None:
    application = draft(city, "test-permit")
    number = application["id"]
    half = {"project": "Half done"}
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": half})
    again = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    assert again["form"] == half and again["status"] == "draft"
    mine = call(city, "GET", "/api/v1/me/applications?status=draft", "citizen")
    assert number in [a["id"] for a in mine]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", 422, json={"form": [1]})
    huge = {"project": "x" * 70_000}
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", 413, json={"form": huge})


def test_submitting_without_a_required_material_names_it(city: City) -> None:
    application = draft(city, "test-permit")
    number = application["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": GOOD_FORM})
    problem = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 422)
    assert problem["errors"] == [
        {"field": "materials.site-plan", "message": "required", "rule": "required"}
    ]


def test_nobody_else_sees_an_application(city: City) -> None:
    application = submitted(city, "test-permit")
    number = application["id"]
    call(city, "GET", f"/api/v1/staff/applications/{number}", "handler-water", 404)
    call(city, "GET", f"/api/v1/applications/{number}", "handler-urbanmgmt", 403)
    call(city, "GET", f"/api/v1/staff/applications/{number}", "handler-urbanmgmt")
    assert city.client.get(f"/api/v1/applications/{number}").status_code == 401


def test_the_queue_lists_a_departments_work_soonest_deadline_first(city: City) -> None:
    first = accepted(city)
    waiting = submitted(city, "test-permit")
    queue = call(city, "GET", "/api/v1/service-queue", "handler-parks")
    assert {i["department"] for i in queue} == {"parks"}
    assert first["id"] in [i["application_id"] for i in queue if i["kind"] == "review"]
    centre = call(city, "GET", "/api/v1/service-queue", "handler-urbanmgmt")
    assert waiting["id"] in [i["application_id"] for i in centre if i["kind"] == "accept"]
    due = [i["due_at"] for i in queue]
    assert due == sorted(due)


def test_the_applicant_is_told_of_each_step_in_their_language(city: City) -> None:
    application = accepted(city)
    city.drain()
    inbox = call(city, "GET", "/api/v1/me/notifications", "citizen")
    mine = [n for n in inbox if n["kind"] == "application.accept"]
    assert mine and mine[0]["message"].startswith("Application SV-")
    assert mine[0]["message_zh"].startswith("办件 SV-") and "已受理" in mine[0]["message_zh"]
    assert str(application["id"]) in mine[0]["message"]


def test_a_counter_appointment_for_the_application_shows_on_its_timeline(city: City) -> None:
    application = submitted(city, "test-permit")
    number = application["id"]
    # Two days on: tomorrow's first slot may already be within the two-hour cancel cut-off when
    # the city's clock (Asia/Shanghai) is a day ahead of UTC's.
    today = date.today()
    slots = city.client.get(
        "/api/v1/appointments/slots",
        params={"department": "urbanmgmt", "start": str(today + timedelta(days=2)),
                "end": str(today + timedelta(days=14))},
    ).json()  # fmt: skip
    slot = slots[0]
    booked = call(
        city, "POST", "/api/v1/appointments", "citizen", 201,
        json={"counter_id": slot["counter_id"], "start": slot["start"],
              "reference": f"application:{number}", "purpose": "in-person-check"},
    )  # fmt: skip
    city.drain()
    mine = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    assert mine["timeline"][-1]["action"] == "appointment"
    assert mine["timeline"][-1]["message_zh"].startswith("已预约窗口办理时间")
    call(
        city,
        "POST",
        f"/api/v1/appointments/{booked['id']}/actions",
        "citizen",
        json={"action": "cancel"},
    )
    city.drain()
    mine = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    assert mine["timeline"][-1]["message"].startswith("The counter appointment for")
