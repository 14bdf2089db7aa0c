"""Who read my data, in a real browser: the demo citizen, whose report's contact a dispatcher
opened to follow the case up and to call them back, filters their log to the call-back, downloads
it as CSV in their language, and switches to the log of the enterprise they represent, where a
clerk's look-up is listed. In the console, the administrator sees the access log, its chain
intact, filtered to one person's data."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.browser import PASSWORD, PHONE, login, screenshot
from tests.support.city import fresh_point
from tests.support.servers import staff

expect.set_options(timeout=15_000)

SNACK_SHOP = "92110105MA01CD34ER"  # the demo citizen is its legal representative
HEADERS = {
    "en-US": ("Time", "Calling you back about your report"),
    "zh-CN": ("时间", "就您反映的问题回访"),
}


@pytest.fixture(scope="module")
def reads(live_server: str) -> None:
    """A dispatcher opens the contact of the demo citizen's report to call them back, and a
    clerk looks the citizen's enterprise up."""
    lat, lon = fresh_point()
    with staff(live_server, "citizen") as citizen:
        filed = citizen.post(
            "/api/v1/reports",
            json={"category": "C-02-03", "lat": lat, "lon": lon, "contact_phone": "13800138000"},
        )
        assert filed.status_code == 201, filed.text
        case_id, report_id = filed.json()["case_id"], filed.json()["report_id"]
    with staff(live_server, "dispatcher") as dispatcher:
        for purpose in ("case_follow_up", "callback"):
            opened = dispatcher.post(
                f"/api/v1/cases/{case_id}/reports/{report_id}/contact", json={"purpose": purpose}
            )
            assert opened.status_code == 200, opened.text
    with staff(live_server, "clerk") as clerk:
        assert clerk.get(f"/api/v1/enterprises/{SNACK_SHOP}").status_code == 200


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def make(locale: str) -> Page:
        context = browser.new_context(
            **PHONE, locale=locale, base_url=live_server, accept_downloads=True
        )
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_citizen_filters_and_downloads_their_log_and_sees_their_enterprises(
    reads: None, phone: Any, locale: str, tmp_path: Path
) -> None:
    page = phone(locale)
    page.goto("/app/#/login")
    page.get_by_test_id("login-username").fill("citizen")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"#/reports$"))
    page.goto("/app/#/data-access")
    expect(
        page.locator('[data-testid="access-entry"][data-purpose="case_follow_up"]').first
    ).to_be_visible()

    page.get_by_test_id("access-filter-purpose").select_option("callback")
    expect(
        page.locator('[data-testid="access-entry"]:not([data-purpose="callback"])')
    ).to_have_count(0)
    expect(
        page.locator('[data-testid="access-entry"][data-purpose="callback"]').first
    ).to_be_visible()
    screenshot(page, f"app-data-access-{locale}")

    with page.expect_download() as waiting:
        page.get_by_test_id("access-export-csv").click()
    download = waiting.value
    assert download.suggested_filename.startswith("data-access-user-citizen-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    header, purpose = HEADERS[locale]
    assert rows[0][0] == header and len(rows) >= 2
    assert {row[3] for row in rows[1:]} == {purpose}

    page.get_by_test_id(f"access-subject-{SNACK_SHOP}").click()
    expect(page).to_have_url(re.compile(f"#/data-access/enterprise/{SNACK_SHOP}$"))
    expect(page.get_by_test_id("access-empty")).to_be_visible()  # no callback of the enterprise
    page.get_by_test_id("access-clear").click()
    expect(
        page.locator('[data-testid="access-entry"][data-purpose="enterprise_check"]').first
    ).to_be_visible()


def test_the_administrator_reads_the_access_log_and_its_chain(
    reads: None, browser: Browser, live_server: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        login(page, live_server, "admin", "/access-log")
        expect(page.get_by_test_id("chain-intact")).to_be_visible()
        expect(
            page.locator('[data-testid="log-row"][data-purpose="enterprise_check"]').first
        ).to_be_visible()
        page.get_by_test_id("log-filter-username").fill("citizen")
        page.get_by_test_id("log-apply").click()
        expect(
            page.locator('[data-testid="log-row"][data-purpose="callback"]').first
        ).to_be_visible()
        # Every row left is the citizen's (the enterprise's look-up is filtered out).
        expect(
            page.locator('[data-testid="log-row"][data-purpose="enterprise_check"]')
        ).to_have_count(0)
        expect(page.get_by_test_id("log-whose").filter(has_not_text="citizen")).to_have_count(0)
        screenshot(page, "console-access-log")
    finally:
        context.close()
    with staff(live_server, "admin") as admin:
        trail = admin.get("/api/v1/audit", params={"target": "access_log"}).json()
    assert any(
        a["actor"] == "admin" and a["detail"].get("user_id")
        for a in trail
        if a["action"] == "access_log.read"
    )
