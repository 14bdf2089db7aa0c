"""Case actions and bulk actions are written through the group commit: staff acting on many
cases at once are all kept with their history, audit and events, and an action refused for one
case (a 4xx) rolls back alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from cityloop.base import metrics
from cityloop.base.outbox import OutboxEvent
from cityloop.domains.governance.models import Case
from cityloop.platforms.application.identity.models import AuditEntry
from tests.support.city import City, fresh_point
from tests.support.group_commit import all_at_once

CASES = 6


def pothole(city: City) -> int:
    lat, lon = fresh_point()
    return int(city.report(category="C-02-01", lat=lat, lon=lon)["case_id"])


def action(city: City, case_id: int, **body: Any) -> Callable[[], tuple[int, Any]]:
    headers = city.headers("dispatcher")  # signed in before the threads start

    def send() -> tuple[int, Any]:
        response = city.client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=headers)
        return response.status_code, response.json()

    return send


def statuses(city: City, case_ids: list[int]) -> dict[int, str]:
    with city.ctx.db.read() as session:
        found = session.execute(select(Case.id, Case.status).where(Case.id.in_(case_ids)))
        return {case_id: status for case_id, status in found}


def audited(city: City, case_ids: list[int], action: str) -> list[str]:
    with city.ctx.db.read() as session:
        return sorted(
            session.scalars(
                select(AuditEntry.target).where(
                    AuditEntry.action == action,
                    AuditEntry.target.in_([f"case:{c}" for c in case_ids]),
                )
            )
        )


def transitioned(city: City, case_ids: list[int], action: str) -> list[str]:
    with city.ctx.db.read() as session:
        rows = session.scalars(
            select(OutboxEvent).where(
                OutboxEvent.type == "case.transitioned",
                OutboxEvent.aggregate_id.in_([str(c) for c in case_ids]),
            )
        )
        return sorted(r.aggregate_id for r in rows if r.payload["action"] == action)


def test_actions_committed_in_one_group_are_all_kept_and_a_refused_one_fails_alone(
    city: City,
) -> None:
    good = [pothole(city) for _ in range(CASES)]
    refused = pothole(city)
    city.act(refused, "dispatcher", action="register")
    sends = [action(city, c, action="register") for c in good]
    sends.insert(2, action(city, refused, action="register"))  # registered already: a 409
    commits = metrics.GROUP_COMMITS.value()
    answers = all_at_once(city.ctx.db, sends)
    if city.ctx.db._group is not None:  # SQLite: the held unit, then all seven in one group
        assert metrics.GROUP_COMMITS.value() - commits == 2
    status, problem = answers.pop(2)
    assert status == 409 and problem["type"].endswith("/illegal-transition")
    assert [(s, body["status"]) for s, body in answers] == [(200, "registered")] * CASES
    assert statuses(city, good) == {c: "registered" for c in good}
    assert audited(city, [*good, refused], "case.register") == sorted(
        f"case:{c}"
        for c in [*good, refused]  # the refused case's one is from before
    )
    assert transitioned(city, [*good, refused], "register") == sorted(
        str(c) for c in [*good, refused]
    )


def test_a_bulk_action_commits_its_cases_together_and_a_refused_case_alone(
    city: City,
) -> None:
    submitted = [pothole(city) for _ in range(CASES)]
    registered = pothole(city)
    city.act(registered, "dispatcher", action="register")
    case_ids = [*submitted[:3], registered, *submitted[3:]]
    commits = metrics.GROUP_COMMITS.value()
    response = city.client.post(
        "/api/v1/cases/bulk-actions",
        json={"case_ids": case_ids, "action": "register"},
        headers=city.headers("dispatcher"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["succeeded"] == CASES
    assert [r["ok"] for r in body["results"]] == [c != registered for c in case_ids]
    assert body["results"][3]["status_code"] == 409
    if city.ctx.db._group is not None:  # the cases were handed in at once: one group or two
        assert 1 <= metrics.GROUP_COMMITS.value() - commits <= 2
    assert statuses(city, case_ids) == {
        **{c: "registered" for c in submitted},
        registered: "registered",
    }
    # The refused case keeps only what its own registration left before the bulk action.
    assert audited(city, case_ids, "case.register") == sorted(f"case:{c}" for c in case_ids)
    assert transitioned(city, case_ids, "register") == sorted(str(c) for c in case_ids)
