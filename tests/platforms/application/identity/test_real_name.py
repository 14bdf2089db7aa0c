"""Citizens climb the real-name levels: registered (1); identity number and phone checked (2); seen
at a counter (3). Each bad number, code and request gets its own clear 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import realname
from cityloop.platforms.application.identity.models import AuditEntry, PhoneChallenge
from tests.support.city import City
from tests.support.identity import (
    age_codes,
    expire_codes,
    fresh_id_number,
    new_citizen,
    post,
    reach_level_2,
    reach_level_3,
    sent_code,
)


def level(city: City, username: str) -> int:
    answer = city.client.get("/api/v1/me/identity", headers=city.headers(username))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["level"])


def test_a_new_account_is_level_1_and_climbs_to_2_then_3(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    assert level(city, username) == 1
    given = post(city, "/me/identity", username, legal_name="李 四", id_number=number)
    assert given.json()["level"] == 1 and given.json()["identity_checked"] is True
    assert given.json()["birth_date"] == "1990-03-07"
    answer = reach_level_2(city, username, user_id, number)
    assert answer["level"] == 2 and answer["phone_masked"] == "138****8000"
    verified = reach_level_3(city, username, number)
    assert verified["level"] == 3 and verified["counter_verified_by"] == "clerk"
    assert verified["counter_department"] == "command" and verified["counter"] == "window 3"
    assert level(city, username) == 3
    with city.ctx.db.read() as session:
        assert realname.real_name_level(session, user_id=user_id) == 3


def test_the_phone_alone_does_not_make_level_2(city: City) -> None:
    username, user_id = new_citizen(city)
    post(city, "/me/identity/phone-code", username, phone="+86 139 0000 1111")
    confirmed = post(city, "/me/identity/phone", username, code=sent_code(city, user_id))
    assert confirmed.status_code == 200
    assert confirmed.json()["phone_verified"] is True and confirmed.json()["level"] == 1


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("110105198503121235", "bad-checksum"),
        ("11010519850312123", "wrong-length"),
        ("1101051985031212345", "wrong-length"),
        ("11010519850312A234", "wrong-format"),
        ("110105198513121238", "invalid-identity-number"),  # month 13
    ],
)
def test_a_bad_identity_number_is_refused_naming_what_is_wrong(
    city: City, number: str, kind: str
) -> None:
    username, _ = new_citizen(city)
    refused = post(city, "/me/identity", username, legal_name="王 五", id_number=number)
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"].endswith(kind) and refused.json()["field"] == "id_number"
    assert level(city, username) == 1


def test_an_identity_number_belongs_to_one_account(city: City) -> None:
    number = fresh_id_number()
    first, _ = new_citizen(city)
    second, _ = new_citizen(city)
    assert post(city, "/me/identity", first, legal_name="甲", id_number=number).status_code == 200
    taken = post(city, "/me/identity", second, legal_name="乙", id_number=number)
    assert taken.status_code == 409 and taken.json()["type"].endswith("id-number-taken")


def test_a_verified_identity_is_changed_only_at_a_counter(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    again = post(city, "/me/identity", username, legal_name="别人", id_number=fresh_id_number())
    assert again.status_code == 409 and again.json()["type"].endswith("identity-locked")


def test_a_wrong_code_counts_a_try_and_the_fifth_ends_the_code(city: City) -> None:
    username, user_id = new_citizen(city)
    post(city, "/me/identity/phone-code", username, phone="13800000001")
    right = sent_code(city, user_id)
    wrong = "000000" if right != "000000" else "111111"
    for tries_left in (4, 3, 2, 1, 0):
        refused = post(city, "/me/identity/phone", username, code=wrong)
        assert refused.status_code == 400
        assert refused.json()["type"].endswith("wrong-code")
        assert f"{tries_left} tries left" in refused.json()["detail"]
    exhausted = post(city, "/me/identity/phone", username, code=right)
    assert exhausted.status_code == 400 and exhausted.json()["type"].endswith("code-exhausted")
    age_codes(city, user_id, minutes=2)
    post(city, "/me/identity/phone-code", username, phone="13800000001")
    fresh = post(city, "/me/identity/phone", username, code=sent_code(city, user_id))
    assert fresh.status_code == 200 and fresh.json()["phone_verified"] is True


def test_an_expired_code_is_refused(city: City) -> None:
    username, user_id = new_citizen(city)
    post(city, "/me/identity/phone-code", username, phone="13800000002")
    code = sent_code(city, user_id)
    expire_codes(city, user_id)
    refused = post(city, "/me/identity/phone", username, code=code)
    assert refused.status_code == 400 and refused.json()["type"].endswith("code-expired")


def test_a_code_works_once_and_a_newer_code_replaces_the_older(city: City) -> None:
    username, user_id = new_citizen(city)
    post(city, "/me/identity/phone-code", username, phone="13800000003")
    older = sent_code(city, user_id)
    age_codes(city, user_id, minutes=2)
    post(city, "/me/identity/phone-code", username, phone="13800000004")
    newer = sent_code(city, user_id)
    if older != newer:
        stale = post(city, "/me/identity/phone", username, code=older)
        assert stale.status_code == 400 and stale.json()["type"].endswith("wrong-code")
    assert post(city, "/me/identity/phone", username, code=newer).status_code == 200
    reused = post(city, "/me/identity/phone", username, code=newer)
    assert reused.status_code == 400 and reused.json()["type"].endswith("no-code")


def test_codes_are_throttled_per_account(city: City) -> None:
    username, user_id = new_citizen(city)
    assert post(city, "/me/identity/phone-code", username, phone="13800000005").status_code == 202
    again = post(city, "/me/identity/phone-code", username, phone="13800000005")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    for _ in range(4):
        age_codes(city, user_id, minutes=2)
        asked = post(city, "/me/identity/phone-code", username, phone="13800000005")
        assert asked.status_code == 202
    age_codes(city, user_id, minutes=2)
    hourly = post(city, "/me/identity/phone-code", username, phone="13800000005")
    assert hourly.status_code == 429 and hourly.json()["type"].endswith("code-throttled")


def test_the_code_is_stored_hashed_and_sent_in_both_languages(city: City) -> None:
    username, user_id = new_citizen(city)
    sent = post(city, "/me/identity/phone-code", username, phone="13800000006")
    assert sent.json()["sent_to"] == "138****0006" and sent.json()["expires_in"] == 600
    code = sent_code(city, user_id)
    with city.ctx.db.read() as session:
        challenge = session.scalar(select(PhoneChallenge).where(PhoneChallenge.user_id == user_id))
        assert challenge is not None and code not in challenge.code_hash
        from cityloop.platforms.application.notify.models import Notification

        message = session.scalar(select(Notification).where(Notification.user_id == user_id))
        assert message is not None and message.channel == "sms"
        assert message.address == "13800000006" and message.case_id is None
        assert "验证码" in message.message and "verification code" in message.message


@pytest.mark.parametrize(
    ("body", "status"),
    [({"phone": "12"}, 400), ({"phone": "call me maybe"}, 400), ({}, 400)],
)
def test_a_bad_phone_is_refused(city: City, body: dict[str, str], status: int) -> None:
    username, _ = new_citizen(city)
    refused = city.client.post(
        "/api/v1/me/identity/phone-code", json=body, headers=city.headers(username)
    )
    assert refused.status_code == status and refused.json()["field"] == "phone"


def test_a_code_that_is_not_six_digits_is_refused_before_any_try(city: City) -> None:
    username, _ = new_citizen(city)
    refused = post(city, "/me/identity/phone", username, code="12345")
    assert refused.status_code == 422 and refused.json()["field"] == "code"
    no_code = post(city, "/me/identity/phone", username, code="123456")
    assert no_code.status_code == 400 and no_code.json()["type"].endswith("no-code")


def test_level_3_needs_level_2_and_the_same_document(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    early = post(
        city, "/identity/counter-verifications", "clerk", username=username, id_number=number
    )
    assert early.status_code == 409 and early.json()["type"].endswith("needs-level-2")
    reach_level_2(city, username, user_id, number)
    other = post(
        city,
        "/identity/counter-verifications",
        "clerk",
        username=username,
        id_number=fresh_id_number(),
    )
    assert other.status_code == 409 and other.json()["type"].endswith("document-mismatch")
    bad = post(
        city,
        "/identity/counter-verifications",
        "clerk",
        username=username,
        id_number=number[:-1] + ("0" if number[-1] != "0" else "1"),
    )
    assert bad.status_code == 400 and bad.json()["type"].endswith("bad-checksum")
    assert level(city, username) == 2


@pytest.mark.parametrize(
    ("address", "district", "problem"),
    [
        ("河港市老城区荷花街道 1 号", "", "address and district together"),
        ("", "RV01", "address and district together"),
        ("河港市老城区荷花街道 1 号", "RV01-S01", "not a district"),
        ("河港市老城区荷花街道 1 号", "XX99", "not a district"),
    ],
)
def test_the_documents_address_needs_a_district_of_the_city(
    city: City, address: str, district: str, problem: str
) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    refused = post(
        city, "/identity/counter-verifications", "clerk", username=username, id_number=number,
        address=address, address_district=district,
    )  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == "address_district"
    assert ("together" in refused.json()["detail"]) == ("together" in problem)
    assert level(city, username) == 2


def test_the_clerk_copies_the_documents_address_and_the_read_is_logged(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    checked = post(
        city, "/identity/counter-verifications", "clerk", username=username, id_number=number,
        address="河港市  滨江区柳岸街道 8 号", address_district="RV02",
    )  # fmt: skip
    assert checked.status_code == 200, checked.text
    assert checked.json()["address"] == "河港市 滨江区柳岸街道 8 号"
    assert checked.json()["address_district"] == "RV02"
    city.drain()
    log = city.client.get("/api/v1/me/data-access", headers=city.headers(username)).json()
    assert "address" in [f["code"] for f in log["items"][0]["fields"]]


def test_only_counter_staff_verify_in_person(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    for who in (username, "handler-roads", "dispatcher"):
        refused = post(
            city, "/identity/counter-verifications", who, username=username, id_number=number
        )
        assert refused.status_code == 403, who
    unknown = post(
        city, "/identity/counter-verifications", "clerk", username="nobody-x", id_number=number
    )
    assert unknown.status_code == 404
    assert level(city, username) == 2


def test_level_3_is_audited_with_who_where_and_when(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    reach_level_3(city, username, number)
    with city.ctx.db.read() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.target == f"user:{username}",
                AuditEntry.action == "identity.counter_verify",
            )
        )
    assert entry is not None and entry.actor == "clerk" and entry.actor_role == "clerk"
    assert entry.detail == {"department": "command", "counter": "window 3"}


def test_require_level_names_what_to_do(city: City) -> None:
    _, user_id = new_citizen(city)
    with city.ctx.db.read() as session, pytest.raises(Problem) as refused:
        realname.require_level(session, user_id=user_id, level=2)
    assert refused.value.status == 403
    assert refused.value.detail == (
        "this service needs real-name level 2: verify your identity number and phone"
    )
    with city.ctx.db.read() as session:
        assert realname.require_level(session, user_id=user_id, level=1) == 1


def test_staff_lists_mask_the_number_and_the_counter_screen_shows_it(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    rows = city.client.get(
        "/api/v1/identity/citizens",
        params={"level": 2, "limit": 500},
        headers=city.headers("supervisor"),
    ).json()
    mine = next(row for row in rows if row["username"] == username)
    assert mine["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert number not in str(rows)
    screen = city.client.get(f"/api/v1/identity/citizens/{username}", headers=city.headers("clerk"))
    assert screen.status_code == 200 and screen.json()["id_number"] == number
    assert (
        city.client.get(
            f"/api/v1/identity/citizens/{username}", headers=city.headers("supervisor")
        ).status_code
        == 403
    )
    assert (
        city.client.get("/api/v1/identity/citizens", headers=city.headers(username)).status_code
        == 403
    )
    with city.ctx.db.read() as session:
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.actor.in_(["clerk", "supervisor"]),
                    AuditEntry.action.in_(["identity.list", "identity.counter_read"]),
                )
            )
        )
    assert actions == {"identity.list", "identity.counter_read"}


def test_the_holder_sees_their_own_number_masked(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    mine = city.client.get("/api/v1/me/identity", headers=city.headers(username)).json()
    assert number not in str(mine) and mine["id_number_masked"].endswith(number[-4:])


def test_identity_routes_need_a_signed_in_person(city: City) -> None:
    assert city.client.get("/api/v1/me/identity").status_code == 401
    assert city.client.post("/api/v1/me/identity/phone-code", json={}).status_code == 401
    staff = post(city, "/me/identity", "dispatcher", legal_name="x", id_number=fresh_id_number())
    assert staff.status_code == 403


def test_only_the_counter_screen_answers_with_a_full_identity_number(city: City) -> None:
    document = city.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    full = {
        name
        for name, schema in schemas.items()
        if {"id_number", "legal_rep_id_number"} & set(schema.get("properties", {}))
        and not name.endswith("In")
    }
    assert full == {"CounterCitizen"}
    answering = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "CounterCitizen" in str(operation.get("responses", {}))
    }
    assert answering == {
        ("GET", "/api/v1/identity/citizens/{username}"),
        ("POST", "/api/v1/identity/counter-verifications"),
    }


def test_no_public_answer_carries_an_identity_number(city: City) -> None:
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    public = ["/api/v1/vocabulary", "/api/v1/departments", "/api/v1/categories", "/openapi.json"]
    for path in public:
        answer = city.client.get(path)
        assert answer.status_code == 200, path
        assert number not in answer.text and number[-4:] + '"' not in answer.text, path
