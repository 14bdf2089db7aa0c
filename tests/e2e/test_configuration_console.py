"""The city's configuration in a real browser: an admin adds a routing rule for a category in a
district to a different department, tests a point in that district on the map and sees the new
rule named, and a report filed at that point goes to that department."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import login, screenshot
from tests.support.servers import staff

TIMEOUT_MS = 15_000


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="en-US", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 1000}
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _category(admin: httpx.Client) -> str:
    """A category of this test's own (so no other test's reports follow its rule), routed to
    sanitation by default, with no questions to answer."""
    code = f"E2E-{uuid.uuid4().hex[:6]}"
    body: dict[str, Any] = {
        "code": code,
        "kind": "event",
        "major_class": "06",
        "major_name": "Other",
        "major_name_zh": "其他",
        "name": f"Abandoned sofa {code}",
        "name_zh": f"废弃沙发 {code}",
        "default_department": "sanitation",
        "priority": "normal",
        "sla": [{"priority": "normal", "response_minutes": 60, "resolution_minutes": 480}],
    }
    answer = admin.post("/api/v1/admin/categories", json=body)
    assert answer.status_code == 201, answer.text
    return code


def test_an_admin_adds_a_rule_tests_a_point_and_a_new_report_follows_it(
    live_server: str, page: Page
) -> None:
    admin = staff(live_server, "admin")
    code = _category(admin)
    login(page, live_server, "admin", "/config/routing")
    expect(page.get_by_test_id("nav-config")).to_be_visible()

    # The rule: this category in Riverside goes to Parks and Greening, not to sanitation.
    form = page.get_by_test_id("rule-form")
    form.get_by_test_id("rule-category").select_option(code)
    form.get_by_test_id("rule-district").select_option("RV02")
    form.get_by_test_id("rule-department").select_option("parks")
    form.get_by_test_id("rule-add").click()
    expect(page.get_by_test_id("config-notice")).to_contain_text("added")
    row = page.locator(f'[data-testid="rule-row"][data-category="{code}"]')
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-district", "RV02")
    rule_id = row.get_attribute("data-rule")
    assert rule_id

    # Test a point: click the map where Riverside's name is drawn.
    probe = page.get_by_test_id("probe")
    probe.get_by_test_id("probe-category").select_option(code)
    label = probe.locator(".citymap-label span", has_text="Riverside")
    expect(label).to_be_visible()
    box = label.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] + 6)
    result = page.get_by_test_id("probe-result")
    expect(result).to_have_attribute("data-rule", rule_id)
    expect(result).to_have_attribute("data-matched", "district")
    expect(result.get_by_test_id("probe-where")).to_contain_text("Riverside")
    expect(result.get_by_test_id("probe-rule")).to_contain_text(f"Rule #{rule_id}")
    expect(result.get_by_test_id("probe-department")).to_contain_text("Parks and Greening")
    expect(result.get_by_test_id("probe-sla")).to_contain_text("resolve by")
    screenshot(page, "console-config-test-a-point")

    # A citizen's report at that very point is routed by the new rule.
    lat = float(probe.get_by_test_id("probe-lat").input_value())
    lon = float(probe.get_by_test_id("probe-lon").input_value())
    filed = httpx.post(
        f"{live_server}/api/v1/reports",
        json={"category": code, "lat": lat, "lon": lon, "description": "A sofa on the pavement"},
    )
    assert filed.status_code == 201, filed.text
    case = admin.get(f"/api/v1/cases/{filed.json()['case_id']}").json()
    assert case["district"]["code"] == "RV02"
    assert case["routing"]["department"] == "parks"
    assert case["routing"]["rule_id"] == int(rule_id)

    # The rule's history names the admin who made it.
    row.get_by_test_id(f"rule-history-{rule_id}").click()
    history = page.get_by_test_id("history-panel")
    expect(history.get_by_test_id("history-row")).to_have_count(1)
    expect(history.get_by_test_id("history-row").first).to_have_attribute("data-action", "create")
