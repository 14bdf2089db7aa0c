"""The TOTP second factor for staff: enrol with a QR code and a first code, sign in in two steps
without the first step telling whether the password was right, single-use codes and recovery
codes, throttled wrong codes, an admin's reset, and roles that must have it."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select

from cityloop.base.db import utcnow
from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import accounts, service, totp
from cityloop.platforms.application.identity.cli import CLI_ACTOR
from cityloop.platforms.application.identity.models import RecoveryCode
from cityloop.platforms.application.identity.policy import PasswordPolicy
from cityloop.settings import Settings
from tests.support.city import City

STRONG = "river-ling-2026"


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    # Supervisors must have a second factor here; the tests sign in wrongly from one address.
    return {"totp_required_roles": "supervisor", "login_max_failures_per_address": 1000}


def staff(city: City, username: str, role: str = "dispatcher") -> None:
    with city.ctx.db.writing() as session:
        accounts.create_staff_user(
            session, actor=CLI_ACTOR, policy=PasswordPolicy(), username=username, role=role,
            password=STRONG, must_change_password=False, department_code="command",
        )  # fmt: skip


def sign_in(
    city: City, username: str, code: str | None = None, password: str = STRONG
) -> httpx.Response:
    data = {"username": username, "password": password}
    if code is not None:
        data["totp_code"] = code
    return city.client.post("/api/v1/auth/token", data=data)


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def code(secret: str, steps: int = 0) -> str:
    """The code of the step ``steps`` away from now (the server accepts one step either side,
    each step once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def enrolled(city: City, username: str, role: str = "dispatcher") -> tuple[str, list[str]]:
    """A fresh account with a confirmed second factor: its secret and recovery codes."""
    staff(city, username, role)
    headers = bearer(sign_in(city, username))
    begun = city.client.post("/api/v1/me/totp", headers=headers)
    assert begun.status_code == 201, begun.text
    secret = begun.json()["secret"]
    confirmed = city.client.post(
        "/api/v1/me/totp/confirm", json={"code": code(secret, -1)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def trail(city: City, target: str) -> list[dict[str, Any]]:
    response = city.client.get(
        "/api/v1/audit", params={"target": target}, headers=city.headers("admin")
    )
    return list(response.json())


def test_enrolment_gives_a_secret_an_otpauth_uri_and_a_qr_code(city: City) -> None:
    staff(city, "enrols")
    headers = bearer(sign_in(city, "enrols"))
    begun = city.client.post("/api/v1/me/totp", headers=headers).json()
    assert begun["otpauth_uri"].startswith("otpauth://totp/Riverton:enrols?secret=")
    assert begun["secret"] in begun["otpauth_uri"]
    assert begun["qr_svg"].startswith("data:image/svg+xml")
    # Not confirmed yet: sign-in still takes one step.
    assert sign_in(city, "enrols").status_code == 200
    wrong = city.client.post("/api/v1/me/totp/confirm", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 400 and wrong.json()["field"] == "code"
    confirmed = city.client.post(
        "/api/v1/me/totp/confirm", json={"code": code(begun["secret"])}, headers=headers
    )
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    assert "totp.enable" in [e["action"] for e in trail(city, "user:enrols")]
    me = city.client.get("/api/v1/me", headers=headers).json()
    assert me["totp_enabled"] is True and me["recovery_codes_left"] == 10


def test_recovery_codes_are_stored_hashed_and_the_secret_sealed(city: City) -> None:
    secret, codes = enrolled(city, "hashed-codes")
    with city.ctx.db.read() as session:
        stored = list(session.scalars(select(RecoveryCode.code_hash)))
        user = service.find_user(session, username="hashed-codes")
    assert not set(codes) & set(stored)
    assert all(len(h) == 64 for h in stored)
    assert user is not None and user.totp_secret is not None
    assert secret not in user.totp_secret


def test_a_secret_sealed_under_another_key_opens_nothing(city: City) -> None:
    staff(city, "other-key")
    with city.ctx.db.writing() as session:
        user = service.find_user(session, username="other-key")
        assert user is not None
        secret = totp.begin_enrolment(session, user_id=user.id, issuer="R", key="old-key").secret
        right_code = pyotp.TOTP(secret).now()
        assert totp.check_second_factor(session, user=user, code=right_code, key="new-key") is None


def test_the_first_step_answers_alike_whether_the_password_was_right_or_not(city: City) -> None:
    enrolled(city, "two-step")
    right = sign_in(city, "two-step")
    wrong = sign_in(city, "two-step", password="not-the-password")
    assert right.status_code == wrong.status_code == 401
    assert right.json() == wrong.json()
    assert right.json()["type"].endswith("/second-factor-required")
    assert right.json()["field"] == "totp_code"


def test_the_code_opens_the_account_once(city: City) -> None:
    secret, _ = enrolled(city, "code-once")
    current = code(secret, 0)
    token = sign_in(city, "code-once", current)
    assert token.status_code == 200, token.text
    again = sign_in(city, "code-once", current)
    assert again.status_code == 401 and again.json()["type"].endswith("/invalid-credentials")
    entry = next(e for e in trail(city, "") if e["actor"] == "code-once" and e["action"] == "login")
    assert entry["detail"]["second_factor"] == "totp"


def test_a_right_code_with_a_wrong_password_opens_nothing(city: City) -> None:
    secret, _ = enrolled(city, "code-no-pw")
    wrong_pw = sign_in(city, "code-no-pw", code(secret, 0), password="not-the-password")
    wrong_code = sign_in(city, "code-no-pw", "123456")
    assert wrong_pw.status_code == wrong_code.status_code == 401
    assert wrong_pw.json() == wrong_code.json()
    # The code was not spent by the failed attempt.
    assert sign_in(city, "code-no-pw", code(secret, 0)).status_code == 200


def test_a_recovery_code_opens_the_account_once(city: City) -> None:
    _, codes = enrolled(city, "recovers")
    first = sign_in(city, "recovers", codes[0].upper())
    assert first.status_code == 200, first.text
    assert sign_in(city, "recovers", codes[0]).status_code == 401
    me = city.client.get("/api/v1/me", headers=bearer(first)).json()
    assert me["recovery_codes_left"] == 9


def test_wrong_codes_are_throttled_like_wrong_passwords(city: City) -> None:
    secret, _ = enrolled(city, "code-guesser")
    statuses = [sign_in(city, "code-guesser", f"{n:06d}").status_code for n in range(6)]
    assert statuses[:4] == [401] * 4 and statuses[-1] == 429
    # Locked: even the right code waits.
    assert sign_in(city, "code-guesser", code(secret, 1)).status_code == 429
    reasons = [e["detail"].get("reason") for e in trail(city, "user:code-guesser")]
    assert "wrong-code" in reasons


def test_wrong_enrolment_codes_are_throttled(city: City) -> None:
    staff(city, "enrol-guesser")
    headers = bearer(sign_in(city, "enrol-guesser"))
    city.client.post("/api/v1/me/totp", headers=headers)
    statuses = [
        city.client.post(
            "/api/v1/me/totp/confirm", json={"code": f"{n:06d}"}, headers=headers
        ).status_code
        for n in range(7)
    ]
    assert statuses[:4] == [400] * 4 and statuses[-1] == 429


def test_an_admin_resets_a_lost_second_factor_audited(city: City) -> None:
    enrolled(city, "lost-phone")
    refused = city.client.post(
        "/api/v1/users/lost-phone/totp-reset", headers=city.headers("dispatcher")
    )
    assert refused.status_code == 403
    reset = city.client.post("/api/v1/users/lost-phone/totp-reset", headers=city.headers("admin"))
    assert reset.status_code == 200 and reset.json()["totp_enabled"] is False
    assert sign_in(city, "lost-phone").status_code == 200
    entry = next(e for e in trail(city, "user:lost-phone") if e["action"] == "user.totp_reset")
    assert entry["actor"] == "admin" and entry["detail"] == {"had_second_factor": True}
    with city.ctx.db.read() as session:
        user = service.find_user(session, username="lost-phone")
        assert user is not None and totp.recovery_codes_left(session, user_id=user.id) == 0


def test_a_role_that_requires_a_second_factor_must_enrol_before_anything_else(
    city: City,
) -> None:
    staff(city, "must-enrol", role="supervisor")
    token = sign_in(city, "must-enrol")
    assert token.json()["pending"] == "totp-enrolment"
    headers = bearer(token)
    blocked = city.client.get("/api/v1/cases", headers=headers)
    assert blocked.status_code == 403 and blocked.json()["type"].endswith(
        "/totp-enrolment-required"
    )
    me = city.client.get("/api/v1/me", headers=headers).json()
    assert me["pending"] == "totp-enrolment" and me["totp_required"] is True
    secret = city.client.post("/api/v1/me/totp", headers=headers).json()["secret"]
    city.client.post("/api/v1/me/totp/confirm", json={"code": code(secret, -1)}, headers=headers)
    assert city.client.get("/api/v1/cases", headers=headers).status_code == 200
    kept = city.client.post(
        "/api/v1/me/totp/disable", json={"code": code(secret, 0)}, headers=headers
    )
    assert kept.status_code == 409 and kept.json()["type"].endswith("/totp-required")


def test_an_optional_second_factor_is_turned_off_with_a_code(city: City) -> None:
    secret, _ = enrolled(city, "turns-off")
    headers = bearer(sign_in(city, "turns-off", code(secret, 0)))
    wrong = city.client.post("/api/v1/me/totp/disable", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 400 and wrong.json()["field"] == "code"
    off = city.client.post(
        "/api/v1/me/totp/disable", json={"code": code(secret, 1)}, headers=headers
    )
    assert off.status_code == 200 and off.json()["totp_enabled"] is False
    assert sign_in(city, "turns-off").status_code == 200
    assert "totp.disable" in [e["action"] for e in trail(city, "user:turns-off")]


def test_new_recovery_codes_end_the_old_ones(city: City) -> None:
    secret, old = enrolled(city, "renews")
    headers = bearer(sign_in(city, "renews", code(secret, 0)))
    renewed = city.client.post(
        "/api/v1/me/totp/recovery-codes", json={"code": code(secret, 1)}, headers=headers
    )
    assert renewed.status_code == 200, renewed.text
    new = renewed.json()["recovery_codes"]
    assert not set(new) & set(old)
    assert sign_in(city, "renews", old[0]).status_code == 401
    assert sign_in(city, "renews", new[0]).status_code == 200


def test_enrolment_refusals(city: City) -> None:
    secret, _ = enrolled(city, "already")
    headers = bearer(sign_in(city, "already", code(secret, 0)))
    again = city.client.post("/api/v1/me/totp", headers=headers)
    assert again.status_code == 409 and again.json()["type"].endswith("/totp-enabled")
    citizen = city.client.post("/api/v1/me/totp", headers=city.headers("citizen"))
    assert citizen.status_code == 409 and citizen.json()["type"].endswith("/not-staff")
    staff(city, "never-began")
    fresh = bearer(sign_in(city, "never-began"))
    unbegun = city.client.post("/api/v1/me/totp/confirm", json={"code": "123456"}, headers=fresh)
    assert unbegun.status_code == 409 and unbegun.json()["type"].endswith("/no-enrolment")
    empty = city.client.post("/api/v1/me/totp/confirm", json={"code": ""}, headers=fresh)
    assert empty.status_code == 422 and empty.json()["field"] == "code"
    long = city.client.post("/api/v1/me/totp/confirm", json={"code": "1" * 21}, headers=fresh)
    assert long.status_code == 422 and long.json()["field"] == "code"
    assert city.client.post("/api/v1/me/totp").status_code == 401


def test_codes_one_step_either_side_are_accepted_and_never_twice(city: City) -> None:
    staff(city, "steps")
    with city.ctx.db.writing() as session:
        user = service.find_user(session, username="steps")
        assert user is not None
        key = "k"
        secret = totp.begin_enrolment(session, user_id=user.id, issuer="Riverton", key=key).secret
    now = utcnow()
    generator = pyotp.TOTP(secret)
    with city.ctx.db.writing() as session:
        user = service.find_user(session, username="steps")
        assert user is not None
        too_old = generator.at(now - timedelta(seconds=60))
        assert totp.check_second_factor(session, user=user, code=too_old, key=key, now=now) is None
        earlier = generator.at(now - timedelta(seconds=30))
        later = generator.at(now + timedelta(seconds=30))
        assert totp.check_second_factor(session, user=user, code=later, key=key, now=now) == "totp"
        # A step at or before the last accepted one is a replay.
        assert totp.check_second_factor(session, user=user, code=earlier, key=key, now=now) is None
        assert totp.check_second_factor(session, user=user, code=later, key=key, now=now) is None
        assert totp.check_second_factor(session, user=user, code="12ab56", key=key, now=now) is None


def test_an_unknown_role_in_the_setting_stops_the_start() -> None:
    with pytest.raises(ValueError, match="mayor"):
        totp.required_roles(Settings(totp_required_roles="admin, mayor"))
    assert totp.required_roles(Settings(totp_required_roles=" admin,supervisor ")) == {
        "admin",
        "supervisor",
    }
    with pytest.raises(ValueError):
        totp.required_roles(Settings(totp_required_roles="citizen"))


def test_an_admin_reset_needs_an_existing_account(city: City) -> None:
    with pytest.raises(Problem), city.ctx.db.writing() as session:
        totp.reset(session, username="nobody-at-all", actor=CLI_ACTOR)
