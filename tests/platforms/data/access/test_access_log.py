"""Every read of a person's data lands in the access log, and the person (and only they) sees
who read what, why and on what basis, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cityloop.platforms.application.identity.service import SYSTEM, Actor
from cityloop.platforms.data.access import service
from cityloop.platforms.data.access.filters import AccessFilter
from cityloop.platforms.data.access.models import DataAccess
from tests.support.city import City
from tests.support.identity import fresh_id_number, new_citizen, reach_level_2, reach_level_3


def log_of(city: City, username: str, **params: int) -> dict:
    answer = city.client.get(
        "/api/v1/me/data-access", params=params, headers=city.headers(username)
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_counter_check_shows_in_the_citizens_log_in_both_languages(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    assert log_of(city, username)["total"] == 0
    reach_level_3(city, username, number)
    city.drain()
    page = log_of(city, username)
    assert page["total"] == 1
    entry = page["items"][0]
    assert entry["actor"] == "clerk"
    assert entry["role"] == {"code": "clerk", "name": "Counter clerk", "name_zh": "窗口工作人员"}
    assert entry["department"]["code"] == "command" and entry["department"]["name_zh"]
    assert entry["purpose"]["code"] == "counter_verification"
    assert entry["purpose"]["name_zh"] == "窗口实名核验"
    assert [f["code"] for f in entry["fields"]] == ["legal_name", "id_number"]
    assert entry["fields"][1]["name_zh"] == "身份证号码"
    assert entry["legal_basis"]["code"] == "statutory"
    assert entry["reference"] == f"user:{username}"
    assert number not in str(page)


def test_the_counter_screen_is_logged_and_the_masked_list_is_not(city: City) -> None:
    username, user_id = new_citizen(city)
    reach_level_2(city, username, user_id, fresh_id_number())
    city.client.get("/api/v1/identity/citizens", headers=city.headers("clerk"))
    city.drain()
    assert log_of(city, username)["total"] == 0
    city.client.get(f"/api/v1/identity/citizens/{username}", headers=city.headers("clerk"))
    city.drain()
    page = log_of(city, username)
    assert page["total"] == 1
    assert [f["code"] for f in page["items"][0]["fields"]] == [
        "legal_name",
        "id_number",
        "birth_date",
    ]


def test_a_citizen_sees_only_their_own_log(city: City) -> None:
    reader, _ = new_citizen(city)
    other, other_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, other, other_id, number)
    reach_level_3(city, other, number)
    city.drain()
    assert log_of(city, other)["total"] == 1
    assert log_of(city, reader) == {"total": 0, "limit": 50, "offset": 0, "items": []}
    assert city.client.get("/api/v1/me/data-access").status_code == 401


def test_record_access_keeps_consent_and_pages_newest_first(city: City) -> None:
    username, user_id = new_citizen(city)
    consented = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with city.ctx.db.writing() as session:
        for n in range(3):
            service.record_access(
                session,
                user_id=user_id,
                actor=SYSTEM,
                fields=["legal_name", "phone"],
                purpose="prefill",
                reference=f"application:{n}",
                legal_basis="consent",
                consent_id=f"consent-{n}",
                consent_at=consented,
            )
        service.record_access(
            session,
            user_id=user_id,
            actor=Actor(99, "reviewer", "handler", "roads"),
            fields=["legal_name"],
            purpose="review",
            reference="application:2",
        )
    first = log_of(city, username, limit=2)
    assert first["total"] == 4 and len(first["items"]) == 2
    newest = first["items"][0]
    assert newest["actor"] == "reviewer" and newest["department"]["code"] == "roads"
    assert newest["purpose"]["name"] == "Reviewing an application"
    system = first["items"][1]
    assert system["actor"] == "system:prefill" and system["role"]["code"] == "system"
    assert system["legal_basis"]["name_zh"] == "经您同意"
    assert system["consent_id"] == "consent-2" and system["consent_at"].startswith("2026-11-30")
    rest = log_of(city, username, limit=2, offset=2)
    assert [i["reference"] for i in rest["items"]] == ["application:1", "application:0"]
    with city.ctx.db.read() as session:
        entries, total = service.accesses_of(
            session, user_id=user_id, filters=AccessFilter(purpose="review")
        )
    assert total == 1 and entries[0].actor == "reviewer"


@pytest.mark.parametrize(
    "wrong",
    [
        {"fields": ["shoe_size"]},
        {"fields": []},
        {"purpose": "curiosity"},
        {"legal_basis": "because"},
        {"legal_basis": "consent"},  # without naming the consent
    ],
)
def test_a_read_is_recorded_only_with_codes_the_catalogue_names(
    city: City, wrong: dict[str, object]
) -> None:
    _, user_id = new_citizen(city)
    arguments: dict = {"fields": ["legal_name"], "purpose": "prefill", **wrong}
    with city.ctx.db.writing() as session, pytest.raises(ValueError):
        service.record_access(session, user_id=user_id, actor=SYSTEM, **arguments)


def test_a_redelivered_event_is_recorded_once(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    reach_level_3(city, username, number)
    city.drain()
    with city.ctx.db.read() as session:
        entry = session.scalar(select(DataAccess).where(DataAccess.user_id == user_id))
        assert entry is not None and entry.source_event_id is not None
        event_id = entry.source_event_id
    from cityloop.base.outbox import DeliveredEvent
    from cityloop.platforms.data.access.consumers import on_personal_data_read

    with city.ctx.db.writing() as session:
        from cityloop.base.outbox import OutboxEvent

        row = session.get(OutboxEvent, event_id)
        assert row is not None
        delivered = DeliveredEvent(
            row.id, row.type, row.aggregate_type, row.aggregate_id, row.payload, row.created_at
        )
        on_personal_data_read(session, delivered)
    assert log_of(city, username)["total"] == 1


def test_limits_out_of_range_are_refused(city: City) -> None:
    username, _ = new_citizen(city)
    for params in ({"limit": 0}, {"limit": 1000}, {"offset": -1}):
        refused = city.client.get(
            "/api/v1/me/data-access", params=params, headers=city.headers(username)
        )
        assert refused.status_code == 422, params
