"""Staff read a case without its reporters' contact details; a staff member opens one report's
contact for a purpose. Every opening is audited, and a reporter with an account finds it in
their own "who read my data" log: which details, why, and the reader's role and department."""

from __future__ import annotations

from typing import Any

import pytest

from cityloop.base.problems import Problem
from cityloop.domains.governance import contacts
from cityloop.platforms.application.identity.service import Actor
from tests.support.city import City, fresh_point
from tests.support.identity import new_citizen

SECRETS = ("Ms Private", "+86 555 0101", "private@example.org")


def reported(city: City, username: str | None = None, **contact: str) -> tuple[int, int]:
    """A new case from one report with these contact details: the case and report ids."""
    lat, lon = fresh_point()
    answer = city.report(username, category="C-02-01", lat=lat, lon=lon, **contact)
    return int(answer["case_id"]), int(answer["report_id"])


def open_contact(
    city: City, case_id: int, report_id: int, who: str = "dispatcher", **body: Any
) -> Any:
    return city.client.post(
        f"/api/v1/cases/{case_id}/reports/{report_id}/contact",
        json=body or {"purpose": "callback"},
        headers=city.headers(who),
    )


def audit_of(city: City, case_id: int) -> list[dict[str, Any]]:
    trail = city.client.get(f"/api/v1/audit?target=case:{case_id}", headers=city.headers("admin"))
    assert trail.status_code == 200, trail.text
    return [a for a in trail.json() if a["action"] == "case.contact_read"]


def my_log(city: City, username: str) -> list[dict[str, Any]]:
    answer = city.client.get("/api/v1/me/data-access", headers=city.headers(username))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_the_case_says_which_contacts_a_report_left_but_not_what_they_are(city: City) -> None:
    case_id, _ = reported(
        city, contact_name="Ms Private", contact_phone="+86 555 0101",
        contact_email="private@example.org",
    )  # fmt: skip
    for who in ("dispatcher", "admin", "supervisor"):
        answer = city.client.get(f"/api/v1/cases/{case_id}", headers=city.headers(who))
        assert answer.status_code == 200, answer.text
        report = answer.json()["reports"][0]
        assert report["has_contact"] is True
        assert report["contact_fields"] == ["contact_name", "phone", "email"]
        assert not any(secret in answer.text for secret in SECRETS)
    bare_case, _ = reported(city)
    bare = city.case(bare_case)["reports"][0]
    assert bare["has_contact"] is False and bare["contact_fields"] == []


def test_opening_a_contact_logs_it_and_the_reporter_sees_it_in_their_log(city: City) -> None:
    username, _ = new_citizen(city, "reporter")
    case_id, report_id = reported(
        city, username, contact_name="Ms Private", contact_phone="+86 555 0101"
    )
    assert my_log(city, username) == []
    opened = open_contact(city, case_id, report_id, "dispatcher", purpose="case_follow_up")
    assert opened.status_code == 200, opened.text
    assert opened.json() == {
        "case_id": case_id, "report_id": report_id, "purpose": "case_follow_up",
        "contact_name": "Ms Private", "contact_email": None, "contact_phone": "+86 555 0101",
        "logged_for_reporter": True,
    }  # fmt: skip
    [entry] = my_log(city, username)
    assert entry["purpose"] == {
        "code": "case_follow_up",
        "name": "Following up your report with you",
        "name_zh": "就您反映的问题与您沟通",
    }
    assert [f["code"] for f in entry["fields"]] == ["contact_name", "phone"]
    assert entry["fields"][0]["name_zh"] == "留下的联系人姓名"
    assert entry["role"]["code"] == "dispatcher" and entry["department"]["code"] == "command"
    assert entry["reference"] == f"case:{case_id}" and entry["grant_id"] is None
    [audited] = audit_of(city, case_id)
    assert audited["actor"] == "dispatcher"
    assert audited["detail"] == {
        "report": report_id,
        "purpose": "case_follow_up",
        "fields": ["contact_name", "phone"],
    }
    # Each opening is its own entry: a second call back is logged again.
    assert open_contact(city, case_id, report_id, "supervisor").status_code == 200
    assert [e["purpose"]["code"] for e in my_log(city, username)] == ["callback", "case_follow_up"]


def test_an_anonymous_reporters_contact_opening_is_audited(city: City) -> None:
    case_id, report_id = reported(city, contact_email="private@example.org")
    opened = open_contact(city, case_id, report_id, "admin")
    assert opened.status_code == 200, opened.text
    assert opened.json()["contact_email"] == "private@example.org"
    assert opened.json()["logged_for_reporter"] is False
    [audited] = audit_of(city, case_id)
    assert (audited["actor"], audited["detail"]["fields"]) == ("admin", ["email"])


def test_a_contact_is_opened_only_for_a_named_purpose_on_a_case_one_may_see(city: City) -> None:
    case_id, report_id = reported(city, contact_phone="+86 555 0101")
    other_case, other_report = reported(city, contact_phone="+86 555 0102")
    for body in ({"purpose": "curiosity"}, {"purpose": ""}, {"reason": "callback"}):
        refused = open_contact(city, case_id, report_id, "dispatcher", **body)
        assert refused.status_code == 422, body
    assert refused.json()["field"] in ("purpose", "reason")
    # Another case's report, a report that is not there, a case outside the reader's department.
    assert open_contact(city, case_id, other_report).status_code == 404
    assert open_contact(city, case_id, 2_000_000_000).status_code == 404
    assert open_contact(city, other_case, report_id).status_code == 404
    assert open_contact(city, case_id, report_id, "handler-parks").status_code == 404
    assert open_contact(city, case_id, report_id, "citizen").status_code == 403
    unsigned = city.client.post(
        f"/api/v1/cases/{case_id}/reports/{report_id}/contact", json={"purpose": "callback"}
    )
    assert unsigned.status_code == 401
    assert audit_of(city, case_id) == [] and audit_of(city, other_case) == []


def test_a_report_without_contact_details_has_nothing_to_open(city: City) -> None:
    username, _ = new_citizen(city, "reporter")
    case_id, report_id = reported(city, username)
    refused = open_contact(city, case_id, report_id)
    assert refused.status_code == 404
    assert refused.json()["type"].endswith("/no-contact")
    assert audit_of(city, case_id) == [] and my_log(city, username) == []


def test_the_service_function_refuses_a_purpose_the_log_cannot_name(city: City) -> None:
    case_id, report_id = reported(city, contact_phone="+86 555 0101")
    dispatcher = Actor(None, "dispatcher", "dispatcher", "command")
    with city.ctx.writing() as session, pytest.raises(Problem) as refused:
        contacts.open_contact(
            session, case_id=case_id, report_id=report_id, actor=dispatcher, purpose="export"
        )
    assert (refused.value.status, refused.value.field) == (422, "purpose")
