"""The device and alarm screens in a real browser: an administrator opens the demo city's device
list, filters it, opens a waste bin that has reported and sees its readings chart, imports a CSV
with one bad row and reads which line and column are wrong, then acknowledges and clears the
bin's alarm, which links to the case it filed.

Readings go in as the device sends them (UltraLight over /iot/d, with timestamps over the last
hours); device ids are unique so the module shares the session's server."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import login, screenshot
from tests.support.servers import staff

expect.set_options(timeout=15_000)

BIN = "rv-wb-03"
BIN_KEY = "riverton-wastebins"
# Imported devices join the generic group, so the bins stay ten whatever order tests run in.
IMPORT_KEY = "riverton-generic"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def send_ul(base: str, apikey: str, device_id: str, payload: str) -> None:
    """One UltraLight message, as the device sends it."""
    answer = httpx.post(
        f"{base}/iot/d", params={"k": apikey, "i": device_id}, content=payload, timeout=10
    )
    assert answer.status_code == 200, answer.text


def bin_readings(hours: int) -> str:
    """A bin filling up over the last ``hours`` hours, one UltraLight group per hour."""
    now = datetime.now(UTC).replace(microsecond=0)
    groups = []
    for k in range(hours, 0, -1):
        at = (now - timedelta(hours=k)).isoformat().replace("+00:00", "Z")
        groups.append(f"{at}|f|{20 + 5 * (hours - k)}|t|12.5|bat|{80 - k}")
    return "#".join(groups)


def test_an_admin_lists_devices_and_sees_a_bins_readings_chart(
    live_server: str, page: Page
) -> None:
    send_ul(live_server, BIN_KEY, BIN, bin_readings(6))
    login(page, live_server, "admin", "/devices")

    expect(page.get_by_test_id("dev-total")).to_have_attribute(
        "data-total", re.compile(r"^[1-9]\d+$")
    )
    page.get_by_test_id("dev-filter-profile").select_option("wastebin-ul")
    expect(page.get_by_test_id("dev-row")).to_have_count(10)
    row = page.locator(f'[data-testid="dev-row"][data-id="{BIN}"]')
    expect(row).to_have_attribute("data-state", "online")
    expect(row.get_by_test_id("dev-battery")).to_contain_text("%")
    page.get_by_test_id("dev-filter-state").select_option("never_seen")
    expect(row).to_have_count(0)
    page.get_by_test_id("dev-filter-state").select_option("")
    screenshot(page, "console-devices")

    row.get_by_test_id("dev-link").click()
    expect(page.get_by_test_id("device-title")).to_have_text(BIN)
    expect(page.get_by_test_id("device-state")).to_have_text("Online")
    expect(
        page.locator('[data-testid="device-latest-row"][data-attribute="fillingLevel"]')
    ).to_be_visible()
    page.get_by_test_id("device-measure").select_option("fillingLevel")
    chart = page.get_by_test_id("device-chart")
    expect(chart).to_have_attribute("data-points", "6")
    expect(chart.locator("svg path").first).to_be_attached()
    page.get_by_test_id("device-period-7d").click()
    expect(chart).not_to_have_attribute("data-points", "0")
    expect(page.locator(".citymap .device-map-pin")).to_be_visible()
    screenshot(page, "console-device")

    page.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(page.get_by_test_id("device-state")).to_have_text("在线")
    expect(page.get_by_test_id("device-period-30d")).to_have_text("30 天")
    screenshot(page, "console-device-zh")


def test_a_csv_import_with_one_bad_row_shows_the_line_and_column(
    live_server: str, page: Page
) -> None:
    login(page, live_server, "admin", "/devices/import")
    suffix = uuid.uuid4().hex[:6]
    body = (
        "device_id,apikey,name,lat,lon\n"
        f"e2e-{suffix}-1,{IMPORT_KEY},Gauge one,30.2501,120.1601\n"
        f"e2e-{suffix}-2,{IMPORT_KEY},Gauge two,north,120.1602\n"
        f"e2e-{suffix}-3,{IMPORT_KEY},Gauge three,,\n"
    )
    page.get_by_test_id("import-file").set_input_files(
        {"name": "bins.csv", "mimeType": "text/csv", "buffer": body.encode()}
    )
    page.get_by_test_id("import-submit").click()

    result = page.get_by_test_id("import-result")
    expect(result.get_by_test_id("import-created")).to_have_attribute("data-created", "2")
    errors = result.get_by_test_id("import-row-error")
    expect(errors).to_have_count(1)
    expect(errors.first).to_have_attribute("data-row", "3")
    expect(errors.first).to_have_attribute("data-field", "lat")
    expect(errors.first).to_contain_text("lat must be a number")
    screenshot(page, "console-device-import")

    page.get_by_test_id("devices-tab-list").click()
    page.get_by_test_id("dev-filter-q").fill(f"e2e-{suffix}")
    page.get_by_test_id("dev-apply").click()
    expect(page.get_by_test_id("dev-row")).to_have_count(2)


def test_an_admin_acknowledges_and_clears_a_bin_alarm_that_filed_a_case(
    live_server: str, page: Page
) -> None:
    full = "rv-wb-07"
    send_ul(live_server, BIN_KEY, full, "f|97|t|14|bat|71")
    login(page, live_server, "admin", f"/alarms?device={full}")

    row = page.locator('[data-testid="alarm-row"][data-type="BIN_FULL"]')
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "ACTIVE_UNACK")
    expect(row.get_by_test_id("alarm-severity")).to_have_text("Minor")
    # The case is filed by a consumer after the alarm; the list picks it up on its own.
    expect(row.get_by_test_id("alarm-case")).to_contain_text("Case")
    screenshot(page, "console-alarms")

    row.get_by_test_id("alarm-ack").click()
    row.get_by_test_id("alarm-ack-confirm").click()
    expect(row).to_have_attribute("data-status", "ACTIVE_ACK")
    expect(row).to_contain_text("acknowledged by admin")

    row.get_by_test_id("alarm-clear").click()
    expect(row).to_contain_text("its rule raises a new one")
    row.get_by_test_id("alarm-clear-cancel").click()
    expect(row).to_have_attribute("data-status", "ACTIVE_ACK")
    row.get_by_test_id("alarm-clear").click()
    row.get_by_test_id("alarm-clear-confirm").click()
    # The list shows active alarms by default: the cleared one leaves it.
    expect(row).to_have_count(0)
    page.get_by_test_id("al-filter-condition").select_option("CLEARED")
    expect(row).to_have_attribute("data-status", "CLEARED_ACK")

    row.get_by_test_id("alarm-case").click()
    expect(page).to_have_url(re.compile(r"#/cases/\d+$"))


def test_a_dispatcher_handles_alarms_but_does_not_reach_the_device_registry(
    live_server: str, page: Page
) -> None:
    send_ul(live_server, BIN_KEY, "rv-wb-09", "f|98|t|15|bat|66")
    login(page, live_server, "dispatcher", "/alarms?device=rv-wb-09")
    expect(page.get_by_test_id("nav-alarms")).to_be_attached()
    expect(page.get_by_test_id("nav-devices")).to_have_count(0)
    expect(page.get_by_test_id("alarms-rules")).to_have_count(0)
    row = page.locator('[data-testid="alarm-row"][data-type="BIN_FULL"]')
    expect(row).to_have_count(1)
    # The device page is the admin's: the dispatcher sees the device's id, not a link.
    expect(row.locator("a[data-testid='alarm-device']")).to_have_count(0)
    expect(row.get_by_test_id("alarm-device")).to_have_text("rv-wb-09")
    row.get_by_test_id("alarm-ack").click()
    row.get_by_test_id("alarm-ack-confirm").click()
    expect(row).to_have_attribute("data-status", "ACTIVE_ACK")

    page.goto(f"{live_server}/console/#/devices")
    expect(page).not_to_have_url(re.compile(r"#/devices"))


def test_an_admin_writes_an_alarm_rule_and_reads_the_refused_field_beside_it(
    live_server: str, page: Page
) -> None:
    alarm_type = f"HOT_BIN_{uuid.uuid4().hex[:6].upper()}"
    login(page, live_server, "admin", "/alarm-rules")
    expect(page.get_by_test_id("rule-row").first).to_be_attached()  # the demo city's rules
    page.get_by_test_id("rule-new").click()
    page.get_by_test_id("rule-name").fill("Hot bin")
    page.get_by_test_id("rule-profile").select_option("wastebin-ul")
    page.get_by_test_id("rule-attribute").fill("temperature")
    page.get_by_test_id("rule-value").fill("60")
    page.get_by_test_id("rule-clear").fill("70")  # above a ">" trigger: it could never clear
    page.get_by_test_id("rule-type").fill(alarm_type)
    page.get_by_test_id("rule-severity").select_option("WARNING")
    page.get_by_test_id("rule-save").click()

    expect(page.get_by_test_id("rule-error-clear")).to_contain_text("clear must not be above")
    expect(page.get_by_test_id("rule-clear")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "console-alarm-rule-error")
    page.get_by_test_id("rule-clear").fill("50")
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-done")).to_contain_text("Hot bin")
    row = page.locator(f'[data-testid="rule-row"][data-type="{alarm_type}"]')
    expect(row).to_contain_text("temperature > 60")

    row.get_by_test_id("rule-edit").click()
    page.get_by_test_id("rule-value").fill("65")
    page.get_by_test_id("rule-save").click()
    expect(row).to_contain_text("temperature > 65")
    row.get_by_test_id("rule-delete").click()
    row.get_by_test_id("rule-delete-confirm").click()
    expect(row).to_have_count(0)


def test_a_busy_day_is_drawn_from_its_latest_readings_and_says_so(
    live_server: str, page: Page
) -> None:
    busy = "rv-wb-05"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    groups = [
        f"{(now - timedelta(minutes=k)).isoformat().replace('+00:00', 'Z')}|f|{20 + k % 30}"
        for k in range(1001, 0, -1)
    ]
    send_ul(live_server, BIN_KEY, busy, "#".join(groups))
    login(page, live_server, "admin", f"/devices/{busy}")
    page.get_by_test_id("device-measure").select_option("fillingLevel")
    expect(page.get_by_test_id("device-chart")).to_have_attribute("data-points", "1000")
    expect(page.get_by_test_id("device-chart-truncated")).to_contain_text("latest 1000 readings")
    page.get_by_test_id("device-period-7d").click()
    expect(page.get_by_test_id("device-chart-truncated")).to_have_count(0)


def test_an_admin_registers_a_device_from_the_form_then_deletes_it(
    live_server: str, page: Page
) -> None:
    device = f"e2e-form-{uuid.uuid4().hex[:6]}"
    login(page, live_server, "admin", "/devices/new")
    page.get_by_test_id("nd-device-id").fill(device)
    page.get_by_test_id("nd-name").fill("Gauge by the bridge")
    page.get_by_test_id("nd-lat").fill("95")
    page.get_by_test_id("nd-lon").fill("120.16")
    page.get_by_test_id("nd-submit").click()
    expect(page.get_by_test_id("nd-error-lat")).to_contain_text("lat must lie within")
    expect(page.get_by_test_id("nd-lat")).to_have_attribute("aria-invalid", "true")

    # A click on the map sets both coordinates.
    expect(page.locator('[data-testid="nd-map"] .citymap-label').first).to_be_attached()
    page.get_by_test_id("nd-map").click()
    expect(page.get_by_test_id("nd-lat")).not_to_have_value("95")
    page.get_by_test_id("nd-submit").click()

    expect(page.get_by_test_id("device-title")).to_have_text(device)
    expect(page.get_by_test_id("device-state")).to_have_text("Never seen")
    expect(page.get_by_test_id("device-no-readings")).to_be_visible()
    page.get_by_test_id("device-delete").click()
    page.get_by_test_id("device-delete-confirm").click()
    expect(page.get_by_test_id("dev-deleted")).to_contain_text(device)
    expect(page.locator(f'[data-testid="dev-row"][data-id="{device}"]')).to_have_count(0)
    with staff(live_server, "admin") as client:
        assert client.get(f"/api/v1/perception/devices/{device}").status_code == 404
