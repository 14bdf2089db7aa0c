"""The operations centre writes through the group commit: staff reading workers' positions on
the map at the same moment as a refused proactive task (a 4xx) each keep their audit entry and
access-log entries on an intact chain, and the refused task leaves nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from cityloop.base import metrics
from cityloop.domains.operations.models import ProactiveTask
from cityloop.platforms.application.identity.models import AuditEntry
from cityloop.platforms.data.access import chain
from cityloop.platforms.data.access.models import DataAccess
from tests.support.city import City
from tests.support.crews import new_crew, new_worker
from tests.support.group_commit import all_at_once

NOWHERE = {"month": "2030-03", "level": "grid", "area": "nowhere", "category": "C-02-01"}


def map_read(city: City, who: str) -> Callable[[], tuple[int, Any]]:
    headers = city.headers(who)  # signed in before the threads start

    def send() -> tuple[int, Any]:
        response = city.client.get(
            "/api/v1/operations/map", params={"layers": "crews"}, headers=headers
        )
        return response.status_code, response.json()

    return send


def task_for_no_hotspot(city: City) -> Callable[[], tuple[int, Any]]:
    headers = city.headers("supervisor")

    def send() -> tuple[int, Any]:
        response = city.client.post(
            "/api/v1/operations/hotspots/tasks", json=NOWHERE, headers=headers
        )
        return response.status_code, response.json()

    return send


def test_position_reads_beside_a_refused_task_in_one_group_are_each_logged(city: City) -> None:
    worker, worker_id = new_worker(city, "roads")
    new_crew(city, "roads", worker)
    response = city.client.post(
        "/api/v1/me/position", json={"lat": 30.25, "lon": 120.15}, headers=city.headers(worker)
    )
    assert response.status_code == 200, response.text
    with city.ctx.db.read() as session:
        audits_before = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "operations.positions_read")
        )
    commits = metrics.GROUP_COMMITS.value()
    answers = all_at_once(
        city.ctx.db,
        [map_read(city, "dispatcher"), task_for_no_hotspot(city), map_read(city, "admin")],
    )
    if city.ctx.db._group is not None:  # SQLite: the held unit, then all three in one group
        assert metrics.GROUP_COMMITS.value() - commits == 2
    (read, _), (refused, problem), (read_again, _) = answers
    assert (read, read_again) == (200, 200)
    assert refused == 400 and problem["field"] == "area"
    with city.ctx.db.read() as session:
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "operations.positions_read")
        )
        readers = set(
            session.scalars(
                select(DataAccess.actor).where(
                    DataAccess.user_id == worker_id, DataAccess.reference == "operations:map"
                )
            )
        )
        tasks = session.scalar(
            select(func.count()).select_from(ProactiveTask).where(ProactiveTask.area == "nowhere")
        )
        report = chain.verify(session)
    assert audits == (audits_before or 0) + 2
    assert readers == {"dispatcher", "admin"}
    assert tasks == 0
    assert report.intact, report.reason
