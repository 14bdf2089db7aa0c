"""Who may ask and decide, refusals and revocations with their reasons, and a clear 4xx for every
bad request, approval and read (nothing half-written)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from cityloop.platforms.data.sharing.models import DataGrant, GrantEvent
from tests.platforms.data.sharing.conftest import People
from tests.support.city import City
from tests.support.sharing import (
    ALLOWANCES,
    GRANTS,
    LEGAL_BASIS,
    PURPOSE,
    approve,
    call,
    later,
    request,
    rows,
)

DATASET = ALLOWANCES.name


def counts(city: City) -> tuple[int, int]:
    with city.ctx.db.read() as session:
        grants = session.scalar(select(func.count()).select_from(DataGrant)) or 0
        steps = session.scalar(select(func.count()).select_from(GrantEvent)) or 0
    return grants, steps


def test_a_refused_request_answers_403_with_the_owners_reason(city: City, people: People) -> None:
    asked = request(city, "handler-environment", DATASET)
    path = f"{GRANTS}/{asked['id']}/refuse"
    assert call(city, "POST", path, "handler-civil", 422, json={"reason": "   "})["field"] == (
        "reason"
    )
    call(city, "POST", path, "handler-environment", 403, json={"reason": "mine now"})
    refused = call(city, "POST", path, "handler-civil", json={"reason": "no legal duty shown"})
    assert refused["status"] == "refused" and refused["decision_note"] == "no legal duty shown"
    answer = rows(city, DATASET, "handler-environment", 403)
    assert answer["reason"] == "grant-refused" and "no legal duty shown" in answer["detail"]
    assert "未获批准" in answer["detail_zh"]
    again = approve(city, asked["id"], "handler-civil", 409, fields=["name"])
    assert again["type"].endswith("/illegal-transition") and "refused" in again["detail"]
    # A refused request may be asked again, with a better case.
    assert request(city, "handler-environment", DATASET)["status"] == "requested"


def test_a_revoked_grant_is_refused_at_the_next_read(city: City, people: People) -> None:
    asked = request(city, "handler-roads", DATASET)
    approve(city, asked["id"], "handler-civil", fields=["district"])
    assert rows(city, DATASET, "handler-roads")["total"] == 4
    path = f"{GRANTS}/{asked['id']}/revoke"
    call(city, "POST", path, "handler-roads", 403, json={"reason": "giving it back"})
    call(city, "POST", path, "handler-civil", 422, json={})
    revoked = call(city, "POST", path, "admin", json={"reason": "the audit found misuse"})
    assert revoked["status"] == "revoked" and revoked["revoked_by"] == "admin"
    answer = rows(city, DATASET, "handler-roads", 403)
    assert answer["reason"] == "grant-revoked" and "the audit found misuse" in answer["detail"]
    assert answer["grant_id"] == asked["id"]
    assert call(city, "POST", path, "handler-civil", 409, json={"reason": "twice"})["status"] == (
        "revoked"
    )
    history = call(city, "GET", f"{GRANTS}/{asked['id']}", "handler-roads")["history"]
    assert [h["action"] for h in history] == ["request", "approve", "revoke"]
    assert history[-1]["actor"] == "admin" and history[-1]["note"] == "the audit found misuse"


def test_grants_are_seen_by_their_two_departments_and_administrators(
    city: City, people: People
) -> None:
    asked = request(city, "handler-lighting", DATASET)
    for who in ("handler-lighting", "worker-lighting", "handler-civil", "admin"):
        assert call(city, "GET", f"{GRANTS}/{asked['id']}", who)["id"] == asked["id"]
    call(city, "GET", f"{GRANTS}/{asked['id']}", "handler-parks", 403)
    call(city, "GET", f"{GRANTS}/999999", "admin", 404)
    everything = call(city, "GET", f"{GRANTS}?status=requested&limit=200", "admin")
    assert asked["id"] in [g["id"] for g in everything["items"]]
    parks = call(city, "GET", GRANTS, "handler-parks")["items"]
    assert all("parks" in (g["requester"]["code"], g["owner"]["code"]) for g in parks)
    call(city, "GET", GRANTS, "citizen", 403)
    call(city, "GET", f"{GRANTS}?status=lost", "admin", 422)
    call(city, "GET", f"{GRANTS}?view=mine", "admin", 422)
    call(city, "GET", GRANTS, "dispatcher")  # the command centre is a department too


@pytest.mark.parametrize(
    ("who", "body", "status", "kind"),
    [
        ("handler-civil", {"name": DATASET}, 409, "own-data"),
        ("handler-civil", {"name": "test-open-toilets"}, 409, "open-dataset"),
        ("handler-civil", {"name": "no-such-data"}, 422, "unknown-dataset"),
        ("handler-civil", {"kind": "lookup", "name": "horoscope"}, 422, "unknown-lookup"),
        ("handler-civil", {"kind": "lookup", "name": "person-profile", "fields": ["shoe"]}, 422,
         "invalid-input"),
        ("handler-civil", {"kind": "table", "name": DATASET}, 422, "invalid-input"),
        ("handler-water", {"name": DATASET, "legal_basis": ""}, 422, "invalid-input"),
        ("handler-water", {"name": DATASET, "legal_basis": "   "}, 422, "invalid-input"),
        ("handler-water", {"name": DATASET, "purpose": "x" * 501}, 422, "invalid-input"),
        ("handler-water", {"name": DATASET, "fields": ["shoe_size"]}, 422, "invalid-input"),
        ("handler-water", {"name": DATASET, "department": "roads"}, 403, "forbidden"),
        ("worker-water", {"name": DATASET}, 403, "forbidden"),
        ("admin", {"name": DATASET}, 422, "invalid-input"),  # for which department?
        ("admin", {"name": DATASET, "department": "atlantis"}, 422, "invalid-input"),
        ("citizen", {"name": DATASET}, 403, "forbidden"),
    ],
)  # fmt: skip
def test_a_bad_request_is_refused_naming_the_problem_and_writes_nothing(
    city: City, people: People, who: str, body: dict[str, Any], status: int, kind: str
) -> None:
    before = counts(city)
    fields = dict(body)
    answer = request(city, who, fields.pop("name"), expect=status, **fields)
    assert answer["type"].endswith(f"/{kind}"), answer
    assert counts(city) == before


def test_a_second_request_waits_for_the_first(city: City, people: People) -> None:
    first = request(city, "handler-sanitation", DATASET)
    second = request(city, "handler-sanitation", DATASET, expect=409)
    assert second["type"].endswith("/grant-pending") and second["grant_id"] == first["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": []}, "fields"),
        ({"fields": ["shoe_size"]}, "fields"),
        ({"fields": ["name"], "row_filter": {"shoe_size": "42"}}, "row_filter"),
        ({"fields": ["name"], "row_filter": {"monthly_yuan": "lots"}}, "row_filter"),
        ({"fields": ["name"], "row_filter": {"district": []}}, "row_filter"),
        ({"fields": ["name"], "row_filter": {"district": [{"a": 1}]}}, "row_filter"),
        ({"fields": ["name"], "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"fields": ["name"], "expires_at": later(days=3 * 366 + 2)}, "expires_at"),
        ({"fields": ["name"], "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"fields": ["name"], "expires_at": "soon"}, "expires_at"),
        ({"fields": ["name"], "note": "n" * 501}, "note"),
        ({"fields": ["name"], "colour": "red"}, "colour"),
    ],
)
def test_a_bad_approval_is_a_422_naming_the_field_and_leaves_the_request_waiting(
    city: City, people: People, body: dict[str, Any], field: str
) -> None:
    asked = call(city, "GET", f"{GRANTS}?view=requests&status=requested", "handler-culture")[
        "items"
    ] or [request(city, "handler-culture", DATASET)]
    grant_id = asked[0]["id"]
    answer = approve(city, grant_id, "handler-civil", 422, **body)
    assert answer["field"] == field, answer
    assert call(city, "GET", f"{GRANTS}/{grant_id}", "handler-civil")["status"] == "requested"


def test_bad_reads_are_4xx_naming_the_problem(city: City, people: People) -> None:
    assert rows(city, "no-such-data", "handler-civil", 404)["type"].endswith("/not-found")
    assert rows(city, DATASET, "handler-civil", 400, filters="{bad")["field"] == "filters"
    assert rows(city, DATASET, "handler-civil", 400, filters="[1]")["field"] == "filters"
    assert rows(city, DATASET, "handler-civil", 400, sort="name sideways")["field"] == "sort"
    assert rows(city, DATASET, "handler-civil", 422, fields="shoe_size")["field"] == "shoe_size"
    assert rows(city, DATASET, "handler-civil", 422, sort="shoe_size")["field"] == "shoe_size"
    assert rows(city, DATASET, "handler-civil", 422, limit=0)["field"] == "limit"
    assert rows(city, DATASET, "citizen", 403)["type"].endswith("/forbidden")
    nobody = rows(city, DATASET, "admin", 403)  # an administrator belongs to no department
    assert nobody["reason"] == "no-department" and "部门" in nobody["detail_zh"]
    response = city.client.get(f"/api/v1/data/shared/{DATASET}/rows")
    assert response.status_code == 401


def test_requests_carry_purpose_and_legal_basis_as_given(city: City, people: People) -> None:
    asked = request(city, "handler-planning", DATASET, fields=["district", "district"])
    assert asked["purpose"] == PURPOSE and asked["legal_basis"] == LEGAL_BASIS
    assert asked["requested_fields"] == ["district"]
    assert asked["expires_at"] is None and asked["fields"] == []
