"""The built front ends run under their Content-Security-Policy: the browser reports no violation
on the citizen app's screens or the console's (maps, charts, the live feed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

TIMEOUT_MS = 15_000

# Runs before the page's own scripts: keeps every violation the browser reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


def violations(page: Page) -> Any:
    return page.evaluate("window.__cspViolations")


def test_the_citizen_app_runs_without_a_policy_violation(context: BrowserContext) -> None:
    page = context.new_page()
    response = page.goto("/app/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.locator("#app")).not_to_be_empty()
    page.goto("/app/#/map")
    expect(page.locator(".leaflet-container").first).to_be_visible()
    # vue-i18n compiled its messages under the policy (no eval): a plural one reads right.
    expect(page.get_by_test_id("map-count")).to_have_text(
        re.compile(r"^(no reports|one report|\d+ reports) on the map$")
    )

    assert violations(page) == []


def registered_case(base: str) -> None:
    """A case registered at a point of its own, so that the KPI screen has a department row."""
    report = httpx.post(
        f"{base}/api/v1/reports",
        json={"category": "C-02-01", "lat": 30.2401, "lon": 120.1702, "description": "CSP"},
    )
    assert report.status_code == 201, report.text
    login = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "dispatcher", "password": "demo"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    httpx.post(
        f"{base}/api/v1/cases/{report.json()['case_id']}/actions",
        json={"action": "register"},
        headers=headers,
    )


def test_the_console_runs_without_a_policy_violation(
    context: BrowserContext, live_server: str
) -> None:
    registered_case(live_server)
    page = context.new_page()
    page.goto("/console/#/login")
    page.get_by_test_id("login-username").fill("supervisor")
    page.get_by_test_id("login-password").fill("demo")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_attached()
    page.goto("/console/#/kpis")
    chart = page.get_by_test_id("kpi-chart-rates")
    expect(chart.locator("svg")).to_be_attached()
    chart.hover()  # the chart's tooltip is markup with style attributes

    assert violations(page) == []


def test_the_api_reference_runs_from_the_build_without_a_policy_violation(
    context: BrowserContext, live_server: str
) -> None:
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server) else outside.append(request.url)
        ),
    )
    response = page.goto("/docs")
    assert response is not None and page.url.endswith("/apidocs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Tags start closed (there are over 150 operations): open the citizens' one.
    page.locator(".opblock-tag", has_text="citizens").first.click()
    expect(page.get_by_text("/api/v1/reports").first).to_be_visible()

    assert violations(page) == []
    assert outside == []  # nothing from a CDN or anywhere else
