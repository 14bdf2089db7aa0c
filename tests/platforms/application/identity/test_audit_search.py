"""The audit log, searchable by actor, action, object and time, a page at a time, and exported
as CSV; for admins and supervisors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityloop.base.db import utcnow
from cityloop.platforms.application.identity import service
from cityloop.platforms.application.identity.models import AuditEntry
from cityloop.platforms.application.identity.service import Actor
from tests.support.city import City

CLERK = Actor(None, "audit-clerk", "clerk")


@pytest.fixture(scope="module")
def seeded(city: City) -> City:
    """Entries of a made-up actor: three creations, two reads, one dated last year."""
    with city.ctx.db.writing() as session:
        for n in range(3):
            service.audit(session, actor=CLERK, action="user.create", target=f"user:made-{n}")
        for n in range(2):
            service.audit(session, actor=CLERK, action="user.read", target=f"user:made-{n}")
        session.add(
            AuditEntry(
                at=utcnow() - timedelta(days=365), actor="audit-clerk", actor_role="clerk",
                action="user.create", target="user:long-ago", detail={"formula": "=1+1"},
            )
        )  # fmt: skip
    return city


def search(city: City, who: str = "admin", **params: Any) -> Any:
    response = city.client.get("/api/v1/audit", params=params, headers=city.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_entries_are_found_by_actor(seeded: City) -> None:
    found = search(seeded, actor="audit-clerk")
    assert len(found) == 6 and {e["actor"] for e in found} == {"audit-clerk"}
    assert [e["id"] for e in found] == sorted((e["id"] for e in found), reverse=True)


def test_entries_are_found_by_action_exactly_or_by_prefix(seeded: City) -> None:
    assert len(search(seeded, actor="audit-clerk", action="user.read")) == 2
    assert len(search(seeded, actor="audit-clerk", action="user.*")) == 6
    assert search(seeded, actor="audit-clerk", action="user.") == []
    # A wildcard of SQL in the text is no wildcard.
    assert search(seeded, actor="audit-clerk", action="user_*") == []


def test_entries_are_found_by_object(seeded: City) -> None:
    assert len(search(seeded, target="user:made-1")) == 2
    assert len(search(seeded, actor="audit-clerk", target="user:made-*")) == 5


def test_entries_are_found_by_time_range(seeded: City) -> None:
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = search(seeded, actor="audit-clerk", **{"from": since})
    assert len(recent) == 5
    until = (datetime.now(UTC) - timedelta(days=300)).isoformat()
    old = search(seeded, actor="audit-clerk", to=until)
    assert [e["target"] for e in old] == ["user:long-ago"]


def test_pages_follow_on_from_the_last_id(seeded: City) -> None:
    first = search(seeded, actor="audit-clerk", limit=4)
    rest = search(seeded, actor="audit-clerk", limit=4, before_id=first[-1]["id"])
    assert len(first) == 4 and len(rest) == 2
    everything = search(seeded, actor="audit-clerk")
    assert [e["id"] for e in first + rest] == [e["id"] for e in everything]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "2026-12-01T00:00:00"}, 400, "from"),
        ({"to": "yesterday"}, 422, "to"),
        ({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, 400, "to"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 1001}, 422, "limit"),
        ({"before_id": 0}, 422, "before_id"),
        ({"actor": "x" * 81}, 422, "actor"),
        ({"target": "x" * 121}, 422, "target"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    seeded: City, params: dict[str, Any], status: int, field: str
) -> None:
    # The export takes the filters, not the paging.
    paths = ["/api/v1/audit"] + (
        [] if field in ("limit", "before_id") else ["/api/v1/audit/export"]
    )
    for path in paths:
        response = seeded.client.get(path, params=params, headers=seeded.headers("admin"))
        assert response.status_code == status, response.text
        assert response.json()["field"] == field


def test_supervisors_search_and_other_staff_may_not(seeded: City) -> None:
    assert len(search(seeded, "supervisor", actor="audit-clerk")) == 6
    for who in ("dispatcher", "handler-roads", "clerk"):
        for path in ("/api/v1/audit", "/api/v1/audit/export"):
            assert seeded.client.get(path, headers=seeded.headers(who)).status_code == 403
    assert seeded.client.get("/api/v1/audit/export").status_code == 401


def test_the_export_is_csv_of_every_match_and_is_itself_audited(seeded: City) -> None:
    response = seeded.client.get(
        "/api/v1/audit/export", params={"actor": "audit-clerk"}, headers=seeded.headers("admin")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 6 and {r["actor"] for r in rows} == {"audit-clerk"}
    # A cell a spreadsheet would take for a formula is written as text.
    old = next(r for r in rows if r["target"] == "user:long-ago")
    assert '"=1+1"' in old["detail"]
    exported = search(seeded, action="audit.export")[0]
    assert exported["actor"] == "admin" and exported["detail"]["actor"] == "audit-clerk"


def test_the_export_runs_past_one_batch(seeded: City, monkeypatch: pytest.MonkeyPatch) -> None:
    from cityloop.platforms.application.identity import auditlog

    monkeypatch.setattr(auditlog, "EXPORT_BATCH", 2)
    response = seeded.client.get(
        "/api/v1/audit/export", params={"actor": "audit-clerk"}, headers=seeded.headers("admin")
    )
    ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(response.text))]
    assert len(ids) == 6 == len(set(ids)) and ids == sorted(ids, reverse=True)


def test_a_cell_starting_like_a_formula_is_escaped() -> None:
    from cityloop.platforms.application.identity.auditlog import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("-1") == "'-1"
    assert _cell("user:ann") == "user:ann"
