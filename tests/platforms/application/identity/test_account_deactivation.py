"""Admins deactivate accounts: no more sign-ins, tokens stop working at once, and open live feeds
end within seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.city import City
from tests.support.servers import seeded_server


def deactivate(city: City, username: str, by: str = "admin") -> httpx.Response:
    return city.client.post(f"/api/v1/users/{username}/deactivate", headers=city.headers(by))


def test_a_deactivated_accounts_token_stops_working_on_its_next_request(city: City) -> None:
    token = city.headers("worker-water")
    assert city.client.get("/api/v1/me", headers=token).status_code == 200
    response = deactivate(city, "worker-water")
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    refused = city.client.get("/api/v1/me", headers=token)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert city.client.get("/api/v1/cases", headers=token).status_code == 401


def test_a_deactivated_account_cannot_sign_in_and_is_told_nothing_more(city: City) -> None:
    deactivate(city, "handler-roads")
    right = city.client.post(
        "/api/v1/auth/token", data={"username": "handler-roads", "password": "demo"}
    )
    wrong = city.client.post(
        "/api/v1/auth/token", data={"username": "worker-roads", "password": "not-it"}
    )
    assert right.status_code == wrong.status_code == 401
    assert right.json() == wrong.json()


def test_an_activated_account_signs_in_again(city: City) -> None:
    deactivate(city, "worker-parks")
    response = city.client.post(
        "/api/v1/users/worker-parks/activate", headers=city.headers("admin")
    )
    assert response.status_code == 200 and response.json()["active"] is True
    login = city.client.post(
        "/api/v1/auth/token", data={"username": "worker-parks", "password": "demo"}
    )
    assert login.status_code == 200


def test_deactivation_and_activation_are_audited(city: City) -> None:
    deactivate(city, "handler-parks")
    city.client.post("/api/v1/users/handler-parks/activate", headers=city.headers("admin"))
    trail = city.client.get(
        "/api/v1/audit", params={"target": "user:handler-parks"}, headers=city.headers("admin")
    ).json()
    actions = [(entry["action"], entry["actor"]) for entry in trail]
    assert ("user.deactivate", "admin") in actions and ("user.activate", "admin") in actions


def test_only_admins_deactivate_accounts(city: City) -> None:
    assert deactivate(city, "hotline", by="dispatcher").status_code == 403
    assert city.client.post("/api/v1/users/hotline/deactivate").status_code == 401
    assert city.client.get("/api/v1/me", headers=city.headers("hotline")).status_code == 200


def test_an_unknown_account_is_a_404_and_an_admin_keeps_their_own(city: City) -> None:
    missing = deactivate(city, "nobody-at-all")
    assert missing.status_code == 404
    assert "nobody-at-all" in missing.json()["detail"]
    own = deactivate(city, "admin")
    assert own.status_code == 409
    assert city.client.get("/api/v1/me", headers=city.headers("admin")).status_code == 200


# --- the live feed, on a real server ------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("deactivation")
    with seeded_server(data, env={"CITYLOOP_LIVE_ACCOUNT_CHECK_SECONDS": "0.5"}) as base:
        yield base, data


class Feed:
    """A live feed read on its own thread, noting when the server ends it."""

    def __init__(self, base: str, token: str) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.ended = threading.Event()
        threading.Thread(target=self._read, args=(base, token), daemon=True).start()

    def _read(self, base: str, token: str) -> None:
        params = {"access_token": token}
        timeout = httpx.Timeout(10, read=60)
        with httpx.stream(
            "GET", f"{base}/api/v1/cases-stream", params=params, timeout=timeout
        ) as r:
            for line in r.iter_lines():
                self.lines.append(line)
                if line == "event: ready":
                    self.ready.set()
        self.ended.set()


def sign_in(base: str, username: str, password: str = "demo") -> dict[str, object]:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def new_dispatcher(base: str, username: str) -> dict[str, object]:
    admin = {"Authorization": f"Bearer {sign_in(base, 'admin')['access_token']}"}
    # Not a temporary password: the feed's account may do more than change it.
    body = {"username": username, "password": "watch-the-feed", "role": "dispatcher",
            "department_code": "command", "must_change_password": False}  # fmt: skip
    assert httpx.post(f"{base}/api/v1/users", json=body, headers=admin).status_code == 201
    return sign_in(base, username, "watch-the-feed")


def test_a_deactivated_accounts_live_feed_ends_within_seconds(server: tuple[str, Path]) -> None:
    base, _ = server
    feed = Feed(base, str(new_dispatcher(base, "feed-watcher")["access_token"]))
    assert feed.ready.wait(10), "the feed did not open"
    admin = {"Authorization": f"Bearer {sign_in(base, 'admin')['access_token']}"}
    response = httpx.post(f"{base}/api/v1/users/feed-watcher/deactivate", headers=admin)
    assert response.status_code == 200
    assert feed.ended.wait(10), "the feed stayed open after its account was deactivated"
    assert "event: end" in feed.lines


def test_a_live_feed_ends_when_its_token_expires(server: tuple[str, Path]) -> None:
    base, data = server
    user = new_dispatcher(base, "short-lived")["user"]
    assert isinstance(user, dict)
    now = int(time.time())
    claims = {"sub": str(user["id"]), "name": "short-lived", "role": "dispatcher", "iat": now,
              "exp": now + 5}  # fmt: skip
    token = jwt.encode(claims, (data / "secret_key").read_text().strip(), algorithm="HS256")
    feed = Feed(base, token)
    assert feed.ready.wait(10), "the feed did not open"
    assert feed.ended.wait(20), "the feed outlived its token"
