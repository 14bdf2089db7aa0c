"""An account reads the server's lines in its own language: its setting when it has one (PATCH
/api/v1/me), else the browser's Accept-Language, else English."""

from __future__ import annotations

from typing import Any

from tests.support.city import City

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


def sign_in(city: City, password: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = city.client.post(
        "/api/v1/auth/token",
        data={"username": "citizen", "password": password},
        headers=headers or {},
    )
    return dict(response.json())


def test_a_wrong_password_is_told_in_the_browsers_language(city: City) -> None:
    english = sign_in(city, "not-it")
    chinese = sign_in(city, "not-it", CHINESE)
    assert english["status"] == chinese["status"] == 401
    assert english["detail"] == "wrong username or password"
    assert chinese["detail"] == "用户名或密码错误"
    assert chinese["title"] == "账号或密码错误"
    assert chinese["code"] == english["code"] == "identity.invalid_credentials"


def test_an_account_sets_its_language_and_then_reads_chinese_without_asking(city: City) -> None:
    headers = city.headers("supervisor")
    changed = city.client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["locale"] == "zh-CN"
    missing = city.client.get("/api/v1/cases/999999", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "案卷 999999 不存在"
    # The account's setting wins over the browser's.
    english_browser = {**headers, "Accept-Language": "en"}
    assert "不存在" in city.client.get("/api/v1/cases/999999", headers=english_browser).text
    city.client.patch("/api/v1/me", json={"locale": None}, headers=headers)
    again = city.client.get("/api/v1/cases/999999", headers=headers)
    assert again.json()["detail"] == "case 999999 does not exist"


def test_a_language_we_do_not_speak_is_refused_naming_the_field(city: City) -> None:
    headers = {**city.headers("citizen"), **CHINESE}
    refused = city.client.patch("/api/v1/me", json={"locale": "fr"}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "locale"
    assert refused.json()["detail"].startswith("locale：必须是")


def test_changing_ones_language_is_audited(city: City) -> None:
    headers = city.headers("dispatcher")
    city.client.patch("/api/v1/me", json={"locale": "en"}, headers=headers)
    trail = city.client.get(
        "/api/v1/audit", params={"target": "user:dispatcher"}, headers=city.headers("admin")
    )
    assert trail.status_code == 200, trail.text
    assert any(e["action"] == "account.locale" for e in trail.json())
