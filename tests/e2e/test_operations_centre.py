"""The operations centre (运行中心) in a real browser: the map moves without a reload when a
sensor alarm opens a case, a district leader sees only their district, and the video wall
renders without the console's navigation.

The server is shared with the other browser tests, so nothing here counts shared data: each
test follows its own device, case or account."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import login, screenshot
from tests.support.city import fresh_point
from tests.support.servers import staff
from tests.support.waiting import wait_until

expect.set_options(timeout=20_000)

BIN_GROUP = "riverton-wastebins"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def new_bin(base: str) -> str:
    """A waste bin of the demo's fleet at a fresh point, registered by the admin: its id."""
    lat, lon = fresh_point()
    device_id = f"ops-bin-{uuid.uuid4().hex[:8]}"
    with staff(base, "admin") as client:
        answer = client.post(
            "/api/v1/perception/devices",
            json={"device_id": device_id, "apikey": BIN_GROUP, "lat": lat, "lon": lon},
        )
    assert answer.status_code == 201, answer.text
    return device_id


def alarm_of(base: str, device_id: str) -> dict[str, Any] | None:
    with staff(base, "admin") as client:
        answer = client.get("/api/v1/perception/alarms", params={"originator": device_id})
    answer.raise_for_status()
    found = answer.json()["items"]
    return found[0] if found else None


def test_the_map_updates_without_a_reload_when_a_sensor_alarm_opens_a_case(
    live_server: str, page: Page
) -> None:
    device_id = new_bin(live_server)
    login(page, live_server, "dispatcher", "/ops")
    expect(page.get_by_test_id("ops-map")).to_be_visible()
    expect(page.get_by_test_id("ops-live")).to_have_attribute("data-state", "live")
    page.evaluate("window.__opsSamePage = true")  # gone if the page reloaded

    # The bin reports 98 % full: the demo's rule raises BIN_FULL, and the bridge files a case.
    reading = httpx.post(
        f"{live_server}/iot/d", params={"k": BIN_GROUP, "i": device_id}, content="f|98", timeout=10
    )
    assert reading.status_code == 200, reading.text
    alarm = wait_until(lambda: alarm_of(live_server, device_id), "the bin's alarm")
    expect(
        page.locator(f'[data-testid="ops-change"][data-kind="alarm"][data-id="{alarm["id"]}"]')
    ).to_be_visible()
    linked = wait_until(
        lambda: (alarm_of(live_server, device_id) or {}).get("case_id"), "the alarm's case"
    )
    expect(
        page.locator(f'[data-testid="ops-change"][data-kind="case"][data-id="{linked}"]')
    ).to_be_visible()
    assert page.evaluate("window.__opsSamePage === true")
    screenshot(page, "console-ops")


def test_a_district_leaders_view_holds_only_their_district(live_server: str, page: Page) -> None:
    # An open case in RV02 (at its label point) and one elsewhere, so both districts have some.
    districts = httpx.get(f"{live_server}/api/v1/geo/districts", timeout=10).json()["features"]
    rv02 = next(f["properties"] for f in districts if f["properties"]["code"] == "RV02")
    for lat, lon in ((rv02["label"][1], rv02["label"][0]), fresh_point()):
        body = {"category": "C-02-01", "lat": lat, "lon": lon, "description": "ops leader"}
        assert httpx.post(f"{live_server}/api/v1/reports", json=body, timeout=10).is_success
    username = f"leader-{uuid.uuid4().hex[:8]}"
    with staff(live_server, "admin") as client:
        made = client.post(
            "/api/v1/users",
            json={
                "username": username,
                "password": "demo-leader-password-1",
                "must_change_password": False,
                "role": "leader",
                "district_code": "RV02",
                "display_name": "District leader",
            },
        )
        assert made.status_code == 201, made.text
    page.goto(f"{live_server}/console/#/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill("demo-leader-password-1")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_attached()
    page.goto(f"{live_server}/console/#/ops")
    expect(page.get_by_test_id("ops-scope")).to_have_attribute("data-district", "RV02")
    rows = page.get_by_test_id("ops-area-row")
    expect(rows.first).to_be_visible()
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.code)")) == {"RV02"}
    page.get_by_test_id("ops-heat-level").select_option("street")
    expect(rows.first).to_have_attribute("data-code", re.compile(r"^RV02-S"))
    codes = rows.evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes and all(code.startswith("RV02-") for code in codes)


def test_the_video_wall_renders_without_navigation_in_large_dark_type_with_the_vital_signs(
    live_server: str, page: Page
) -> None:
    login(page, live_server, "supervisor", "/ops?wall=1")
    wall = page.get_by_test_id("ops-page")
    expect(wall).to_have_attribute("data-wall", "1")
    expect(page.get_by_test_id("ops-today-registered")).to_be_visible()
    expect(page.get_by_test_id("nav-ops")).to_be_hidden()
    background = wall.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(5, 7, 12)"
    size = page.locator(".ops-wall .kpi-value").first.evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert size >= 36
    # The city's vital signs stand beside the map, the demo fleet's air quality among them.
    expect(page.get_by_test_id("vitals").get_by_test_id("vital-air-pm25-mean")).to_be_visible()
    screenshot(page, "console-ops-wall")
    page.get_by_test_id("ops-wall-toggle").click()
    expect(wall).to_have_attribute("data-wall", "0")
    expect(page.get_by_test_id("nav-ops")).to_be_visible()


def test_a_field_worker_shares_their_position_and_the_operations_centre_shows_it(
    live_server: str, browser: Browser
) -> None:
    lat, lon = fresh_point()
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 420, "height": 860},
        locale="en-GB",
        geolocation={"latitude": lat, "longitude": lon, "accuracy": 12},
        permissions=["geolocation"],
    )
    try:
        page = context.new_page()
        login(page, live_server, "worker-roads", "/my-work")
        share = page.get_by_test_id("share-position")
        expect(share).not_to_be_checked()  # off until the worker turns it on
        share.check()
        expect(page.get_by_test_id("share-position-state")).to_have_attribute("data-state", "sent")
    finally:
        context.close()
    with staff(live_server, "dispatcher") as client:
        answer = client.get("/api/v1/operations/map", params={"layers": "crews"}).json()
    columns = answer["workers"]["columns"]
    workers = {row[columns.index("username")]: row for row in answer["workers"]["rows"]}
    assert workers["worker-roads"][columns.index("lat")] == pytest.approx(lat)
