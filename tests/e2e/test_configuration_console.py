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


def test_the_chinese_console_edits_a_category_a_department_and_a_calendar_day(
    live_server: str, browser: Browser
) -> None:
    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 1000}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        admin = staff(live_server, "admin")
        code = _category(admin)
        login(page, live_server, "admin", f"/config/categories/{code}")
        expect(page.get_by_test_id("config-tab-categories")).to_have_text("案件类别")
        expect(page.get_by_test_id("category-version")).to_have_attribute("data-version", "1")

        # A new question with two choices, both languages; saved as version 2.
        page.get_by_test_id("question-add").click()
        page.get_by_test_id("q-code-0").fill("size")
        page.get_by_test_id("q-type-0").select_option("singlevaluelist")
        page.get_by_test_id("q-label-0").fill("How big is it?")
        page.get_by_test_id("q-label-zh-0").fill("有多大？")
        for key, name, name_zh in (("small", "Small", "小"), ("large", "Large", "大")):
            page.get_by_test_id("q-add-choice-0").click()
            choice = page.locator(".choices .row").last
            choice.locator("input").nth(0).fill(key)
            choice.locator("input").nth(1).fill(name)
            choice.locator("input").nth(2).fill(name_zh)
        page.get_by_test_id("category-save").click()
        expect(page.get_by_test_id("category-saved")).to_contain_text("第 2 版")
        screenshot(page, "console-config-category-zh")
        stored = admin.get(f"/api/v1/admin/categories/{code}").json()
        assert stored["attributes"][0]["values_zh"] == [["small", "小"], ["large", "大"]]

        # An SLA whose response comes after its resolution is refused, naming the field.
        page.get_by_test_id("sla-normal-response").fill("900")
        page.get_by_test_id("category-save").click()
        error = page.get_by_test_id("category-error")
        expect(error).to_have_attribute("data-field", "sla[0].response_minutes")

        # Someone else changes the category meanwhile: this page's save is stale.
        page.get_by_test_id("sla-normal-response").fill("30")
        body = {k: v for k, v in stored.items() if k in _EDITABLE}
        changed = admin.put(
            f"/api/v1/admin/categories/{code}", json={**body, "name_zh": "沙发", "version": 2}
        )
        assert changed.status_code == 200, changed.text
        page.get_by_test_id("category-save").click()
        expect(error).to_contain_text("第 3 版")

        # The history lists the versions.
        page.reload()
        page.get_by_test_id("category-history").click()
        expect(page.get_by_test_id("history-row")).to_have_count(3)

        # A department: added, then refused deactivation while a rule routes to it.
        dept = f"e2e-{uuid.uuid4().hex[:6]}"
        page.get_by_test_id("config-tab-departments").click()
        page.get_by_test_id("dept-code").fill(dept)
        page.get_by_test_id("dept-name").fill("Kiosks")
        page.get_by_test_id("dept-name-zh").fill("报亭管理处")
        page.get_by_test_id("dept-add").click()
        expect(page.locator(f'[data-testid="department-row"][data-code="{dept}"]')).to_be_visible()
        rule = admin.post(
            "/api/v1/admin/routing-rules",
            json={"category": code, "district": "RV03", "department": dept},
        )
        assert rule.status_code == 201, rule.text
        page.get_by_test_id(f"dept-deactivate-{dept}").click()
        # The refusal names what still points at the department, in the console's language.
        expect(page.get_by_test_id("department-error")).to_contain_text(
            f"分派规则 #{rule.json()['id']}"
        )

        # The working calendar: a day set, then in the table with its Chinese name.
        page.get_by_test_id("config-tab-calendar").click()
        page.get_by_test_id("cal-year").fill("2031")
        page.get_by_test_id("cal-year").dispatch_event("change")
        page.get_by_test_id("day-date").fill("2031-06-20")
        page.get_by_test_id("day-name").fill("City day")
        page.get_by_test_id("day-name-zh").fill("城市日")
        page.get_by_test_id("day-save").click()
        day = page.locator('[data-testid="day-row"][data-day="2031-06-20"]')
        expect(day).to_contain_text("城市日")
        expect(day).to_have_attribute("data-kind", "holiday")
        screenshot(page, "console-config-calendar-zh")
    finally:
        context.close()


_EDITABLE = {
    "kind",
    "major_class",
    "major_name",
    "major_name_zh",
    "name",
    "name_zh",
    "description",
    "keywords",
    "icon",
    "default_department",
    "priority",
    "auto_dispatch",
    "moderated",
    "dedupe_radius_m",
    "dedupe_window_hours",
    "update_interval_hours",
    "sla",
}
