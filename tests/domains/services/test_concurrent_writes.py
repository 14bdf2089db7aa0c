"""Applications and the reads that log access are written through the group commit: many
citizens submitting at once are all stored, a bad submission fails alone, and staff reading
many applications at once leave one access-log entry each on an unbroken chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.base import metrics
from cityloop.domains.services.models import Application
from cityloop.platforms.data.access import chain
from cityloop.platforms.data.access.models import DataAccess
from tests.support.city import City
from tests.support.group_commit import all_at_once
from tests.support.identity import new_citizen
from tests.support.services import GOOD_FORM, call, definition, draft, save_service

CITIZENS = 8


@pytest.fixture(scope="module", autouse=True)
def quick_permit(city: City) -> None:
    # No material to hand in and the level every account has: a draft submits on its form.
    save_service(
        city,
        definition("quick-permit", audience=["person"], realname_level=1, materials=[]),
    )


def filled_draft(city: City, username: str) -> int:
    """A draft of the quick permit with a good form, ready to submit."""
    number = int(draft(city, "quick-permit", username)["id"])
    path = f"/api/v1/applications/{number}/form"
    call(city, "PUT", path, username, json={"form": GOOD_FORM})
    return number


def post(city: City, path: str, username: str) -> Callable[[], tuple[int, Any]]:
    headers = city.headers(username)  # signed in before the threads start

    def send() -> tuple[int, Any]:
        response = city.client.post(path, headers=headers)
        return response.status_code, response.json()

    return send


def test_citizens_submitting_at_once_are_all_stored_and_a_bad_one_fails_alone(
    city: City,
) -> None:
    citizens = [new_citizen(city, "applicant")[0] for _ in range(CITIZENS)]
    numbers = [filled_draft(city, username) for username in citizens]
    already = filled_draft(city, citizens[0])
    call(city, "POST", f"/api/v1/applications/{already}/submit", citizens[0])
    sends = [
        post(city, f"/api/v1/applications/{n}/submit", u)
        for n, u in zip(numbers, citizens, strict=True)
    ]
    sends.insert(3, post(city, f"/api/v1/applications/{already}/submit", citizens[0]))
    commits = metrics.GROUP_COMMITS.value()
    answers = all_at_once(city.ctx.db, sends)
    if city.ctx.db._group is not None:  # SQLite: the held unit, then all nine in one group
        assert metrics.GROUP_COMMITS.value() - commits == 2
    twice = answers.pop(3)
    assert twice[0] == 409 and twice[1]["type"].endswith("/application-action-not-allowed")
    assert [(status, body["status"]) for status, body in answers] == [(200, "submitted")] * 8
    with city.ctx.db.read() as session:
        stored = dict(
            session.execute(
                select(Application.id, Application.status).where(
                    Application.id.in_([*numbers, already])
                )
            ).all()
        )
    assert stored == {n: "submitted" for n in [*numbers, already]}


def test_staff_reading_applications_at_once_leave_one_entry_each_on_an_intact_chain(
    city: City,
) -> None:
    citizens = [new_citizen(city, "reviewed")[0] for _ in range(CITIZENS)]
    numbers = []
    for username in citizens:
        number = filled_draft(city, username)
        call(city, "POST", f"/api/v1/applications/{number}/submit", username)
        numbers.append(number)
    headers = city.headers("handler-urbanmgmt")

    def read(number: int) -> Callable[[], int]:
        return lambda: (
            city.client.get(f"/api/v1/staff/applications/{number}", headers=headers).status_code
        )

    assert all_at_once(city.ctx.db, [read(n) for n in numbers]) == [200] * CITIZENS
    with city.ctx.db.read() as session:
        logged = list(
            session.scalars(
                select(DataAccess.reference).where(
                    DataAccess.purpose == "review",
                    DataAccess.reference.in_([f"application:{n}" for n in numbers]),
                )
            )
        )
        report = chain.verify(session)
    assert sorted(logged) == sorted(f"application:{n}" for n in numbers)
    assert report.intact, report.reason
