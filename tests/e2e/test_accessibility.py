"""The main screens pass an axe-core scan with no serious or critical violation, in English and
in Chinese: reporting, tracking, the service hall and the transparency page in the citizen app;
the queue, a case, the KPIs, the vital signs and the operations centre in the console. axe-core
comes from the front end's npm packages
(no CDN); it is run through the browser's debugging protocol, which the pages'
Content-Security-Policy leaves alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import PHONE, ROOT, login, wait_for_gps
from tests.support.city import fresh_point

AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCAN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      where: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
}"""


def violations(page: Page) -> list[dict[str, Any]]:
    """The page's serious and critical axe-core violations, once the page has settled."""
    page.wait_for_load_state("networkidle")
    page.evaluate(Path(AXE).read_text(encoding="utf-8"))
    return list(page.evaluate(SCAN))


@pytest.fixture
def page_in(browser: Browser) -> Iterator[Any]:
    contexts = []

    def opener(locale: str, phone: bool) -> Page:
        options: dict[str, Any] = {"locale": locale}
        if phone:
            at = fresh_point()
            options.update(PHONE, locale=locale)
            options["geolocation"] = {"latitude": at[0], "longitude": at[1], "accuracy": 8}
        else:
            options["viewport"] = {"width": 1440, "height": 900}
        context = browser.new_context(**options)
        if phone:
            context.grant_permissions(["geolocation"])
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def case(live_server: str) -> dict[str, Any]:
    lat, lon = fresh_point()
    body = {"category": "C-02-01", "lat": lat, "lon": lon, "description": f"axe {uuid.uuid4()}"}
    answer = httpx.post(f"{live_server}/api/v1/reports", json=body, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_citizen_apps_main_screens_have_no_serious_accessibility_violation(
    live_server: str, page_in: Any, case: dict[str, Any], locale: str
) -> None:
    page = page_in(locale, phone=True)
    page.goto(f"{live_server}/app/")
    wait_for_gps(page)
    assert violations(page) == [], "report"
    page.goto(f"{live_server}/app/#/track/{case['tracking_token']}")
    expect(page.get_by_test_id("case-detail")).to_be_visible()
    assert violations(page) == [], "track"
    page.goto(f"{live_server}/app/#/services")
    expect(page.locator("#app .app-bar")).to_be_visible()
    assert violations(page) == [], "service hall"
    page.goto(f"{live_server}/app/#/transparency")
    expect(page.get_by_test_id("transparency").get_by_role("heading", level=1)).to_be_visible()
    assert violations(page) == [], "transparency"


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_consoles_main_screens_have_no_serious_accessibility_violation(
    live_server: str, page_in: Any, case: dict[str, Any], locale: str
) -> None:
    page = page_in("en-US", phone=False)
    login(page, live_server, "dispatcher")
    page.get_by_test_id("lang-switch").select_option(locale)
    for route, ready in (
        ("/queue", "nav-queue"),
        (f"/cases/{case['case_id']}", "case-title"),
        ("/kpis", "nav-kpis"),
        ("/vitals", "vitals-at"),
        ("/ops", "ops-map"),
    ):
        page.goto(f"{live_server}/console/#{route}")
        expect(page.get_by_test_id(ready)).to_be_visible()
        assert violations(page) == [], route
