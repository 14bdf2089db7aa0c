"""Assigning a case to a worker or a crew: who may, to whom, what it leaves behind, and what a
worker's "my work" and a handler's workload view show from it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cityloop.domains.governance import assignment
from cityloop.domains.governance.models import Case
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.notify.models import Notification
from tests.support.city import City, fresh_point
from tests.support.crews import new_crew, new_worker


def dispatched(city: City, department: str = "roads") -> int:
    """A fresh pothole case dispatched to ``department``."""
    lat, lon = fresh_point()
    case_id = int(city.report(category="C-02-01", lat=lat, lon=lon)["case_id"])
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="dispatch", department=department)
    return case_id


def assign(
    city: City, case_id: int, by: str = "handler-roads", expect: int = 200, **to: Any
) -> dict[str, Any]:
    return city.act(case_id, by, expect=expect, action="assign", **to)


def test_a_handler_assigns_a_case_to_a_worker_without_changing_its_status(city: City) -> None:
    _, worker_id = new_worker(city)
    case_id = dispatched(city)
    answer = assign(city, case_id, assignee_user_id=worker_id, note="Take the big cones")
    assert answer["status"] == "dispatched"
    assert answer["assignee"]["kind"] == "worker"
    assert answer["assignee"]["id"] == worker_id
    row = answer["timeline"][-1]
    assert row["action"] == "assign"
    assert row["message_code"] == "worker_assigned"
    assert row["message_zh"].startswith("已指派给")
    assert "unassign" in answer["allowed_actions"]


def test_a_worker_with_a_chinese_name_is_named_by_it_for_chinese_readers(city: City) -> None:
    case_id = dispatched(city)
    with city.ctx.db.read() as session:
        worker = identity.find_user(session, username="worker-roads")
        assert worker is not None and worker.display_name_zh
        worker_id, name_zh = worker.id, worker.display_name_zh
    assign(city, case_id, assignee_user_id=worker_id)
    chinese = city.client.get(
        f"/api/v1/cases/{case_id}",
        headers={**city.headers("handler-roads"), "Accept-Language": "zh-CN"},
    ).json()
    assert chinese["assignee"]["name_zh"] == name_zh
    assert chinese["timeline"][-1]["message"] == f"已指派给{name_zh}"


def test_an_assignment_is_staff_only_on_the_public_timeline(city: City) -> None:
    _, worker_id = new_worker(city)
    case_id = dispatched(city)
    assign(city, case_id, assignee_user_id=worker_id)
    public = city.client.get(f"/api/v1/public/cases/{case_id}").json()
    assert "assign" not in [row["action"] for row in public["timeline"]]
    assert "assignee" not in public


def test_an_assignment_is_audited_and_announced_to_the_worker(city: City) -> None:
    _, worker_id = new_worker(city)
    case_id = dispatched(city)
    assign(city, case_id, assignee_user_id=worker_id)
    city.drain()
    audit = city.client.get(
        "/api/v1/audit", params={"target": f"case:{case_id}"}, headers=city.headers("admin")
    ).json()
    assert audit[0]["action"] == "case.assign"
    assert audit[0]["detail"]["assignee_user_id"] == worker_id
    with city.ctx.db.read() as session:
        told = session.scalars(
            select(Notification).where(
                Notification.user_id == worker_id, Notification.case_id == case_id
            )
        ).all()
    assert [n.kind for n in told] == ["case.assigned"]
    assert f"Case {case_id}" in told[0].message


def test_a_crew_assignment_reaches_every_member(city: City) -> None:
    first, first_id = new_worker(city)
    second, second_id = new_worker(city)
    crew_id = new_crew(city, "roads", first, second)
    case_id = dispatched(city)
    answer = assign(city, case_id, assignee_crew_id=crew_id)
    assert (answer["assignee"]["kind"], answer["assignee"]["id"]) == ("crew", crew_id)
    city.drain()
    with city.ctx.db.read() as session:
        told = session.scalars(
            select(Notification.user_id).where(
                Notification.case_id == case_id, Notification.kind == "case.assigned"
            )
        ).all()
    assert sorted(told) == sorted([first_id, second_id])


def test_a_case_is_reassigned_and_unassigned(city: City) -> None:
    _, first_id = new_worker(city)
    _, second_id = new_worker(city)
    case_id = dispatched(city)
    assign(city, case_id, assignee_user_id=first_id)
    again = assign(city, case_id, assignee_user_id=second_id)
    assert again["assignee"]["id"] == second_id
    same = assign(city, case_id, expect=409, assignee_user_id=second_id)
    assert "already" in same["detail"]
    assert (same["type"].rsplit("/", 1)[-1], same["code"]) == (
        "illegal-transition",
        "governance.already_assigned_there",
    )
    cleared = city.act(case_id, "dispatcher", action="unassign")
    assert cleared["assignee"] is None
    assert cleared["timeline"][-1]["message_code"] == "assignment_withdrawn"
    # Nobody holds it now: there is nothing to withdraw.
    assert "unassign" not in cleared["allowed_actions"]
    nobody = city.client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "unassign"},
        headers={**city.headers("handler-roads"), "Accept-Language": "zh-CN"},
    )
    assert nobody.status_code == 409, nobody.text
    assert nobody.json()["detail"] == "该案卷尚未指派给任何人"


def test_handing_a_case_to_another_department_clears_its_assignee(city: City) -> None:
    _, worker_id = new_worker(city)
    case_id = dispatched(city)
    assign(city, case_id, assignee_user_id=worker_id)
    city.act(case_id, "dispatcher", action="reassign", department="water")
    assert city.case(case_id)["assignee"] is None


def test_a_worker_cannot_assign(city: City) -> None:
    _, worker_id = new_worker(city)
    case_id = dispatched(city)
    problem = city.act(
        case_id, "worker-roads", expect=403, action="assign", assignee_user_id=worker_id
    )
    assert "worker" in problem["detail"]


def test_a_handler_cannot_assign_another_departments_case(city: City) -> None:
    _, water_worker = new_worker(city, "water")
    case_id = dispatched(city, "water")
    city.act(case_id, "handler-roads", expect=404, action="assign", assignee_user_id=water_worker)


def test_only_dispatched_or_in_progress_cases_are_assigned(city: City) -> None:
    _, worker_id = new_worker(city)
    lat, lon = fresh_point()
    case_id = int(city.report(category="C-02-01", lat=lat, lon=lon)["case_id"])
    problem = city.act(
        case_id, "dispatcher", expect=409, action="assign", assignee_user_id=worker_id
    )
    assert problem["case_status"] == "submitted"


@pytest.mark.parametrize(
    ("to", "field"),
    [
        ({}, "assignee_user_id"),
        ({"assignee_user_id": 1, "assignee_crew_id": 1}, "assignee_user_id"),
        ({"assignee_user_id": 999_999}, "assignee_user_id"),
        ({"assignee_crew_id": 999_999}, "assignee_crew_id"),
    ],
)
def test_bad_assignees_are_a_400_naming_the_field(
    city: City, to: dict[str, int], field: str
) -> None:
    case_id = dispatched(city)
    problem = assign(city, case_id, expect=400, **to)
    assert problem["field"] == field


def test_only_the_cases_own_departments_active_workers_and_crews_take_it(city: City) -> None:
    case_id = dispatched(city)
    water_worker, water_worker_id = new_worker(city, "water")
    water_crew = new_crew(city, "water", water_worker)
    _, roads_handler_id = new_worker(city, "roads", role="handler")
    gone, gone_id = new_worker(city)
    with city.ctx.db.writing() as session:
        identity.set_user_active(session, username=gone, active=False, actor=identity.SYSTEM)
    idle_crew = new_crew(city, "roads")
    city.client.post(f"/api/v1/crews/{idle_crew}/deactivate", headers=city.headers("admin"))
    for to, field in [
        ({"assignee_user_id": water_worker_id}, "assignee_user_id"),
        ({"assignee_user_id": roads_handler_id}, "assignee_user_id"),
        ({"assignee_user_id": gone_id}, "assignee_user_id"),
        ({"assignee_crew_id": water_crew}, "assignee_crew_id"),
        ({"assignee_crew_id": idle_crew}, "assignee_crew_id"),
    ]:
        problem = city.act(case_id, "dispatcher", expect=400, action="assign", **to)
        assert problem["field"] == field, to
    assert city.case(case_id)["assignee"] is None


def test_an_out_of_range_assignee_id_is_a_4xx_naming_it(city: City) -> None:
    case_id = dispatched(city)
    response = city.client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "assign", "assignee_user_id": 2**40},
        headers=city.headers("handler-roads"),
    )
    assert 400 <= response.status_code < 500
    assert "assignee_user_id" in response.text


# ---------------------------------------------------------------- my work and workload


def test_my_work_lists_my_cases_then_my_crews_then_the_rest(city: City) -> None:
    me, my_id = new_worker(city)
    crew_id = new_crew(city, "roads", me)
    rest, mine, crews = dispatched(city), dispatched(city), dispatched(city)
    assign(city, mine, assignee_user_id=my_id)
    assign(city, crews, assignee_crew_id=crew_id)
    response = city.client.get("/api/v1/my-work", headers=city.headers(me))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    groups = {item["id"]: item["group"] for item in items}
    assert (groups[mine], groups[crews], groups[rest]) == ("mine", "crew", "department")
    order = [item["group"] for item in items]
    assert order == sorted(order, key=["mine", "crew", "department"].index)
    assert {item["department"]["code"] for item in items} == {"roads"}


def test_each_my_work_group_is_sorted_by_deadline(city: City) -> None:
    _, my_id = new_worker(city)
    first, second = dispatched(city), dispatched(city)
    with city.ctx.db.read() as session:
        actor = identity.actor_for(identity.get_user(session, user_id=my_id))
    for case_id in (second, first):
        assign(city, case_id, assignee_user_id=my_id)
    with city.ctx.db.read() as session:
        rows = assignment.my_work(session, actor=actor)
        mine = [c for group, c in rows if group == "mine"]
    assert [c.id for c in mine] == [first, second]  # dispatched first, due first
    assert mine[0].resolution_due <= mine[1].resolution_due


def test_my_work_is_for_department_staff(city: City) -> None:
    assert city.client.get("/api/v1/my-work", headers=city.headers("dispatcher")).status_code == 403


def test_the_workload_counts_open_and_overdue_cases_per_crew_and_worker(city: City) -> None:
    worker, worker_id = new_worker(city)
    crew_id = new_crew(city, "roads", worker)
    late, crew_case = dispatched(city), dispatched(city)
    assign(city, late, assignee_user_id=worker_id)
    assign(city, crew_case, assignee_crew_id=crew_id)
    with city.ctx.db.writing() as session:
        found = session.get(Case, late)
        assert found is not None
        found.overdue = True
    response = city.client.get("/api/v1/workload", headers=city.headers("handler-roads"))
    assert response.status_code == 200, response.text
    load = response.json()
    assert load["department"] == "roads"
    crew = next(c for c in load["crews"] if c["id"] == crew_id)
    assert (crew["open"], crew["overdue"]) == (1, 0)
    person = next(w for w in load["workers"] if w["id"] == worker_id)
    assert (person["open"], person["overdue"]) == (1, 1)
    assert load["unassigned"]["open"] >= 0


def test_the_workload_view_is_scoped(city: City) -> None:
    handler = city.headers("handler-roads")
    assert city.client.get("/api/v1/workload?department=water", headers=handler).status_code == 403
    assert (
        city.client.get("/api/v1/workload", headers=city.headers("worker-roads")).status_code == 403
    )
    missing = city.client.get("/api/v1/workload", headers=city.headers("admin"))
    assert missing.status_code == 400 and missing.json()["field"] == "department"
    unknown = city.client.get("/api/v1/workload?department=nowhere", headers=city.headers("admin"))
    assert unknown.status_code == 400 and unknown.json()["field"] == "department"
    assert (
        city.client.get(
            "/api/v1/workload?department=water", headers=city.headers("supervisor")
        ).status_code
        == 200
    )


def test_the_queue_shows_the_assignee(city: City) -> None:
    _, worker_id = new_worker(city)
    case_id = dispatched(city)
    assign(city, case_id, assignee_user_id=worker_id)
    page = city.client.get(
        "/api/v1/cases", params={"q": str(case_id)}, headers=city.headers("dispatcher")
    ).json()
    row = next(item for item in page["items"] if item["id"] == case_id)
    assert row["assignee"]["id"] == worker_id


# ---------------------------------------------------------------- deactivated workers


def deactivate(city: City, username: str) -> None:
    answer = city.client.post(f"/api/v1/users/{username}/deactivate", headers=city.headers("admin"))
    assert answer.status_code == 200, answer.text
    city.drain()


def test_deactivating_a_worker_withdraws_their_open_cases_saying_so_in_both_languages(
    city: City,
) -> None:
    leaving, leaving_id = new_worker(city)
    _staying, staying_id = new_worker(city)
    crew_id = new_crew(city, "roads", leaving)
    theirs, started = dispatched(city), dispatched(city)
    others, crews = dispatched(city), dispatched(city)
    assign(city, theirs, assignee_user_id=leaving_id)
    assign(city, started, assignee_user_id=leaving_id)
    city.act(started, leaving, action="start")
    assign(city, others, assignee_user_id=staying_id)
    assign(city, crews, assignee_crew_id=crew_id)

    deactivate(city, leaving)

    for case_id in (theirs, started):
        english = city.case(case_id, "handler-roads")
        assert english["assignee"] is None
        row = english["timeline"][-1]
        assert (row["action"], row["actor"]) == ("unassign", "system")
        assert "deactivated" in row["note"] and leaving in row["note"]
        chinese = city.client.get(
            f"/api/v1/cases/{case_id}",
            headers={**city.headers("handler-roads"), "Accept-Language": "zh-CN"},
        ).json()
        assert "账号已停用" in chinese["timeline"][-1]["note"]
    assert city.case(started)["status"] == "in_progress"
    assert city.case(others)["assignee"]["id"] == staying_id
    crew_held = city.case(crews)["assignee"]
    assert (crew_held["kind"], crew_held["id"]) == ("crew", crew_id)


def test_a_reopened_case_of_a_deactivated_worker_goes_back_to_the_department(
    city: City,
) -> None:
    worker, worker_id = new_worker(city)
    case_id = dispatched(city)
    assign(city, case_id, assignee_user_id=worker_id)
    city.act(case_id, worker, action="start")
    proof = city.upload(username="handler-roads")
    city.act(case_id, "handler-roads", action="resolve", note="Patched", attachments=[proof])
    deactivate(city, worker)
    # Resolved, it waits for the supervision centre with its worker named on it.
    assert city.case(case_id)["assignee"]["id"] == worker_id
    reopened = city.act(case_id, "supervisor", action="reopen", note="Redo it")
    assert reopened["assignee"] is None
