"""The staff queue's live feed: server-sent events from a real server process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.city import fresh_point
from tests.support.servers import seeded_server
from tests.support.servers import token as _token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("live")) as base:
        yield base


def _events(
    base: str, token: str, wanted: int, timeout: float = 15, **params: object
) -> Iterator[dict[str, object]]:
    """The feed's first ``wanted`` events; a stream quiet for ``timeout`` seconds (heartbeats
    aside) fails the test."""
    deadline = time.monotonic() + timeout
    with httpx.stream(
        "GET",
        f"{base}/api/v1/cases-stream",
        params={"access_token": token, **params},
        timeout=timeout,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        seen = 0
        for line in response.iter_lines():
            assert time.monotonic() < deadline, f"no event for {timeout:.0f} s"
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield {"kind": kind, **json.loads(line.removeprefix("data: "))}
                deadline = time.monotonic() + timeout
                seen += 1
                if seen >= wanted:
                    return


def _report(base: str, category: str, **attributes: str) -> dict[str, object]:
    lat, lon = fresh_point()
    response = httpx.post(
        f"{base}/api/v1/reports",
        json={"category": category, "lat": lat, "lon": lon, "attributes": attributes},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


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
    theirs = _report(server, "C-01-01", cover_state="broken")  # facilities', auto-dispatched
    ours = _report(server, "C-01-02")  # a water leak, auto-dispatched to water
    # Resume from the start (Last-Event-ID semantics) and read up to the water handler's own
    # case being dispatched, which comes after every row of the facilities case.
    seen: list[dict[str, object]] = []
    for change in _events(server, token, wanted=10_000, last_event_id=0):
        seen.append(change)
        if change.get("case_id") == ours["case_id"] and change.get("action") == "dispatch":
            break
    else:
        raise AssertionError("the stream ended before the water case's dispatch")
    changes = [c for c in seen if c["kind"] == "case"]
    assert ours["case_id"] in {c["case_id"] for c in changes}
    assert theirs["case_id"] not in {c["case_id"] for c in changes}
    assert {c["department"] for c in changes if c["case_id"] == ours["case_id"]} <= {
        None,
        "water",
    }
    assert all(c["department"] in (None, "water") for c in changes)


def test_the_feed_is_for_signed_in_staff(server: str) -> None:
    assert httpx.get(f"{server}/api/v1/cases-stream").status_code == 401
    citizen = _token(server, "citizen")
    response = httpx.get(f"{server}/api/v1/cases-stream", params={"access_token": citizen})
    assert response.status_code == 403
