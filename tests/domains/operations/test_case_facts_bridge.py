"""The bridge from cases to the operations read model, on each engine: the figures move as
cases go through the workflow, a redelivered event doubles nothing, the reconcile corrects a
tampered fact, and a hotspot becomes a case on the inspector channel. Bad input gets a 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.base.db import utcnow
from cityloop.base.outbox import OutboxEvent
from cityloop.bridges import case_facts
from cityloop.domains.operations import hotspots
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import (
    CaseFactRow,
    ProactiveTask,
    RatingFactRow,
    ReworkFactRow,
)
from tests.domains.operations.cases import march_cases
from tests.support.city import City, fresh_point


@pytest.fixture(scope="module")
def march(city: City) -> dict[str, int]:
    with city.ctx.writing() as session:
        cases = march_cases(session)
        case_facts.reconcile(session)
        return {name: case.id for name, case in cases.items()}


def test_the_indicators_move_as_cases_close_and_rework(city: City) -> None:
    headers = city.headers("supervisor")
    city.drain()
    before = city.client.get("/api/v1/kpis", headers=headers).json()["departments"]
    roads_before = before.get("roads", {"rework": 0, "closed": 0})
    lat, lon = fresh_point()
    case_id = city.report(category="C-02-01", lat=lat, lon=lon)["case_id"]
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="dispatch", department="roads")
    city.act(case_id, "worker-roads", action="start")
    proof = city.upload()
    city.act(case_id, "worker-roads", action="resolve", note="patched", attachments=[proof])
    city.act(case_id, "supervisor", action="reopen", note="redo")
    city.act(case_id, "worker-roads", action="start")
    city.act(case_id, "worker-roads", action="resolve", note="again", attachments=[proof])
    city.act(case_id, "supervisor", action="verify", resolution="fixed")
    city.drain()  # the relay delivers the case events to the bridge
    start = (utcnow() - timedelta(days=1)).isoformat()
    end = (utcnow() + timedelta(days=30)).isoformat()
    period = {"start": start, "end": end}
    after = city.client.get("/api/v1/kpis", headers=headers, params=period).json()
    roads = after["departments"]["roads"]
    assert roads["rework"] == roads_before["rework"] + 1
    assert roads["closed"] >= 1
    assert 0 < roads["closure_rate"] <= 1
    assert roads["median_hours_to_close"] is not None
    assert roads["p90_hours_to_close"] is not None
    # A handler sees their own department's figures and no other's; water has a case in the
    # period, so an empty answer cannot pass for a scoped one.
    lat, lon = fresh_point()
    water_case = city.report(category="C-02-01", lat=lat, lon=lon)["case_id"]
    city.act(water_case, "dispatcher", action="register")
    city.act(water_case, "dispatcher", action="dispatch", department="water")
    city.drain()
    own = city.client.get("/api/v1/kpis", headers=city.headers("handler-water")).json()
    assert set(own["departments"]) == {"water"}
    assert own["departments"]["water"]["registered"] >= 1
    bad = city.client.get("/api/v1/kpis", headers=headers, params={"start": end, "end": end})
    assert bad.status_code == 400


def _fact(city: City, case_id: int) -> dict[str, Any]:
    with city.ctx.reading() as session:
        row = session.get(CaseFactRow, case_id)
        assert row is not None
        return {c: getattr(row, c) for c in CaseFactRow.__table__.columns.keys()}  # noqa: SIM118


def test_a_rating_reaches_the_facts_and_a_redelivered_event_doubles_nothing(city: City) -> None:
    lat, lon = fresh_point()
    filed = city.report(category="C-02-01", lat=lat, lon=lon)
    case_id = filed["case_id"]
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="dispatch", department="roads")
    city.act(case_id, "supervisor", action="reopen", expect=409)  # not resolved yet
    city.act(case_id, "worker-roads", action="start")
    city.act(case_id, "worker-roads", action="resolve", note="done", attachments=[city.upload()])
    city.act(case_id, "supervisor", action="verify", resolution="fixed")
    rated = city.client.post(
        f"/api/v1/public/cases/{case_id}/rating",
        json={"stars": 4, "token": filed["tracking_token"]},
    )
    assert rated.status_code in (200, 201), rated.text
    city.drain()
    fact = _fact(city, case_id)
    assert (fact["status"], fact["ratings"], fact["stars_total"]) == ("closed", 1, 4)
    # Deliver every event of the case again: nothing changes, nothing is added.
    with city.ctx.writing() as session:
        rows = session.scalars(
            select(OutboxEvent).where(
                OutboxEvent.aggregate_type == "case", OutboxEvent.aggregate_id == str(case_id)
            )
        ).all()
        assert rows
        for row in rows:
            delivered = case_facts.DeliveredEvent(
                row.id, row.type, row.aggregate_type, row.aggregate_id, row.payload, row.created_at
            )
            case_facts._handle(session, [delivered])
    assert _fact(city, case_id) == fact
    with city.ctx.reading() as session:
        ratings = session.scalars(select(RatingFactRow).where(RatingFactRow.case_id == case_id))
        assert len(list(ratings)) == 1


def test_the_reconcile_fixes_a_tampered_fact_and_drops_an_orphan(
    city: City, march: dict[str, int]
) -> None:
    with city.ctx.writing() as session:
        assert case_facts.reconcile(session).fixed == 0  # nothing to do after a full pass
        fact = session.get(CaseFactRow, march["a"])
        assert fact is not None
        fact.status, fact.department = "submitted", "water"
        session.execute(ReworkFactRow.__table__.delete().where(ReworkFactRow.case_id == march["b"]))
        orphan = {c: getattr(fact, c) for c in CaseFactRow.__table__.columns.keys()}  # noqa: SIM118
        session.add(CaseFactRow(**{**orphan, "case_id": 2_000_000_000}))
    with city.ctx.writing() as session:
        result = case_facts.reconcile(session)
    assert (result.fixed, result.removed) == (2, 1)
    assert result.checked >= 7
    restored = _fact(city, march["a"])
    assert (restored["status"], restored["department"]) == ("closed", "roads")
    with city.ctx.reading() as session:
        assert session.get(CaseFactRow, 2_000_000_000) is None
        reworks = session.scalars(select(ReworkFactRow).where(ReworkFactRow.case_id == march["b"]))
        assert len(list(reworks)) == 1


def test_a_hotspot_becomes_a_case_on_the_inspector_channel(
    city: City, march: dict[str, int]
) -> None:
    headers = city.headers("supervisor")
    found = city.client.get(
        "/api/v1/operations/hotspots",
        headers=headers,
        params={"month": "2030-03", "level": "street", "threshold": 2},
    ).json()
    # a and g in RV01-S01 (the rejected e and the merged f are not separate problems).
    assert [(h["area"], h["category"], h["cases"]) for h in found] == [("RV01-S01", "C-02-01", 2)]
    body = {"month": "2030-03", "level": "street", "area": "RV01-S01", "category": "C-02-01"}
    asked = city.client.post("/api/v1/operations/hotspots/tasks", headers=headers, json=body)
    assert asked.status_code == 202, asked.text
    task = asked.json()
    assert task["case_id"] is None and task["cases"] == 2
    again = city.client.post("/api/v1/operations/hotspots/tasks", headers=headers, json=body)
    assert again.status_code == 409
    city.drain()
    tasks = city.client.get("/api/v1/operations/tasks", headers=headers).json()
    (done,) = [t for t in tasks if t["id"] == task["id"]]
    assert done["case_id"] is not None, done
    case = city.case(done["case_id"])
    assert case["channel"] == "inspector"
    # The description is kept once for every reader: Chinese, then English.
    chinese, english = case["description"].split("\n")
    assert chinese.startswith("未诉先办任务：2030-03 街道 RV01-S01 有 2 件 C-02-01 类上报")
    assert english.startswith("Proactive task (未诉先办): 2 reports of C-02-01 in street RV01-S01")
    trail = city.client.get(
        "/api/v1/audit",
        headers=city.headers("admin"),
        params={"target": "hotspot:2030-03:street:RV01-S01:C-02-01"},
    )
    assert trail.status_code == 200, trail.text
    assert [e["action"] for e in trail.json()] == ["operations.proactive_task"]
    listed = city.client.get(
        "/api/v1/operations/hotspots",
        headers=headers,
        params={"month": "2030-03", "level": "street", "threshold": 2},
    ).json()
    assert listed[0]["task_case_id"] == done["case_id"]


def test_why_a_task_filed_no_case_reads_in_the_readers_language(city: City) -> None:
    with city.ctx.writing() as session:
        task = ProactiveTask(
            month="2031-01",
            level="grid",
            district="RV01",
            area="RV01-S01-G01",
            category="C-99-99",
            cases=3,
            requested_by="supervisor",
        )
        session.add(task)
        session.flush()
        reason = Message("governance.unknown_category", {"code": "'C-99-99'"})
        assert hotspots.link_task(session, task_id=task.id, case_id=None, error=reason)
        task_id = task.id
    errors = {}
    for language in ("en", "zh-CN"):
        tasks = city.client.get(
            "/api/v1/operations/tasks",
            headers={**city.headers("supervisor"), "Accept-Language": language},
            params={"month": "2031-01"},
        ).json()
        (found,) = [t for t in tasks if t["id"] == task_id]
        errors[language] = found["error"]
    assert errors == {"en": "unknown category 'C-99-99'", "zh-CN": "未知类别 'C-99-99'"}


def test_a_problem_of_the_operations_centre_reads_in_the_readers_language(city: City) -> None:
    response = city.client.get(
        "/api/v1/operations/trends",
        headers={**city.headers("supervisor"), "Accept-Language": "zh-CN"},
        params={"bucket": "hour"},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["field"]) == ("operations.bucket_choices", "bucket")
    assert body["detail"] == "bucket 必须是 day、week 或 month"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/operations/kpis", {"by": "colour"}, "by"),
        (
            "/api/v1/operations/kpis",
            {"start": "2030-03-02T00:00:00Z", "end": "2030-03-01T00:00:00Z"},
            "start",
        ),
        (
            "/api/v1/operations/kpis",
            {"start": "2030-03-01T00:00:00", "end": "2030-03-02T00:00:00"},
            "start",
        ),
        (
            "/api/v1/operations/kpis",
            {"start": "2028-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
            "end",
        ),
        ("/api/v1/operations/kpis", {"start": "yesterday"}, "start"),
        ("/api/v1/operations/cases", {"figure": "everything"}, "figure"),
        ("/api/v1/operations/trends", {"bucket": "hour"}, "bucket"),
        ("/api/v1/operations/trends", {"figure": "happiness"}, "figure"),
        (
            "/api/v1/operations/trends",
            {"bucket": "day", "start": "2030-01-01T00:00:00Z", "end": "2030-06-01T00:00:00Z"},
            "bucket",
        ),
        ("/api/v1/operations/league", {"month": "2030-13"}, "month"),
        ("/api/v1/operations/league", {"month": "2030-03", "of": "grid"}, "of"),
        ("/api/v1/operations/hotspots", {"month": "March"}, "month"),
        ("/api/v1/operations/hotspots", {"month": "2030-03", "level": "city"}, "level"),
        ("/api/v1/operations/hotspots", {"month": "2030-03", "threshold": 1}, "threshold"),
    ],
)
def test_bad_input_gets_a_problem_naming_the_field(
    city: City, path: str, params: dict[str, str], field: str
) -> None:
    response = city.client.get(path, headers=city.headers("supervisor"), params=params)
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field


def test_a_task_for_no_hotspot_is_refused(city: City) -> None:
    body = {"month": "2030-03", "level": "grid", "area": "nowhere", "category": "C-02-01"}
    response = city.client.post(
        "/api/v1/operations/hotspots/tasks", headers=city.headers("supervisor"), json=body
    )
    assert response.status_code == 400
    assert response.json()["field"] == "area"
    body["month"] = "2030-3x"
    response = city.client.post(
        "/api/v1/operations/hotspots/tasks", headers=city.headers("supervisor"), json=body
    )
    assert response.status_code == 400
    assert response.json()["field"] == "month"
