"""Crews (班组): who may manage them, what a crew may hold, and that every change is audited."""

from __future__ import annotations

import pytest

from tests.support.city import City
from tests.support.crews import new_crew, new_worker


def audit_actions(city: City, crew_id: int) -> list[str]:
    response = city.client.get(
        "/api/v1/audit", params={"target": f"crew:{crew_id}"}, headers=city.headers("admin")
    )
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()]


def test_a_handler_builds_a_crew_of_their_department_and_every_step_is_audited(
    city: City,
) -> None:
    first, _ = new_worker(city)
    second, _ = new_worker(city)
    crew_id = new_crew(city, "roads", first, second, by="handler-roads")
    renamed = city.client.patch(
        f"/api/v1/crews/{crew_id}",
        json={"name": "  Night   shift "},
        headers=city.headers("handler-roads"),
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Night shift"
    removed = city.client.delete(
        f"/api/v1/crews/{crew_id}/members/{second}", headers=city.headers("handler-roads")
    )
    assert [m["username"] for m in removed.json()["members"]] == [first]
    off = city.client.post(
        f"/api/v1/crews/{crew_id}/deactivate", headers=city.headers("handler-roads")
    )
    assert off.json()["active"] is False
    assert audit_actions(city, crew_id) == [
        "crew.deactivate",
        "crew.member.remove",
        "crew.rename",
        "crew.member.add",
        "crew.member.add",
        "crew.create",
    ]


def test_a_worker_may_be_in_several_crews(city: City) -> None:
    worker, _ = new_worker(city)
    new_crew(city, "roads", worker)
    new_crew(city, "roads", worker)
    listed = city.client.get("/api/v1/crews", headers=city.headers(worker)).json()
    holding = [c for c in listed if worker in [m["username"] for m in c["members"]]]
    assert len(holding) == 2
    assert {c["department_code"] for c in listed} == {"roads"}


def test_a_handler_cannot_manage_another_departments_crews(city: City) -> None:
    response = city.client.post(
        "/api/v1/crews",
        json={"department_code": "water", "name": "Not mine"},
        headers=city.headers("handler-roads"),
    )
    assert response.status_code == 403
    water = new_crew(city, "water")
    renamed = city.client.patch(
        f"/api/v1/crews/{water}", json={"name": "Mine now"}, headers=city.headers("handler-roads")
    )
    assert renamed.status_code == 403


@pytest.mark.parametrize("username", ["worker", "dispatcher", "hotline"])
def test_only_admins_and_handlers_manage_crews(city: City, username: str) -> None:
    login = "worker-roads" if username == "worker" else username
    response = city.client.post(
        "/api/v1/crews",
        json={"department_code": "roads", "name": f"By {username}"},
        headers=city.headers(login),
    )
    assert response.status_code == 403, response.text


def test_a_crew_holds_only_active_workers_of_its_own_department(city: City) -> None:
    crew_id = new_crew(city, "roads")
    water_worker, _ = new_worker(city, "water")
    roads_handler, _ = new_worker(city, "roads", role="handler")
    for username in (water_worker, roads_handler, "no-such-person", "citizen"):
        response = city.client.post(
            f"/api/v1/crews/{crew_id}/members",
            json={"username": username},
            headers=city.headers("admin"),
        )
        assert response.status_code == 400, (username, response.text)
        assert response.json()["field"] == "username"


def test_bad_crew_input_is_a_4xx_naming_the_field(city: City) -> None:
    admin = city.headers("admin")
    unknown = city.client.post(
        "/api/v1/crews", json={"department_code": "nowhere", "name": "A"}, headers=admin
    )
    assert unknown.status_code == 400 and unknown.json()["field"] == "department"
    blank = city.client.post(
        "/api/v1/crews", json={"department_code": "roads", "name": "   "}, headers=admin
    )
    assert blank.status_code == 400 and blank.json()["field"] == "name"
    crew_id = new_crew(city, "roads")
    name = city.client.get("/api/v1/crews", params={"department": "roads"}, headers=admin).json()
    taken = next(c["name"] for c in name if c["id"] == crew_id)
    twice = city.client.post(
        "/api/v1/crews", json={"department_code": "roads", "name": taken}, headers=admin
    )
    assert twice.status_code == 409
    assert (
        city.client.patch("/api/v1/crews/999999", json={"name": "x"}, headers=admin).status_code
        == 404
    )
    assert city.client.post("/api/v1/crews/0/activate", headers=admin).status_code in (400, 422)
    not_in = city.client.delete(f"/api/v1/crews/{crew_id}/members/worker-roads", headers=admin)
    assert not_in.status_code == 404


def test_a_department_lists_its_workers_for_its_own_staff_only(city: City) -> None:
    listed = city.client.get(
        "/api/v1/departments/roads/workers", headers=city.headers("handler-roads")
    )
    assert listed.status_code == 200
    assert "worker-roads" in [u["username"] for u in listed.json()]
    assert {u["role"] for u in listed.json()} == {"worker"}
    other = city.client.get(
        "/api/v1/departments/water/workers", headers=city.headers("handler-roads")
    )
    assert other.status_code == 403
    unknown = city.client.get("/api/v1/departments/nowhere/workers", headers=city.headers("admin"))
    assert unknown.status_code == 400 and unknown.json()["field"] == "code"
