"""The operations centre's live feed over HTTP, from a real server process: a new case and a
sensor alarm arrive as events without asking, a reconnect resumes after the last event it saw,
and only signed-in staff who read the operations centre may listen."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.city import fresh_point
from tests.support.servers import seeded_server, staff
from tests.support.servers import token as _token

FEED = "/api/v1/operations/live"
BINS = "riverton-wastebins"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("ops-live")) as base:
        yield base


def _events(
    base: str, token: str, timeout: float = 20, **params: object
) -> Iterator[dict[str, object]]:
    """The feed's events with their kind and id; a stream quiet for ``timeout`` seconds
    (heartbeats aside) fails the test."""
    deadline = time.monotonic() + timeout
    with httpx.stream(
        "GET", f"{base}{FEED}", params={"access_token": token, **params}, timeout=timeout
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind, event_id = "", None
        for line in response.iter_lines():
            assert time.monotonic() < deadline, f"no event for {timeout:.0f} s"
            if line.startswith("id: "):
                event_id = int(line.removeprefix("id: "))
            elif line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield {
                    "kind": kind,
                    "event_id": event_id,
                    **json.loads(line.removeprefix("data: ")),
                }
                kind, event_id = "", None
                deadline = time.monotonic() + timeout


def _bin(base: str) -> str:
    lat, lon = fresh_point()
    device_id = f"live-bin-{uuid.uuid4().hex[:8]}"
    with staff(base, "admin") as client:
        made = client.post(
            "/api/v1/perception/devices",
            json={"device_id": device_id, "apikey": BINS, "lat": lat, "lon": lon},
        )
    assert made.status_code == 201, made.text
    return device_id


def test_a_new_case_and_a_sensor_alarm_arrive_without_asking_and_a_reconnect_resumes(
    server: str,
) -> None:
    token = _token(server, "dispatcher")
    feed = _events(server, token)
    ready = next(feed)
    assert ready["kind"] == "ready"
    lat, lon = fresh_point()
    report = httpx.post(
        f"{server}/api/v1/reports",
        json={"category": "C-02-01", "lat": lat, "lon": lon, "description": "live feed"},
    ).json()
    device_id = _bin(server)
    reading = httpx.post(f"{server}/iot/d", params={"k": BINS, "i": device_id}, content="f|97")
    assert reading.status_code == 200, reading.text

    seen: list[dict[str, object]] = []
    for event in feed:
        seen.append(event)
        kinds = {
            (e["kind"], e.get("id") if e["kind"] == "case" else e.get("device_id")) for e in seen
        }
        if ("case", report["case_id"]) in kinds and ("alarm", device_id) in kinds:
            break
    case = next(e for e in seen if e["kind"] == "case" and e["id"] == report["case_id"])
    assert case["open"] is True and case["lat"] == round(lat, 6)
    assert set(case) >= {"status", "priority", "category", "district", "resolution_due"}
    assert not {"description", "reporter", "contact_email"} & set(case)
    alarm = next(e for e in seen if e["kind"] == "alarm" and e["device_id"] == device_id)
    assert alarm["change"] == "raised" and alarm["type"] == "BIN_FULL"
    assert isinstance(case["event_id"], int) and isinstance(alarm["event_id"], int)

    # A reconnect that saw everything before the case's change starts with that change.
    resumed = _events(server, token, last_event_id=int(case["event_id"]) - 1)
    assert next(resumed)["kind"] == "ready"
    first = next(resumed)
    assert first["event_id"] == case["event_id"] and first["id"] == report["case_id"]


def test_the_feed_is_for_signed_in_readers_of_the_operations_centre(server: str) -> None:
    assert httpx.get(f"{server}{FEED}").status_code == 401
    for who in ("citizen", "clerk"):
        answer = httpx.get(f"{server}{FEED}", params={"access_token": _token(server, who)})
        assert answer.status_code == 403, who
