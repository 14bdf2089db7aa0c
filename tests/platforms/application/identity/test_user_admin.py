"""Admins manage accounts from the console: list and search them, read one, create staff with a
temporary or generated password, edit role, department, district and contact, reset passwords,
and never leave the city without an admin. Owners change their own password."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import accounts, service
from cityloop.platforms.application.identity.cli import CLI_ACTOR
from cityloop.platforms.application.identity.models import User
from tests.support.city import City

STRONG = "river-ling-2026"


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    # The tests' client signs in from one address, wrongly on purpose now and then.
    return {"login_max_failures_per_address": 1000}


def exists(city: City, username: str) -> bool:
    with city.ctx.db.read() as session:
        return service.find_user(session, username=username) is not None


def admin_post(city: City, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return city.client.post(path, json=body or {}, headers=city.headers("admin"))


def sign_in(city: City, username: str, password: str) -> httpx.Response:
    return city.client.post("/api/v1/auth/token", data={"username": username, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_handler(city: City, username: str, **body: Any) -> dict[str, Any]:
    payload = {"username": username, "password": STRONG, "role": "handler",
               "department_code": "roads", **body}  # fmt: skip
    response = admin_post(city, "/api/v1/users", payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


def trail(city: City, **params: str) -> list[dict[str, Any]]:
    response = city.client.get("/api/v1/audit", params=params, headers=city.headers("admin"))
    assert response.status_code == 200, response.text
    return list(response.json())


def refused(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert body["field"] == field, body
    return body


# ---------------------------------------------------------------- listing and reading


def test_admins_list_accounts_by_role_department_and_text_with_a_total(city: City) -> None:
    headers = city.headers("admin")
    page = city.client.get("/api/v1/users", params={"role": "handler"}, headers=headers).json()
    assert page["total"] == len(page["items"]) > 1
    assert {u["role"] for u in page["items"]} == {"handler"}
    assert "email" not in page["items"][0]  # contact details only on the audited detail
    roads = city.client.get(
        "/api/v1/users", params={"department": "roads", "q": "WORKER"}, headers=headers
    ).json()
    assert [u["username"] for u in roads["items"]] == ["worker-roads"]


def test_the_list_pages_with_limit_and_offset(city: City) -> None:
    headers = city.headers("admin")
    first = city.client.get("/api/v1/users", params={"limit": 2}, headers=headers).json()
    second = city.client.get(
        "/api/v1/users", params={"limit": 2, "offset": 2}, headers=headers
    ).json()
    assert len(first["items"]) == len(second["items"]) == 2
    assert first["total"] == second["total"] > 4
    assert not {u["id"] for u in first["items"]} & {u["id"] for u in second["items"]}


def test_the_list_filters_by_district_and_by_active(city: City) -> None:
    new_handler(city, "scoped-handler", district_code="RV02")
    headers = city.headers("admin")
    scoped = city.client.get("/api/v1/users", params={"district": "RV02"}, headers=headers)
    assert [u["username"] for u in scoped.json()["items"]] == ["scoped-handler"]
    admin_post(city, "/api/v1/users/scoped-handler/deactivate")
    inactive = city.client.get("/api/v1/users", params={"active": "false"}, headers=headers)
    assert "scoped-handler" in [u["username"] for u in inactive.json()["items"]]


def test_bad_list_filters_are_refused_naming_the_field(city: City) -> None:
    headers = city.headers("admin")
    refused(city.client.get("/api/v1/users?role=mayor", headers=headers), 400, "role")
    refused(city.client.get("/api/v1/users?limit=0", headers=headers), 422, "limit")
    refused(city.client.get("/api/v1/users?offset=-1", headers=headers), 422, "offset")
    refused(city.client.get("/api/v1/users?active=perhaps", headers=headers), 422, "active")


def test_reading_an_account_shows_its_contact_and_is_audited(city: City) -> None:
    new_handler(city, "read-me", email="read.me@riverton.example", phone="13800000000")
    response = city.client.get("/api/v1/users/read-me", headers=city.headers("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "read.me@riverton.example"
    assert response.json()["phone"] == "13800000000"
    assert trail(city, target="user:read-me")[0]["action"] == "user.read"
    missing = city.client.get("/api/v1/users/nobody-here", headers=city.headers("admin"))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/users"),
        ("get", "/api/v1/users/admin"),
        ("post", "/api/v1/users"),
        ("patch", "/api/v1/users/worker-roads"),
        ("post", "/api/v1/users/worker-roads/password-reset"),
        ("post", "/api/v1/users/worker-roads/totp-reset"),
    ],
)
def test_only_admins_manage_accounts(city: City, method: str, path: str) -> None:
    for who in ("supervisor", "dispatcher", "handler-roads"):
        response = city.client.request(method, path, json={}, headers=city.headers(who))
        assert response.status_code == 403, (who, response.text)
    assert city.client.request(method, path, json={}).status_code == 401


def test_the_roles_come_from_the_role_list(city: City) -> None:
    from cityloop.platforms.application.identity.roles import Role

    roles = city.client.get("/api/v1/roles", headers=city.headers("dispatcher")).json()
    assert [r["code"] for r in roles] == [r.value for r in Role]
    handler = next(r for r in roles if r["code"] == "handler")
    assert handler == {"code": "handler", "staff": True, "needs_department": True}


# ---------------------------------------------------------------- creating


def test_a_created_handler_must_change_the_temporary_password_before_anything_else(
    city: City,
) -> None:
    created = new_handler(city, "new-handler", district_code="RV01", display_name="Ann")
    assert created["must_change_password"] is True and created["generated_password"] is None
    token = sign_in(city, "new-handler", STRONG)
    assert token.json()["pending"] == "password-change"
    headers = bearer(token)
    blocked = city.client.get("/api/v1/cases", headers=headers)
    assert blocked.status_code == 403
    assert blocked.json()["type"].endswith("/password-change-required")
    me = city.client.get("/api/v1/me", headers=headers).json()
    assert me["pending"] == "password-change" and me["district_code"] == "RV01"

    change = {"old_password": STRONG, "new_password": "ann-handles-roads-7"}
    changed = city.client.post("/api/v1/me/password", json=change, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["pending"] is None
    assert city.client.get("/api/v1/cases", headers=headers).status_code == 200
    assert sign_in(city, "new-handler", STRONG).status_code == 401
    assert sign_in(city, "new-handler", "ann-handles-roads-7").json()["pending"] is None
    actions = [e["action"] for e in trail(city, target="user:new-handler")]
    assert {"user.create", "user.password_change"} <= set(actions)


def test_without_a_password_one_is_generated_and_shown_once(city: City) -> None:
    created = new_handler(city, "generated-pw", password=None)
    password = created["generated_password"]
    assert password and len(password) >= 16
    assert sign_in(city, "generated-pw", password).json()["pending"] == "password-change"
    again = city.client.get("/api/v1/users/generated-pw", headers=city.headers("admin")).json()
    assert "generated_password" not in again


def test_an_admin_may_create_an_account_whose_password_is_not_temporary(city: City) -> None:
    new_handler(city, "kept-pw", must_change_password=False)
    assert sign_in(city, "kept-pw", STRONG).json()["pending"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"department_code": None}, "department"),
        ({"department_code": "bakery"}, "department"),
        ({"district_code": "RV99"}, "district_code"),
        ({"role": "mayor"}, "role"),
        ({"password": "short"}, "password"),
        ({"password": "Password123"}, "password"),
        ({"password": "bad-handler-x"}, "password"),
        ({"username": "Bad Name!"}, "username"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "1" * 41}, "phone"),
        ({"username": "x" * 81}, "username"),
    ],
)
def test_bad_input_on_creation_is_refused_naming_the_field(
    city: City, body: dict[str, Any], field: str
) -> None:
    payload = {"username": "bad-handler-x", "password": STRONG, "role": "handler",
               "department_code": "roads", **body}  # fmt: skip
    response = admin_post(city, "/api/v1/users", payload)
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field
    assert not exists(city, "bad-handler-x")


def test_a_street_is_no_district_scope(city: City) -> None:
    from sqlalchemy import select

    from cityloop.platforms.application.geo.models import Jurisdiction

    with city.ctx.db.read() as session:
        street = session.scalar(select(Jurisdiction.code).where(Jurisdiction.level == "street"))
    payload = {"username": "street-scope", "password": STRONG, "role": "dispatcher",
               "district_code": street}  # fmt: skip
    refused(admin_post(city, "/api/v1/users", payload), 400, "district_code")


def test_a_weak_password_names_its_rule_in_english_and_chinese(city: City) -> None:
    payload = {"username": "weak-one", "password": "aaaaaaaaaaaa", "role": "hotline"}
    body = refused(admin_post(city, "/api/v1/users", payload), 400, "password")
    assert body["type"].endswith("/weak-password") and body["rule"] == "too-few-classes"
    assert body["message"]["code"] == "identity.password.too_few_classes"
    assert "字符" in body["detail_zh"]


def test_a_taken_username_is_a_conflict(city: City) -> None:
    payload = {"username": "dispatcher", "password": STRONG, "role": "dispatcher"}
    assert admin_post(city, "/api/v1/users", payload).status_code == 409


# ---------------------------------------------------------------- editing


def test_admins_edit_role_department_district_name_and_contact_audited(city: City) -> None:
    new_handler(city, "edit-me")
    body = {
        "role": "worker",
        "department_code": "parks",
        "district_code": "RV03",
        "display_name": "Edited",
        "email": "edit.me@riverton.example",
        "phone": "139",
    }
    response = city.client.patch("/api/v1/users/edit-me", json=body, headers=city.headers("admin"))
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["role"], shown["department_code"], shown["district_code"]) == (
        "worker", "parks", "RV03",
    )  # fmt: skip
    entry = next(e for e in trail(city, target="user:edit-me") if e["action"] == "user.update")
    assert entry["detail"]["role"] == ["handler", "worker"]
    assert entry["detail"]["email"] is None  # personal data: named, never copied
    cleared = city.client.patch(
        "/api/v1/users/edit-me", json={"district_code": None}, headers=city.headers("admin")
    )
    assert cleared.json()["district_code"] is None


def test_an_account_has_a_chinese_display_name_set_and_edited_by_admins(city: City) -> None:
    created = new_handler(city, "zh-name", display_name="Li Na", display_name_zh="李娜")
    assert (created["display_name"], created["display_name_zh"]) == ("Li Na", "李娜")
    edit = {"display_name_zh": " 李娜（道路） "}
    response = city.client.patch("/api/v1/users/zh-name", json=edit, headers=city.headers("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["display_name_zh"] == "李娜（道路）"
    entry = next(e for e in trail(city, target="user:zh-name") if e["action"] == "user.update")
    assert entry["detail"]["display_name_zh"] == ["李娜", "李娜（道路）"]
    found = city.client.get("/api/v1/users", params={"q": "李娜"}, headers=city.headers("admin"))
    assert [u["username"] for u in found.json()["items"]] == ["zh-name"]


def test_the_demo_accounts_have_chinese_names(city: City) -> None:
    for username in ("dispatcher", "worker-roads"):
        shown = city.client.get(f"/api/v1/users/{username}", headers=city.headers("admin"))
        name = shown.json()["display_name_zh"]
        assert name and all(not ("a" <= ch.lower() <= "z") for ch in name), name


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"department_code": None}, 400, "department_code"),
        ({"department_code": "bakery"}, 400, "department_code"),
        ({"district_code": "nowhere"}, 400, "district_code"),
        ({"display_name": "  "}, 400, "display_name"),
        ({"role": "mayor"}, 400, "role"),
        ({"role": "citizen"}, 400, "role"),
        ({"email": "nope"}, 422, "email"),
        ({"password": STRONG}, 422, "password"),
    ],
)
def test_bad_edits_are_refused_naming_the_field_and_change_nothing(
    city: City, body: dict[str, Any], status: int, field: str
) -> None:
    before = city.client.get("/api/v1/users/worker-water", headers=city.headers("admin")).json()
    response = city.client.patch(
        "/api/v1/users/worker-water", json=body, headers=city.headers("admin")
    )
    refused(response, status, field)
    after = city.client.get("/api/v1/users/worker-water", headers=city.headers("admin")).json()
    assert after == before


def test_an_admin_cannot_demote_or_deactivate_themself(city: City) -> None:
    demote = city.client.patch(
        "/api/v1/users/admin", json={"role": "dispatcher"}, headers=city.headers("admin")
    )
    assert demote.status_code == 409 and demote.json()["type"].endswith("/own-account")
    assert admin_post(city, "/api/v1/users/admin/deactivate").status_code == 409
    # Keeping the role while editing one's own name is fine.
    renamed = city.client.patch(
        "/api/v1/users/admin", json={"display_name": "Chief admin"}, headers=city.headers("admin")
    )
    assert renamed.status_code == 200


def test_the_last_active_admin_is_never_demoted_nor_deactivated(city: City) -> None:
    # Checked from the CLI's actor (no account of its own), with every other admin inactive.
    for change in ({"role": "dispatcher"},):
        with pytest.raises(Problem) as caught, city.ctx.db.writing() as session:
            session.execute(
                update(User)
                .where(User.role == "admin", User.username != "admin")
                .values(active=False)
            )
            accounts.update_user(session, username="admin", actor=CLI_ACTOR, changes=change)
        assert caught.value.type_ == "last-admin"
    with pytest.raises(Problem) as caught, city.ctx.db.writing() as session:
        session.execute(
            update(User).where(User.role == "admin", User.username != "admin").values(active=False)
        )
        service.set_user_active(session, username="admin", active=False, actor=CLI_ACTOR)
    assert caught.value.type_ == "last-admin"


def test_another_admin_may_demote_an_admin(city: City) -> None:
    payload = {"username": "second-admin", "password": STRONG, "role": "admin",
               "must_change_password": False}  # fmt: skip
    assert admin_post(city, "/api/v1/users", payload).status_code == 201
    second = bearer(sign_in(city, "second-admin", STRONG))
    demoted = city.client.patch(
        "/api/v1/users/second-admin", json={"role": "supervisor"}, headers=city.headers("admin")
    )
    assert demoted.status_code == 200
    assert city.client.get("/api/v1/users", headers=second).status_code == 403


# ---------------------------------------------------------------- passwords


def test_a_reset_password_is_temporary_and_ends_the_old_one(city: City) -> None:
    new_handler(city, "forgetful", must_change_password=False)
    old_token = bearer(sign_in(city, "forgetful", STRONG))
    response = admin_post(
        city, "/api/v1/users/forgetful/password-reset", {"password": "temporary-pw-9"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["generated_password"] is None
    assert response.json()["user"]["must_change_password"] is True
    assert sign_in(city, "forgetful", STRONG).status_code == 401
    assert sign_in(city, "forgetful", "temporary-pw-9").json()["pending"] == "password-change"
    # A token from before the reset may do nothing but change the password.
    assert city.client.get("/api/v1/cases", headers=old_token).status_code == 403
    entry = next(
        e for e in trail(city, target="user:forgetful") if e["action"] == "user.password_reset"
    )
    assert entry["actor"] == "admin" and entry["detail"] == {"generated": False}
    assert "temporary-pw-9" not in str(trail(city, target="user:forgetful"))


def test_a_generated_reset_password_is_answered_once(city: City) -> None:
    new_handler(city, "generated-reset", must_change_password=False)
    answer = admin_post(city, "/api/v1/users/generated-reset/password-reset").json()
    assert sign_in(city, "generated-reset", answer["generated_password"]).status_code == 200


def test_bad_resets_are_refused_naming_the_field(city: City) -> None:
    refused(
        admin_post(city, "/api/v1/users/worker-roads/password-reset", {"password": "123"}),
        400,
        "password",
    )
    refused(admin_post(city, "/api/v1/users/citizen/password-reset"), 400, "username")
    assert admin_post(city, "/api/v1/users/nobody-x/password-reset").status_code == 404
    refused(admin_post(city, "/api/v1/users/worker-roads/password-reset", {"pw": "x"}), 422, "pw")
    assert sign_in(city, "worker-roads", "demo").status_code == 200


def test_changing_ones_password_needs_the_old_one_and_a_policy_keeping_new_one(
    city: City,
) -> None:
    new_handler(city, "changer", must_change_password=False)
    headers = bearer(sign_in(city, "changer", STRONG))

    def change(old: str, new: str) -> httpx.Response:
        body = {"old_password": old, "new_password": new}
        return city.client.post("/api/v1/me/password", json=body, headers=headers)

    refused(change("not-the-old-one", "changer-new-pw-1"), 400, "old_password")
    assert refused(change(STRONG, "short"), 400, "new_password")["rule"] == "too-short"
    assert refused(change(STRONG, "Changer"), 400, "new_password")["rule"] == "too-short"
    assert refused(change(STRONG, "CHANGER"), 400, "new_password")["rule"] == "too-short"
    assert refused(change(STRONG, STRONG), 400, "new_password")["type"].endswith("/same-password")
    refused(city.client.post("/api/v1/me/password", json={"old_password": STRONG},
                             headers=headers), 422, "new_password")  # fmt: skip
    assert change(STRONG, "changer-new-pw-1").status_code == 200
    assert sign_in(city, "changer", "changer-new-pw-1").status_code == 200
    assert "user.password_change_refused" in [
        e["action"] for e in trail(city, target="user:changer")
    ]


def test_wrong_old_passwords_count_against_the_sign_in_throttle(city: City) -> None:
    new_handler(city, "guesser", must_change_password=False)
    headers = bearer(sign_in(city, "guesser", STRONG))
    statuses = []
    for n in range(7):
        body = {"old_password": f"guess-{n}", "new_password": "guesser-new-pw-1"}
        statuses.append(
            city.client.post("/api/v1/me/password", json=body, headers=headers).status_code
        )
    assert statuses[:5] == [400] * 5 and statuses[-1] == 429


def test_a_citizen_signing_up_keeps_the_password_policy(city: City) -> None:
    body = {"username": "new-resident", "password": "new-resident"}
    refused(city.client.post("/api/v1/citizens", json=body), 400, "password")
    assert not exists(city, "new-resident")
    body["password"] = "a-long-password"
    assert city.client.post("/api/v1/citizens", json=body).status_code == 201
