"""Field workers and crews of a test's own."""

from __future__ import annotations

import itertools

from cityloop.platforms.application.identity import service as identity
from tests.support.city import City

_serial = itertools.count(1)


def new_worker(city: City, department: str = "roads", role: str = "worker") -> tuple[str, int]:
    """A fresh staff account of a department (password ``demo``): its username and id."""
    username = f"{role}-{department}-{next(_serial)}-{city.backend}"
    with city.ctx.db.writing() as session:
        user = identity.create_user(
            session, username=username, password="demo", role=role, department_code=department
        )
        return username, user.id


def new_crew(city: City, department: str = "roads", *members: str, by: str = "admin") -> int:
    """A fresh crew of a department with these members, made over HTTP: its id."""
    name = f"Crew {next(_serial)}"
    response = city.client.post(
        "/api/v1/crews",
        json={"department_code": department, "name": name},
        headers=city.headers(by),
    )
    assert response.status_code == 201, response.text
    crew_id = int(response.json()["id"])
    for username in members:
        added = city.client.post(
            f"/api/v1/crews/{crew_id}/members",
            json={"username": username},
            headers=city.headers(by),
        )
        assert added.status_code == 200, added.text
    return crew_id
