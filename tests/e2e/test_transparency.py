"""The public transparency page in a real browser, with no sign-in, in English and in Chinese:
a case is fixed and closed through the API, the page shows the city's figures beside the
previous month's, the trend chart, the closed case on the map and the district table, and its
download links answer the month's report as PDF, CSV and XLSX."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import PHONE, proof_jpeg, screenshot
from tests.support.city import fresh_point
from tests.support.servers import staff

expect.set_options(timeout=15_000)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HEADINGS = {"en-US": "How the city is doing", "zh-CN": "城市治理成效"}


@pytest.fixture(scope="module")
def closed_case(live_server: str) -> int:
    """A missing manhole cover, reported, fixed and closed; its fact reaches the read model."""
    lat, lon = fresh_point()
    body = {
        "category": "C-01-01",
        "lat": lat,
        "lon": lon,
        "description": "transparency e2e cover",
        "attributes": {"cover_state": "missing"},
    }
    answer = httpx.post(f"{live_server}/api/v1/reports", json=body, timeout=10)
    answer.raise_for_status()
    case_id = int(answer.json()["case_id"])
    with staff(live_server, "worker-facilities") as worker:
        proof = worker.post(
            "/api/v1/media", files={"file": ("after.jpg", proof_jpeg(), "image/jpeg")}
        ).json()["id"]
        worker.post(f"/api/v1/cases/{case_id}/actions", json={"action": "start"}).raise_for_status()
        worker.post(
            f"/api/v1/cases/{case_id}/actions",
            json={"action": "resolve", "note": "New cover", "attachments": [proof]},
        ).raise_for_status()
    with staff(live_server, "supervisor") as supervisor:
        supervisor.post(
            f"/api/v1/cases/{case_id}/actions", json={"action": "verify", "resolution": "fixed"}
        ).raise_for_status()
    # The relay turns the case's events into its fact in the background: wait until it has.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        figures = httpx.get(f"{live_server}/api/v1/public/closed-cases", timeout=10)
        if figures.status_code == 200 and figures.json()["points"]:
            return case_id
        time.sleep(0.5)
    raise AssertionError("the closed case never reached the public figures")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_transparency_page_shows_the_figures_and_its_reports_download(
    browser: Browser, live_server: str, closed_case: int, locale: str
) -> None:
    context = browser.new_context(**{**PHONE, "locale": locale})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/app/")
        page.get_by_test_id("home-transparency").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(HEADINGS[locale])
        registered = page.get_by_test_id("tile-registered").get_by_test_id("tile-value")
        expect(registered).to_have_text(re.compile(r"^\d+$"))
        closed = page.get_by_test_id("tile-closed_in_period").get_by_test_id("tile-value")
        expect(closed).to_have_text(re.compile(r"^[1-9]\d*$"))
        expect(page.get_by_test_id("transparency-chart")).to_be_visible()
        expect(
            page.get_by_test_id("closed-point").or_(page.locator(".pin-group")).first
        ).to_be_attached()
        expect(page.get_by_test_id("district-table")).to_be_visible()
        screenshot(page, f"transparency-{locale}")
        links: dict[str, Any] = {
            kind: page.get_by_test_id(f"download-{kind}").get_attribute("href")
            for kind in CONTENT_TYPES
        }
    finally:
        context.close()
    for kind, href in links.items():
        assert href and f"lang={locale[:2]}" in href
        answer = httpx.get(f"{live_server}{href}", timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == CONTENT_TYPES[kind]
    pdf = httpx.get(f"{live_server}{links['pdf']}", timeout=60)
    assert pdf.content.startswith(b"%PDF")
