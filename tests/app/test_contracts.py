"""The API's contracts: every JSON route declares its answer, the vocabulary route lists the
workflow's words from the workflow itself, and public answers carry exactly the public keys."""

from __future__ import annotations

from typing import Any

from cityloop.domains.governance import responses
from cityloop.domains.governance.workflow import (
    OPEN311_CLOSED,
    OPEN_STATES,
    TERMINAL,
    TRANSITIONS,
    Channel,
    Priority,
    Resolution,
    Status,
)
from tests.support.city import City, fresh_point

# Routes that answer no JSON: the live feed (text/event-stream) and the photos' bytes.
NOT_JSON = {
    ("get", "/api/v1/media/{media_id}"),
    ("get", "/api/v1/media/{media_id}/thumbnail"),
    ("get", "/api/v1/cases-stream"),
    ("get", "/api/v1/operations/live"),
    ("get", "/api/v1/applications/{application_id}/materials/{material_id}"),
    ("get", "/api/v1/staff/applications/{application_id}/materials/{material_id}"),
    ("get", "/api/v1/me/licences/{application_id}/qr.svg"),
    ("get", "/api/v1/me/licences/{application_id}/pdf"),
    ("get", "/api/v1/data/datasets/{name}/distributions/{distribution_id}"),
    ("get", "/api/v1/data/catalog.{extension}"),
    ("get", "/api/v1/public/reports/{month}.{extension}"),
    ("get", "/api/v1/operations/reports/{month}.{extension}"),
}
STAFF_ONLY_CASE_KEYS = {
    "channel",
    "routing",
    "source_ref",
    "registered_at",
    "dispatched_at",
    "started_at",
    "resolved_at",
    "response_due",
    "resolution_due",
    "response_overdue",
    "overdue",
    "update_overdue",
    "escalated",
    "rework_count",
    "on_time",
    "handled_on_time",
    "last_public_update_at",
    "allowed_actions",
    "reports",
    "merged_cases",
    "ratings",
    "disputes",
}
STAFF_ONLY_ROW_KEYS = {"actor", "actor_role", "department", "note_public", "data"}


def _fields(model: type[Any]) -> set[str]:
    return set(model.model_fields)


def test_every_api_route_declares_its_answer(city: City) -> None:
    document = city.client.get("/openapi.json").json()
    missing = []
    for path, operations in document["paths"].items():
        if not path.startswith(("/api/v1/", "/iot/")):
            continue
        for method, operation in operations.items():
            if (method, path) in NOT_JSON:
                continue
            for status, answer in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                schemas = [media["schema"] for media in answer.get("content", {}).values()]
                if not schemas or any(s == {} or s.get("additionalProperties") for s in schemas):
                    missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_timestamps_are_declared_as_date_times(city: City) -> None:
    schemas = city.client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["PublicCase"]["properties"]["created_at"] == {
        "type": "string",
        "format": "date-time",
        "title": "Created At",
    }
    closed_at = schemas["PublicCase"]["properties"]["closed_at"]["anyOf"]
    assert {"type": "string", "format": "date-time"} in closed_at
    assert schemas["Alarm"]["properties"]["started_at"]["format"] == "date-time"


def test_the_vocabulary_is_the_workflow(city: City) -> None:
    response = city.client.get("/api/v1/vocabulary")  # public: no credentials
    assert response.status_code == 200, response.text
    vocabulary = response.json()
    statuses = {s["code"]: s for s in vocabulary["statuses"]}
    assert list(statuses) == [s.value for s in Status]
    for status in Status:
        term = statuses[status.value]
        assert term["open"] == (status in OPEN_STATES)
        assert term["terminal"] == (status in TERMINAL)
        assert term["open311_closed"] == (status in OPEN311_CLOSED)
    assert [s for s, t in statuses.items() if t["open"]] == [
        "submitted",
        "registered",
        "dispatched",
        "in_progress",
        "resolved",
    ]
    assert {t["phase"] for t in statuses.values()} == {"intake", "work", "done", "ended"}
    assert statuses["closed"]["open311_closed"] and not statuses["closed"]["terminal"]
    assert [r["code"] for r in vocabulary["resolutions"]] == [r.value for r in Resolution]
    assert [r["phase"] for r in vocabulary["resolutions"] if r["code"] == "fixed"] == ["done"]
    assert vocabulary["priorities"] == [p.value for p in Priority]
    assert vocabulary["channels"] == [c.value for c in Channel]
    actions = {a["code"]: a for a in vocabulary["actions"]}
    assert set(actions) == set(TRANSITIONS)
    verify = actions["verify"]
    assert verify["from_statuses"] == ["resolved"] and verify["to_status"] == "closed"
    assert verify["needs"] == ["resolution"] and verify["note_public"]
    assert actions["reopen"]["counts_as_rework"]
    assert actions["reject"]["public_reason"] and actions["reject"]["needs"] == ["note"]
    assert actions["comment"]["to_status"] is None
    assert sorted(actions["dispatch"]["roles"]) == ["admin", "dispatcher"]


def _story(city: City) -> tuple[int, str]:
    """A case with staff rows, an internal and a public note, a proof photo and a rating."""
    lat, lon = fresh_point()
    answer = city.report(
        category="E-01-02",
        lat=lat,
        lon=lon,
        description="Litter behind the market",
        media=[city.upload()],
        contact_name="A. Reporter",
        contact_email="reporter@example.org",
        contact_phone="+86 138 0000 0000",
    )
    case_id = int(answer["case_id"])
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="comment", note="internal: repeat offender")
    city.act(case_id, "dispatcher", action="comment", note="cleaning is arranged", public=True)
    city.act(case_id, "dispatcher", action="dispatch", department="sanitation")
    city.act(case_id, "admin", action="start")
    city.act(case_id, "admin", action="resolve", note="cleared", attachments=[city.upload()])
    city.act(case_id, "supervisor", action="verify", resolution="fixed")
    return case_id, str(answer["tracking_token"])


def _public_case_keys_only(case: dict[str, Any]) -> None:
    assert set(case) == _fields(responses.PublicCase)
    assert not set(case) & STAFF_ONLY_CASE_KEYS
    for row in case["timeline"]:
        assert not set(row) & STAFF_ONLY_ROW_KEYS
        assert set(row) - {"by"} == _fields(responses.PublicTimelineRow) - {"by"}
        assert row.get("by", "city staff") == "city staff"


def test_public_answers_carry_no_staff_field_not_even_as_null(city: City) -> None:
    case_id, token = _story(city)
    public = city.client.get(f"/api/v1/public/cases/{case_id}").json()
    _public_case_keys_only(public)
    by_staff = [row for row in public["timeline"] if row["action"] == "register"]
    by_citizen = [row for row in public["timeline"] if row["action"] == "submit"]
    assert by_staff[0]["by"] == "city staff"
    assert "by" not in by_citizen[0]  # left out, not null
    assert "internal: repeat offender" not in str(public)
    assert "reporter@example.org" not in str(public)

    tracked = city.client.get(f"/api/v1/track/{token}").json()
    assert set(tracked) == {"report_id", "case"}
    _public_case_keys_only(tracked["case"])

    features = city.client.get("/api/v1/public/cases").json()["features"]
    [feature] = [f for f in features if f["id"] == case_id]
    assert set(feature["properties"]) == _fields(responses.PublicCaseProperties)

    staff = city.case(case_id)
    assert set(staff) == _fields(responses.StaffCase)
    assert set(staff) >= STAFF_ONLY_CASE_KEYS
    for row in staff["timeline"]:
        assert set(row) == _fields(responses.StaffTimelineRow)  # never a "by"
    listed = city.client.get(
        "/api/v1/cases", params={"q": "Litter behind the market"}, headers=city.headers("admin")
    ).json()["items"]
    assert listed and set(listed[0]) == _fields(responses.StaffCaseSummary)


def test_bulk_results_keep_their_two_shapes(city: City) -> None:
    lat, lon = fresh_point()
    case_id = int(city.report(category="E-02-01", lat=lat, lon=lon)["case_id"])
    response = city.client.post(
        "/api/v1/cases/bulk-actions",
        json={"action": "register", "case_ids": [case_id, case_id + 10_000]},
        headers=city.headers("dispatcher"),
    )
    assert response.status_code == 200, response.text
    done, refused = response.json()["results"]
    assert done == {"case_id": case_id, "ok": True, "status": "registered"}
    assert set(refused) == {"case_id", "ok", "status_code", "detail"}
    assert refused["ok"] is False and refused["status_code"] == 404
