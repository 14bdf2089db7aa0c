"""Workflow rules through HTTP: illegal transitions, roles, department scope, disputes, SLA."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cityloop.base.db import utcnow
from cityloop.domains.governance import citizen, queries, sla
from cityloop.domains.governance.workflow import TRANSITIONS, Status
from tests.support.city import City, fresh_point


def pothole(city: City) -> int:
    lat, lon = fresh_point()
    return int(city.report(category="C-02-01", lat=lat, lon=lon)["case_id"])


def drive_to(city: City, state: str) -> int:
    """A fresh pothole case brought to ``state`` by the proper actions."""
    case_id = pothole(city)
    if state == "submitted":
        return case_id
    if state == "rejected":
        city.act(case_id, "dispatcher", action="reject", note="Private land")
        return case_id
    if state == "merged":
        city.act(case_id, "dispatcher", action="merge", merge_into=pothole(city))
        return case_id
    city.act(case_id, "dispatcher", action="register")
    if state == "registered":
        return case_id
    city.act(case_id, "dispatcher", action="dispatch", department="roads")
    if state == "dispatched":
        return case_id
    city.act(case_id, "handler-roads", action="start")
    if state == "in_progress":
        return case_id
    proof = city.upload(username="handler-roads")
    city.act(case_id, "handler-roads", action="resolve", note="Done", attachments=[proof])
    if state == "resolved":
        return case_id
    city.act(case_id, "supervisor", action="verify", resolution="fixed")
    assert state == "closed"
    return case_id


ILLEGAL = [
    (state.value, action)
    for state in Status
    for action, transition in TRANSITIONS.items()
    if state not in transition.sources
]


@pytest.fixture(scope="module")
def cases_by_state(city: City) -> dict[str, int]:
    return {state.value: drive_to(city, state.value) for state in Status}


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_an_action_illegal_in_a_state_is_a_409(
    city: City, cases_by_state: dict[str, int], state: str, action: str
) -> None:
    body = {
        "action": action,
        "note": "n",
        "department": "water",
        "resolution": "fixed",
        "merge_into": cases_by_state["registered"],
    }
    response = city.client.post(
        f"/api/v1/cases/{cases_by_state[state]}/actions", json=body, headers=city.headers("admin")
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["status"] == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert state in problem["detail"]


@pytest.mark.parametrize(
    ("username", "action"),
    [
        ("handler-roads", "register"),
        ("worker-roads", "dispatch"),
        ("hotline", "register"),
        ("inspector", "reject"),
        ("supervisor", "dispatch"),
    ],
)
def test_an_action_outside_the_role_is_a_403(city: City, username: str, action: str) -> None:
    case_id = pothole(city)
    response = city.client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": action, "note": "x", "department": "roads"},
        headers=city.headers(username),
    )
    # A department role cannot even see an undispatched case; others are refused outright.
    assert response.status_code in (403, 404), response.text
    if username in ("hotline", "inspector", "supervisor"):
        assert response.status_code == 403


def test_a_handler_sees_and_acts_on_only_their_department(city: City) -> None:
    case_id = drive_to(city, "dispatched")
    # A case of their own, so the listing below has something in it to check.
    own = pothole(city)
    city.act(own, "dispatcher", action="register")
    city.act(own, "dispatcher", action="dispatch", department="water")
    assert (
        city.client.get(
            f"/api/v1/cases/{case_id}", headers=city.headers("handler-roads")
        ).status_code
        == 200
    )
    other = city.client.get(f"/api/v1/cases/{case_id}", headers=city.headers("handler-water"))
    assert other.status_code == 404
    start = city.client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "start"},
        headers=city.headers("worker-water"),
    )
    assert start.status_code == 404
    listing = city.client.get("/api/v1/cases?page_size=500", headers=city.headers("handler-water"))
    items = listing.json()["items"]
    assert own in [c["id"] for c in items]
    assert {c["department"]["code"] for c in items} == {"water"}
    assert case_id not in [c["id"] for c in items]


def test_resolving_as_fixed_needs_a_proof_photo(city: City) -> None:
    case_id = drive_to(city, "in_progress")
    problem = city.act(case_id, "handler-roads", expect=400, action="resolve", note="done")
    assert problem["field"] == "attachments"


def test_every_close_carries_an_honest_resolution(city: City) -> None:
    case_id = drive_to(city, "resolved")
    missing = city.act(case_id, "supervisor", expect=400, action="verify")
    assert missing["field"] == "resolution"
    unnamed = city.act(case_id, "supervisor", expect=400, action="verify", resolution="referred")
    assert unnamed["field"] == "referred_to"
    closed = city.act(
        case_id,
        "supervisor",
        action="verify",
        resolution="referred",
        referred_to="Riverton Gas Co.",
    )
    public = city.client.get(f"/api/v1/public/cases/{case_id}").json()
    assert public["status"] == "closed"
    assert public["resolution"] == "referred"
    assert public["timeline"][-1]["message"] == "Closed: referred to Riverton Gas Co."
    assert closed["referred_to"] == "Riverton Gas Co."


def test_reassigning_between_departments_never_closes(city: City) -> None:
    case_id = drive_to(city, "in_progress")
    moved = city.act(
        case_id, "handler-roads", action="reassign", department="water", note="Water main"
    )
    assert moved["status"] == "dispatched"
    assert moved["department"]["code"] == "water"
    assert moved["closed_at"] is None
    same = city.act(case_id, "dispatcher", expect=409, action="reassign", department="water")
    assert "already" in same["detail"]


def test_a_dispute_within_the_window_goes_to_the_supervisor(city: City) -> None:
    lat, lon = fresh_point()
    answer = city.report(category="C-02-01", lat=lat, lon=lon)
    case_id = answer["case_id"]
    for action, user, extra in (
        ("register", "dispatcher", {}),
        ("dispatch", "dispatcher", {"department": "roads"}),
        ("start", "handler-roads", {}),
    ):
        city.act(case_id, user, action=action, **extra)
    proof = city.upload()
    city.act(case_id, "handler-roads", action="resolve", note="ok", attachments=[proof])
    city.act(case_id, "supervisor", action="verify", resolution="fixed")

    stranger = city.client.post(
        f"/api/v1/public/cases/{case_id}/disputes", json={"note": "still broken"}
    )
    assert stranger.status_code == 403
    disputed = city.client.post(
        f"/api/v1/public/cases/{case_id}/disputes",
        json={"note": "Still a hole here", "token": answer["tracking_token"]},
    )
    assert disputed.status_code == 201, disputed.text
    queue = city.client.get("/api/v1/disputes", headers=city.headers("supervisor")).json()
    assert case_id in [d["case_id"] for d in queue]
    entry = next(d for d in queue if d["case_id"] == case_id)
    assert entry["case"]["resolution"] == "fixed" and entry["case"]["dispute_open"] is True
    upheld = city.act(case_id, "supervisor", action="uphold", note="Photo shows it repaired")
    assert upheld["status"] == "closed" and upheld["dispute_open"] is False
    assert city.act(case_id, "supervisor", expect=409, action="uphold", note="again")

    city.client.post(
        f"/api/v1/public/cases/{case_id}/disputes",
        json={"note": "Really, still a hole", "token": answer["tracking_token"]},
    )
    reopened = city.act(case_id, "supervisor", action="reopen", note="Send the crew back")
    assert reopened["status"] == "dispatched"
    assert reopened["rework_count"] == 1


def test_a_closed_case_without_a_dispute_cannot_be_reopened(city: City) -> None:
    case_id = drive_to(city, "closed")
    problem = city.act(case_id, "supervisor", expect=409, action="reopen", note="why not")
    assert "dispute" in problem["detail"]


def test_a_dispute_after_the_window_is_refused(city: City) -> None:
    lat, lon = fresh_point()
    answer = city.report(category="C-02-01", lat=lat, lon=lon)
    case_id = answer["case_id"]
    city.act(case_id, "dispatcher", action="reject", note="Not a city road")
    # Rejected is not closed: nothing to dispute.
    response = city.client.post(
        f"/api/v1/public/cases/{case_id}/disputes",
        json={"note": "x", "token": answer["tracking_token"]},
    )
    assert response.status_code == 409
    closed_id = drive_to(city, "closed")
    with city.ctx.writing() as session:
        case = citizen.public_case(session, case_id=closed_id)
        case.closed_at = utcnow() - timedelta(hours=city.ctx.settings.dispute_window_hours + 1)
        token = queries.reports_of(session, case_id=closed_id)[0].tracking_token
    late = city.client.post(
        f"/api/v1/public/cases/{closed_id}/disputes", json={"note": "x", "token": token}
    )
    assert late.status_code == 409
    assert "window" in late.json()["detail"]


def test_the_sweep_marks_overdue_cases_and_escalates_them(city: City) -> None:
    case_id = drive_to(city, "dispatched")
    with city.ctx.writing() as session:
        result = sla.sweep_deadlines(session, now=utcnow() + timedelta(days=30))
    assert case_id in result.overdue
    assert case_id in result.response_overdue
    case = city.case(case_id)
    assert case["overdue"] is True and case["escalated"] is True
    city.drain()
    notes = city.client.get("/api/v1/me/notifications", headers=city.headers("supervisor")).json()
    assert any(n["case_id"] == case_id and "escalated" in n["kind"] for n in notes)
    listing = city.client.get("/api/v1/cases?overdue=true", headers=city.headers("dispatcher"))
    assert case_id in [c["id"] for c in listing.json()["items"]]


def test_a_case_with_no_public_update_is_flagged_to_its_department(city: City) -> None:
    case_id = drive_to(city, "dispatched")
    with city.ctx.writing() as session:
        result = sla.sweep_deadlines(session, now=utcnow() + timedelta(days=30))
    assert case_id in result.stale
    assert city.case(case_id)["update_overdue"] is True
    city.act(case_id, "handler-roads", action="comment", note="Crew booked for Monday", public=True)
    assert city.case(case_id)["update_overdue"] is False


def test_internal_notes_never_reach_the_public(city: City) -> None:
    lat, lon = fresh_point()
    answer = city.report(
        category="C-02-01",
        lat=lat,
        lon=lon,
        contact_email="secret@example.org",
        contact_name="Ms Private",
        contact_phone="+86 555 0101",
    )
    case_id = answer["case_id"]
    city.act(case_id, "dispatcher", action="comment", note="internal: caller is a council member")
    city.act(case_id, "dispatcher", action="comment", note="We are on it", public=True)
    text = city.client.get(f"/api/v1/public/cases/{case_id}").text
    text += city.client.get(f"/api/v1/track/{answer['tracking_token']}").text
    text += city.client.get("/api/v1/public/cases").text
    assert "We are on it" in text
    for secret in ("internal: caller", "secret@example.org", "Ms Private", "555 0101"):
        assert secret not in text
    report = city.case(case_id)["reports"][0]
    assert report["has_contact"] and report["contact_fields"] == ["contact_name", "phone", "email"]
    assert "secret@example.org" not in str(city.case(case_id))  # opened on purpose only


def test_every_staff_action_is_audited(city: City) -> None:
    case_id = drive_to(city, "registered")
    trail = city.client.get(
        f"/api/v1/audit?target=case:{case_id}", headers=city.headers("admin")
    ).json()
    assert [(a["actor"], a["action"]) for a in trail] == [("dispatcher", "case.register")]


def test_allowed_actions_follow_role_and_state(city: City) -> None:
    case_id = drive_to(city, "dispatched")
    assert "start" in city.case(case_id, "handler-roads")["allowed_actions"]
    assert "start" not in city.case(case_id, "dispatcher")["allowed_actions"]
    assert "register" not in city.case(case_id, "dispatcher")["allowed_actions"]


def test_bulk_dispatch_reports_each_case(city: City) -> None:
    registered = [drive_to(city, "registered") for _ in range(3)]
    submitted = drive_to(city, "submitted")
    response = city.client.post(
        "/api/v1/cases/bulk-actions",
        json={"case_ids": [*registered, submitted], "action": "dispatch", "department": "roads"},
        headers=city.headers("dispatcher"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["succeeded"] == 3
    assert body["results"][-1]["status_code"] == 409


def test_merging_moves_reporters_to_the_surviving_case(city: City) -> None:
    lat, lon = fresh_point()
    keep = city.report(category="C-02-01", lat=lat, lon=lon)
    lat2, lon2 = fresh_point()
    gone = city.report(category="C-02-01", lat=lat2, lon=lon2)
    city.act(gone["case_id"], "dispatcher", action="merge", merge_into=keep["case_id"])
    city.act(keep["case_id"], "dispatcher", action="register")
    city.drain()
    moved = city.client.get(f"/api/v1/track/{gone['tracking_token']}").json()
    assert moved["case"]["id"] == keep["case_id"]
    notes = city.client.get(f"/api/v1/track/{gone['tracking_token']}/notifications").json()
    assert any("Registered" in n["message"] for n in notes)
    assert city.case(keep["case_id"])["merged_cases"] == [gone["case_id"]]


def test_a_public_reason_cannot_be_made_internal(city: City) -> None:
    case_id = drive_to(city, "submitted")
    problem = city.act(case_id, "dispatcher", expect=400, action="reject", note="x", public=False)
    assert problem["field"] == "public"


def test_ids_beyond_the_integer_range_are_not_found_not_errors(city: City) -> None:
    headers = city.headers("dispatcher")
    for path in ("/api/v1/cases/99999999999", "/api/v1/public/cases/99999999999"):
        response = city.client.get(path, headers=headers)
        assert response.status_code == 422, response.text
    merge = city.client.post(
        f"/api/v1/cases/{drive_to(city, 'submitted')}/actions",
        json={"action": "merge", "merge_into": 99999999999},
        headers=headers,
    )
    assert merge.status_code == 422
