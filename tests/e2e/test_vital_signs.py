"""The vital-signs screen in a real browser: a flood gauge reports water on the road, the
dispatcher sees the demo city's indicators in English and in Chinese with the flood tile at its
critical level, and the tile's alarm link opens the alarm list filtered to the alarms of the
rules behind it, the gauge's among them.

The gauge's reading goes in as the device sends it (UltraLight over /iot/d); other tests share
the server, so nothing here counts shared data exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import login, screenshot

expect.set_options(timeout=15_000)

GAUGE = "rv-wl-05"
GAUGE_KEY = "riverton-waterlevel"
DEMO_TILES = (
    "air-pm25-mean",
    "air-pm25-worst",
    "flood-level-worst",
    "parking-occupancy",
    "bins-over-80",
    "lamps-out",
    "river-oxygen-min",
)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def test_the_screen_shows_the_citys_vital_signs_and_a_tile_opens_its_alarms(
    live_server: str, page: Page
) -> None:
    # 45 cm of water on the road: above the flood rule's 0.30 m, so it raises an alarm too.
    answer = httpx.post(
        f"{live_server}/iot/d", params={"k": GAUGE_KEY, "i": GAUGE}, content="l|45", timeout=10
    )
    assert answer.status_code == 200, answer.text

    login(page, live_server, "dispatcher", "/vitals")
    expect(page.get_by_role("heading", name="City vital signs")).to_be_visible()
    for code in DEMO_TILES:
        expect(page.get_by_test_id(f"vital-{code}")).to_be_visible()
    flood = page.get_by_test_id("vital-flood-level-worst")
    expect(flood).to_contain_text("Water on the roads")
    expect(flood).to_have_attribute("data-level", "critical")
    expect(flood.get_by_test_id("vital-level")).to_have_text("Critical")
    expect(flood.get_by_test_id("vital-thresholds")).to_contain_text("0.3 m")

    page.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(page.get_by_role("heading", name="城市体征")).to_be_visible()
    expect(flood).to_contain_text("道路积水（最高监测点）")
    expect(flood.get_by_test_id("vital-level")).to_have_text("严重")
    expect(page.get_by_test_id("vital-lamps-out")).to_contain_text("路灯故障数")
    screenshot(page, "console-vitals-zh")
    page.get_by_test_id("lang-switch").select_option("en")

    link = flood.get_by_test_id("vital-alarms")
    expect(link).not_to_have_attribute("data-count", "0")
    link.click()
    expect(page).to_have_url(re.compile(r"#/alarms\?rule=\d+"))
    expect(page.get_by_test_id("al-rule-filter")).to_be_visible()
    rows = page.get_by_test_id("alarm-row")
    expect(rows.filter(has_text=GAUGE).first).to_be_visible()
    expect(rows.filter(has_text=GAUGE).first).to_have_attribute("data-type", "FLOOD_LEVEL_HIGH")
    # Every alarm listed comes from the flood rule: the filter, not the default list.
    for alarm_type in rows.evaluate_all("rows => rows.map(r => r.dataset.type)"):
        assert alarm_type == "FLOOD_LEVEL_HIGH"
    page.get_by_test_id("al-rule-clear").click()
    expect(page.get_by_test_id("al-rule-filter")).to_have_count(0)
