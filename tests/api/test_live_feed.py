"""The staff queue's live feed: server-sent events from a real server process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import fresh_point
from tests.servers import running, seed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("live")
    seed(data)
    with running("serve", data) as base:
        yield base


def _token(base: str, username: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": "demo"}
    )
    return str(response.json()["access_token"])


def _events(base: str, token: str, wanted: int, timeout: float = 15) -> Iterator[dict[str, object]]:
    with httpx.stream(
        "GET", f"{base}/api/v1/cases-stream", params={"access_token": token}, timeout=timeout
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        seen = 0
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield {"kind": kind, **json.loads(line.removeprefix("data: "))}
                seen += 1
                if seen >= wanted:
                    return


def test_a_new_report_reaches_the_handlers_feed_without_a_reload(server: str) -> None:
    token = _token(server, "handler-facilities")
    feed = _events(server, token, wanted=4)
    ready = next(feed)
    assert ready["kind"] == "ready"
    lat, lon = fresh_point()
    created = httpx.post(
        f"{server}/api/v1/reports",
        json={"category": "C-01-01", "lat": lat, "lon": lon,
              "attributes": {"cover_state": "missing"}},
    ).json()  # fmt: skip
    changes = list(feed)
    # Auto-dispatch makes the case theirs at once: its submit, register and dispatch rows arrive.
    assert any(c["case_id"] == created["case_id"] and c["action"] == "dispatch" for c in changes)
    assert all(c["kind"] == "case" for c in changes)


def test_the_feed_never_shows_another_departments_cases(server: str) -> None:
    token = _token(server, "handler-water")
    feed = _events(server, token, wanted=1)
    next(feed)
    lat, lon = fresh_point()
    httpx.post(
        f"{server}/api/v1/reports",
        json={"category": "C-01-01", "lat": lat, "lon": lon,
              "attributes": {"cover_state": "broken"}},
    )  # fmt: skip
    # Resume from the start with Last-Event-ID semantics: nothing of facilities' shows up.
    with httpx.stream(
        "GET",
        f"{server}/api/v1/cases-stream",
        params={"access_token": token, "last_event_id": 0},
        timeout=2.5,
    ) as response:
        lines: list[str] = []
        try:
            for line in response.iter_lines():
                lines.append(line)
        except httpx.ReadTimeout:
            pass
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert all(d.get("department") in (None, "water") for d in data[1:])


def test_the_feed_is_for_signed_in_staff(server: str) -> None:
    assert httpx.get(f"{server}/api/v1/cases-stream").status_code == 401
    citizen = _token(server, "citizen")
    response = httpx.get(f"{server}/api/v1/cases-stream", params={"access_token": citizen})
    assert response.status_code == 403
