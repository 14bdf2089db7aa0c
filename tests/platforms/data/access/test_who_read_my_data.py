""" "Who read my data": a person narrows their log by purpose, department, field and time, and
downloads it as CSV (headed and worded in English or Chinese) or JSON; a bad filter is a 422
naming it. An enterprise's legal representative and active agents see the enterprise's log;
nobody else does. Exports of people's data are logged once per data subject."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cityloop.platforms.application.identity.service import SYSTEM, Actor
from cityloop.platforms.data.access import catalogue, service
from cityloop.platforms.data.access.filters import AccessFilter
from tests.support.city import City
from tests.support.identity import fresh_id_number, new_citizen, reach_level_2

SNACK_SHOP = "92110105MA01CD34ER"  # the demo citizen 张丽华 is its legal representative
ROADS_HANDLER = Actor(990, "handler-roads", "handler", "roads")
PARKS_HANDLER = Actor(991, "handler-parks", "handler", "parks")


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def seeded_log(city: City) -> tuple[str, int]:
    """A citizen whose data was read four times, on four days of November 2026."""
    username, user_id = new_citizen(city)
    reads: list[tuple[Actor, list[str], str, datetime]] = [
        (ROADS_HANDLER, ["phone"], "callback", at(2)),
        (PARKS_HANDLER, ["application"], "review", at(10)),
        (ROADS_HANDLER, ["contact_name", "email"], "case_follow_up", at(20)),
        (SYSTEM, ["legal_name", "id_number"], "prefill", at(28, 23)),
    ]
    with city.ctx.writing() as session:
        for actor, fields, purpose, moment in reads:
            service.record_access(
                session, user_id=user_id, actor=actor, fields=fields, purpose=purpose,
                reference=f"test:{purpose}", at=moment,
                legal_basis="consent" if purpose == "prefill" else "statutory",
                consent_id="consent-7" if purpose == "prefill" else None,
            )  # fmt: skip
    return username, user_id


def log(city: City, who: str, path: str = "/api/v1/me/data-access", **params: Any) -> Any:
    return city.client.get(path, params=params, headers=city.headers(who))


def purposes(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [entry["purpose"]["code"] for entry in answer.json()["items"]]


def test_filters_narrow_the_page(city: City) -> None:
    username, _ = seeded_log(city)
    everything = purposes(log(city, username))
    assert everything == ["prefill", "case_follow_up", "review", "callback"]
    assert purposes(log(city, username, purpose="review")) == ["review"]
    assert purposes(log(city, username, department="roads")) == ["case_follow_up", "callback"]
    assert purposes(log(city, username, field="email")) == ["case_follow_up"]
    assert purposes(log(city, username, field="phone")) == ["callback"]
    # A date alone is its whole day on the city's clock (UTC+8: 28 Nov 23:00 UTC is the 29th).
    assert purposes(log(city, username, since="2026-11-10", until="2026-11-20")) == [
        "case_follow_up",
        "review",
    ]
    assert purposes(log(city, username, since="2026-11-29")) == ["prefill"]
    assert purposes(log(city, username, until="2026-11-28")) == everything[1:]
    # A date-time is a moment; one without an offset is on the city's clock; "until" includes it.
    assert purposes(log(city, username, until="2026-11-10T09:00:00Z")) == ["review", "callback"]
    assert purposes(log(city, username, until="2026-11-10T17:00:00")) == ["review", "callback"]
    assert purposes(log(city, username, since="2026-11-10T09:00:01+00:00")) == everything[:2]
    page = log(city, username, department="roads", limit=1, offset=1).json()
    assert page["total"] == 2 and [e["purpose"]["code"] for e in page["items"]] == ["callback"]
    assert purposes(log(city, username, purpose="review", department="roads")) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-30", "until": "2026-11-01"}, "until"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"field": "shoe_size"}, "field"),
        ({"department": "ministry-of-magic"}, "department"),
        ({"since": "2" * 41}, "since"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(city: City, params: dict[str, str], field: str) -> None:
    username, _ = new_citizen(city)
    for path in ("/api/v1/me/data-access", "/api/v1/me/data-access/export"):
        refused = log(city, username, path, **params)
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["field"] == field


def rows_of(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="data-access-')
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_the_csv_export_has_the_entries_in_english_and_in_chinese(city: City) -> None:
    username, _ = seeded_log(city)
    path = "/api/v1/me/data-access/export"
    english = rows_of(log(city, username, path, format="csv", lang="en"))
    assert english[0] == [
        "Time", "Department", "Role", "Purpose", "Sharing grant", "Data read", "Legal basis",
        "Consent", "For",
    ]  # fmt: skip
    assert len(english) == 5
    newest = english[1]
    assert newest[0] == "2026-11-29T07:00:00+08:00"  # on the city's clock
    assert newest[2:4] == ["The platform itself", "Prefilling an application form"]
    assert newest[5:8] == ["Legal name; Identity number", "With your consent", "consent-7"]
    assert english[2][1:3] == ["Roads", "Department handler"]  # named, not coded
    assert english[2][5] == "Name given as a contact; E-mail address"
    chinese = rows_of(log(city, username, path, format="csv", lang="zh-CN"))
    assert chinese[0][:4] == ["时间", "部门", "角色", "用途"]
    assert len(chinese) == 5
    assert chinese[1][2:4] == ["系统自动", "预填申请表"]
    assert chinese[1][5] == "姓名、身份证号码"
    assert chinese[4][1:4] == ["道路管理处", "部门处置员", "就您反映的问题回访"]
    # The filters apply to the download as to the page.
    narrowed = rows_of(log(city, username, path, lang="en", department="roads"))
    assert [row[3] for row in narrowed[1:]] == [
        "Following up your report with you",
        "Calling you back about your report",
    ]


def test_the_json_export_has_the_entries_with_both_names(city: City) -> None:
    username, _ = seeded_log(city)
    answer = log(city, username, "/api/v1/me/data-access/export", format="json", field="phone")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].endswith('.json"')
    body = json.loads(answer.content)
    assert body["subject"] == f"user:{username}" and body["filters"] == {"field": "phone"}
    assert body["total"] == 1
    [entry] = body["items"]
    assert entry["purpose"]["name_zh"] == "就您反映的问题回访" and entry["grant_id"] is None
    refused = log(city, username, "/api/v1/me/data-access/export", format="xml")
    assert refused.status_code == 422 and refused.json()["field"] == "format"


def test_each_person_exports_only_their_own_log(city: City) -> None:
    seeded_log(city)
    stranger, _ = new_citizen(city)
    rows = rows_of(log(city, stranger, "/api/v1/me/data-access/export"))
    assert len(rows) == 1  # the header alone
    assert city.client.get("/api/v1/me/data-access/export").status_code == 401


def representative_and_agent(city: City) -> tuple[str, str]:
    """The demo citizen (the snack shop's representative) and a fresh agent of theirs."""
    agent, agent_id = new_citizen(city, "agent")
    reach_level_2(city, agent, agent_id, fresh_id_number())
    granted = city.client.post(
        f"/api/v1/enterprises/{SNACK_SHOP}/agents", json={"username": agent},
        headers=city.headers("citizen"),
    )  # fmt: skip
    assert granted.status_code == 201, granted.text
    return "citizen", agent


def test_the_enterprise_sees_its_log_and_a_stranger_is_refused(city: City) -> None:
    representative, agent = representative_and_agent(city)
    path = f"/api/v1/enterprises/{SNACK_SHOP}/data-access"
    before = log(city, representative, path).json()["total"]
    # A counter clerk looks the enterprise up: a read of its registration.
    looked_up = city.client.get(f"/api/v1/enterprises/{SNACK_SHOP}", headers=city.headers("clerk"))
    assert looked_up.status_code == 200, looked_up.text
    city.drain()
    page = log(city, representative, path).json()
    assert page["total"] == before + 1
    newest = page["items"][0]
    assert newest["purpose"]["code"] == "enterprise_check"
    assert [f["code"] for f in newest["fields"]] == ["enterprise_registration"]
    assert newest["role"]["code"] == "clerk" and newest["reference"] == f"enterprise:{SNACK_SHOP}"
    assert log(city, agent, path).json()["items"][0]["id"] == newest["id"]
    assert purposes(log(city, agent, path, purpose="enterprise_check"))[0] == "enterprise_check"
    exported = rows_of(log(city, agent, f"{path}/export", lang="zh-CN"))
    assert exported[1][3] == "核验企业经办权限"
    # The enterprise's reads are not the representative's own.
    assert newest["id"] not in [e["id"] for e in log(city, representative).json()["items"]]

    stranger, _ = new_citizen(city)
    for who in (stranger, "clerk", "admin"):
        for route in (path, f"{path}/export"):
            refused = log(city, who, route)
            assert refused.status_code == 403, (who, route)
            assert refused.json()["type"].endswith("/not-authorised-for-enterprise")
            assert "legal representative" in refused.json()["detail"]


def test_a_revoked_agent_loses_the_enterprise_log_at_once(city: City) -> None:
    _, agent = representative_and_agent(city)
    path = f"/api/v1/enterprises/{SNACK_SHOP}/data-access"
    assert log(city, agent, path).status_code == 200
    grants = city.client.get(
        f"/api/v1/enterprises/{SNACK_SHOP}/agents", headers=city.headers("citizen")
    ).json()
    grant = next(g for g in grants if g["username"] == agent and g["revoked_at"] is None)
    revoked = city.client.post(
        f"/api/v1/enterprises/{SNACK_SHOP}/agents/{grant['id']}/revoke",
        headers=city.headers("citizen"),
    )
    assert revoked.status_code == 200, revoked.text
    assert log(city, agent, path).status_code == 403


def test_an_enterprise_code_that_is_wrong_or_unknown_is_refused(city: City) -> None:
    malformed = log(city, "citizen", "/api/v1/enterprises/not-a-code/data-access")
    assert malformed.status_code == 400 and malformed.json()["field"] == "uscc"
    unknown = log(city, "citizen", "/api/v1/enterprises/91110000000000000E/data-access")
    assert unknown.status_code == 404


def test_record_export_logs_one_entry_per_data_subject(city: City) -> None:
    first, first_id = new_citizen(city)
    second, second_id = new_citizen(city)
    admin = Actor(1, "admin", "admin", None)
    with city.ctx.writing() as session:
        entries = service.record_export(
            session, actor=admin, subjects=[first_id, second_id, first_id, SNACK_SHOP],
            fields=["legal_name", "phone"], reference="dataset:residents-2026",
        )  # fmt: skip
    assert len(entries) == 3  # a subject named twice is exported once
    for username in (first, second):
        [entry] = log(city, username).json()["items"]
        assert entry["purpose"] == {
            "code": "export",
            "name": "Exporting records that include your data",
            "name_zh": "导出含有您数据的记录",
        }
        assert entry["reference"] == "dataset:residents-2026" and entry["actor"] == "admin"
    with city.ctx.reading() as session:
        found, total = service.accesses_of(
            session, enterprise_uscc=SNACK_SHOP, filters=AccessFilter(purpose="export")
        )
    assert total == 1 and found[0].fields == ["legal_name", "phone"]
    with city.ctx.writing() as session, pytest.raises(ValueError):
        service.record_export(
            session, actor=admin, subjects=[first_id], fields=["shoe_size"], reference="x"
        )


def test_the_filters_choices_are_the_catalogues_codes_in_both_languages(city: City) -> None:
    answer = city.client.get("/api/v1/data-access/codes")  # no personal data: no sign-in
    assert answer.status_code == 200, answer.text
    codes = answer.json()
    assert [p["code"] for p in codes["purposes"]] == list(catalogue.PURPOSES)
    assert [f["code"] for f in codes["fields"]] == list(catalogue.FIELDS)
    assert {"contact_name", "phone", "email"} <= {f["code"] for f in codes["fields"]}
    assert {"export", "callback", "case_follow_up"} <= {p["code"] for p in codes["purposes"]}
    for family in codes.values():
        for named in family:
            assert named["name"] and named["name_zh"] and named["name"] != named["name_zh"]
