"""The staff console in a real browser: live queue, field work on a phone, verification, scoping,
bulk dispatch, hotline intake, disputes and the separation of internal and public notes.

Cases are created through the API with httpx; each test uses its own categories or points so the
server's duplicate detection never joins one test's report to another's case."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.support.browser import login, screenshot, start_and_fill_the_fix, wait_live
from tests.support.browser import proof_jpeg as jpeg
from tests.support.servers import staff
from tests.support.waiting import wait_until

_points = itertools.count(1)


def next_point() -> tuple[float, float]:
    """A fresh point in Old Town, more than 100 m from every other one this module uses."""
    k = next(_points)
    return round(30.2466 + (k % 8) * 0.0012, 6), round(120.1406 - (k // 8) * 0.0015, 6)


def file_report(
    base: str,
    category: str,
    attributes: dict[str, Any] | None = None,
    description: str = "",
    media: list[str] | None = None,
) -> dict[str, Any]:
    lat, lon = next_point()
    answer = httpx.post(
        f"{base}/api/v1/reports",
        json={
            "category": category,
            "lat": lat,
            "lon": lon,
            "description": description,
            "attributes": attributes or {},
            "media": media or [],
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert not body["joined_existing"], body
    return dict(body)


def act(client: httpx.Client, case_id: int, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/api/v1/cases/{case_id}/actions", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def upload(client: httpx.Client, colour: tuple[int, int, int] = (60, 160, 80)) -> str:
    answer = client.post("/api/v1/media", files={"file": ("proof.jpg", jpeg(colour), "image/jpeg")})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


# ---------------------------------------------------------------------------------------------


def test_new_report_appears_in_the_handlers_queue_without_a_reload(
    live_server: str, open_page: Any
) -> None:
    page = open_page()
    login(page, live_server, "handler-facilities", "/queue")
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    # The first answer is the queue's baseline (nothing in it is "new"): wait for it before
    # filing, or on a slow machine the new case lands in the baseline and is never announced.
    expect(page.get_by_test_id("queue-updated")).to_be_visible()
    wait_live(page)
    page.evaluate("window.__noReload = 'still the same page'")

    case = file_report(
        live_server, "C-01-01", {"cover_state": "missing"}, "Manhole cover missing outside no. 12"
    )
    case_id = case["case_id"]
    assert case["status"] == "dispatched"  # urgent category: auto-dispatched to facilities

    row = page.get_by_test_id(f"case-row-{case_id}")
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", "dispatched")
    expect(row.get_by_test_id("sla-countdown")).to_contain_text(re.compile(r"left"))
    expect(page.get_by_test_id("live-announcement")).to_contain_text(f"#{case_id}")
    assert page.evaluate("window.__noReload") == "still the same page"

    # The countdown ticks on its own.
    countdown = row.get_by_test_id("sla-countdown")
    before = countdown.inner_text()
    expect(countdown).not_to_have_text(before, timeout=10_000)
    screenshot(page, "console-queue")

    # The same queue on the map, drawn from the city's own polygons (no tiles configured).
    page.get_by_test_id("view-toggle-map").click()
    expect(page.get_by_test_id("case-map")).to_be_visible()
    expect(page.locator(".leaflet-overlay-pane path").first).to_be_attached()
    expect(page.get_by_test_id(f"map-case-{case_id}")).to_be_visible()
    assert page.locator(".leaflet-tile").count() == 0


def test_field_worker_resolves_with_a_proof_photo_and_the_supervisor_verifies(
    live_server: str, open_page: Any
) -> None:
    case = file_report(
        live_server, "C-01-01", {"cover_state": "broken"}, "Broken cover by the bus stop"
    )
    case_id = case["case_id"]

    worker = open_page(mobile=True)
    login(worker, live_server, "worker-facilities")
    expect(worker).to_have_url(re.compile(r"#/my-work"))
    card = worker.get_by_test_id(f"work-card-{case_id}")
    expect(card).to_be_visible()
    expect(card.get_by_test_id(f"navigate-{case_id}")).to_have_attribute(
        "href", re.compile(r"^geo:30\.\d+,120\.\d+$")
    )

    start_and_fill_the_fix(card, (30, 140, 60), "New cover fitted and locked")
    screenshot(worker, "console-my-work")
    card.get_by_test_id("action-submit").click()
    expect(card).to_have_attribute("data-status", "resolved")

    supervisor = open_page()
    login(supervisor, live_server, "supervisor", f"/cases/{case_id}")
    expect(supervisor.get_by_test_id("case-status")).to_have_attribute("data-status", "resolved")
    expect(supervisor.get_by_test_id("photos-after-photo")).to_have_count(1)
    supervisor.get_by_test_id("action-verify").click()
    supervisor.get_by_test_id("action-resolution").select_option("fixed")
    supervisor.get_by_test_id("action-note").fill("Checked on site: fixed")
    supervisor.get_by_test_id("action-submit").click()
    expect(supervisor.get_by_test_id("case-status")).to_have_attribute("data-status", "closed")
    expect(supervisor.get_by_test_id("case-resolution")).to_have_attribute(
        "data-resolution", "fixed"
    )
    expect(supervisor.get_by_test_id("action-verify")).to_have_count(0)
    expect(supervisor.get_by_test_id("action-comment")).to_be_visible()
    screenshot(supervisor, "console-case")

    with staff(live_server, "dispatcher") as client:
        body = client.get(f"/api/v1/cases/{case_id}").json()
    assert body["status"] == "closed" and body["resolution"] == "fixed"
    assert len(body["photos"]["after"]) == 1
    assert [e["action"] for e in body["timeline"]][-3:] == ["start", "resolve", "verify"]


def test_a_handler_cannot_see_another_departments_case(live_server: str, open_page: Any) -> None:
    water = file_report(
        live_server, "C-01-02", description="Water leak: for the water utility only"
    )
    case_id = water["case_id"]
    # Filed after the water case, so once its row is drawn the water case's would be too.
    own = file_report(
        live_server, "C-01-01", {"cover_state": "missing"}, "Manhole cover: for facilities"
    )
    with staff(live_server, "handler-facilities") as client:
        assert client.get(f"/api/v1/cases/{case_id}").status_code == 404

    page = open_page()
    login(page, live_server, "handler-facilities", "/queue?status=all")
    expect(page.get_by_test_id("queue-count")).to_be_visible()
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    expect(page.get_by_test_id(f"case-row-{own['case_id']}")).to_be_visible()
    expect(page.get_by_test_id(f"case-row-{case_id}")).to_have_count(0)
    expect(page.get_by_test_id("filter-department")).to_have_count(0)

    page.goto(f"{live_server}/console/#/cases/{case_id}")
    expect(page.get_by_test_id("case-not-found")).to_be_visible()
    expect(page.get_by_test_id("case-title")).to_have_count(0)

    # The water handler does see it.
    other = open_page()
    login(other, live_server, "handler-water", f"/cases/{case_id}")
    expect(other.get_by_test_id("case-title")).to_contain_text(f"#{case_id}")


def test_the_dispatcher_registers_and_bulk_dispatches_many_cases(
    live_server: str, open_page: Any
) -> None:
    # Other tests file potholes on the same server: this one's carry a word of their own.
    batch = f"Potholes-{uuid.uuid4().hex[:10]}"
    ids = [
        file_report(live_server, "C-02-01", {"size": "medium"}, f"{batch} number {n}")["case_id"]
        for n in range(3)
    ]
    page = open_page()
    login(page, live_server, "dispatcher", f"/queue?status=submitted&category=C-02-01&q={batch}")
    for case_id in ids:
        expect(page.get_by_test_id(f"case-row-{case_id}")).to_be_visible()
    expect(page.locator("[data-testid^='case-row-']")).to_have_count(3)

    page.get_by_test_id("bulk-select-all").check()
    expect(page.get_by_test_id("bulk-count")).to_contain_text("3")
    page.get_by_test_id("bulk-action").select_option("register")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("bulk-results")).to_have_attribute("data-succeeded", "3")

    page.goto(f"{live_server}/console/#/queue?status=registered&category=C-02-01")
    for case_id in ids:
        page.get_by_test_id(f"bulk-select-{case_id}").check()
    page.get_by_test_id("bulk-action").select_option("dispatch")
    page.get_by_test_id("bulk-department").select_option("roads")
    page.get_by_test_id("bulk-note").fill("Road crew, please")
    screenshot(page, "console-bulk")
    page.get_by_test_id("bulk-submit").click()
    results = page.get_by_test_id("bulk-results")
    expect(results).to_have_attribute("data-succeeded", "3")
    expect(results).to_have_attribute("data-failed", "0")
    for case_id in ids:
        expect(page.get_by_test_id(f"case-row-{case_id}")).to_have_count(0)  # no longer registered

    # A bulk action that is illegal for some cases reports each failure with the server's reason.
    page.goto(f"{live_server}/console/#/queue?status=dispatched&category=C-02-01")
    page.get_by_test_id(f"bulk-select-{ids[0]}").check()
    page.get_by_test_id("bulk-action").select_option("register")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("bulk-results")).to_have_attribute("data-failed", "1")
    expect(page.get_by_test_id(f"bulk-failure-{ids[0]}")).to_contain_text("dispatched")

    with staff(live_server, "dispatcher") as client:
        for case_id in ids:
            body = client.get(f"/api/v1/cases/{case_id}").json()
            assert body["status"] == "dispatched"
            assert body["department"]["code"] == "roads"
            assert body["resolution_due"]


def test_the_hotline_operator_files_a_callers_report_by_address(
    live_server: str, open_page: Any
) -> None:
    page = open_page()
    login(page, live_server, "hotline")
    expect(page).to_have_url(re.compile(r"#/report"))
    expect(page.get_by_test_id("nav-report")).to_be_visible()
    expect(page.get_by_test_id("nav-disputes")).to_have_count(0)

    page.get_by_test_id("hotline-category-search").fill("dumping")
    page.get_by_test_id("hotline-category").select_option("E-01-01")
    expect(page.get_by_test_id("hotline-category-help")).to_contain_text("dumping")
    page.get_by_test_id("hotline-description").fill("Builders' rubble dumped behind the market")
    page.get_by_test_id("hotline-contact-name").fill("Li Wei")
    page.get_by_test_id("hotline-contact-phone").fill("+86 138 0000 1234")
    page.get_by_test_id("hotline-contact-email").fill("li.wei@example.org")
    page.get_by_test_id("hotline-location-address").check()
    page.get_by_test_id("hotline-address").fill("Lotus Street")
    screenshot(page, "console-hotline")
    page.get_by_test_id("hotline-submit").click()

    result = page.get_by_test_id("hotline-result")
    expect(result).to_be_visible()
    case_id = int(result.get_attribute("data-case") or 0)
    assert case_id > 0

    with staff(live_server, "dispatcher") as client:
        body = client.get(f"/api/v1/cases/{case_id}").json()
    assert body["channel"] == "hotline"
    assert body["category"]["code"] == "E-01-01"
    assert body["street"]["name"] == "Lotus Street"
    # The case says the caller left contact details, not what they are.
    assert body["reports"][0]["contact_fields"] == ["contact_name", "phone", "email"]
    assert "138 0000" not in str(body)
    public = httpx.get(f"{live_server}/api/v1/public/cases/{case_id}").text
    assert "138 0000" not in public and "Li Wei" not in public

    page.get_by_test_id("hotline-result-case").click()
    expect(page.get_by_test_id("case-title")).to_contain_text(f"#{case_id}")
    expect(page.get_by_test_id("report-contact")).to_have_count(0)
    page.get_by_test_id("contact-purpose").select_option("callback")
    page.get_by_test_id("show-contact").click()
    expect(page.get_by_test_id("report-contact")).to_contain_text("Li Wei")
    expect(page.get_by_test_id("report-contact")).to_contain_text("+86 138 0000 1234")
    expect(page.get_by_test_id("report-contact-logged")).to_be_visible()
    with staff(live_server, "admin") as admin:
        trail = admin.get("/api/v1/audit", params={"target": f"case:{case_id}"}).json()
    opened = [a for a in trail if a["action"] == "case.contact_read"]
    assert [(a["actor"], a["detail"]["purpose"]) for a in opened] == [("hotline", "callback")]


def test_the_supervisor_upholds_a_disputed_close_with_a_reason(
    live_server: str, open_page: Any
) -> None:
    case = file_report(live_server, "C-01-01", {"cover_state": "displaced"}, "Cover pushed aside")
    case_id, tracking = case["case_id"], case["tracking_token"]
    with staff(live_server, "worker-facilities") as worker:
        act(worker, case_id, action="start")
        act(worker, case_id, action="resolve", note="Cover reseated", attachments=[upload(worker)])
    with staff(live_server, "supervisor") as supervisor:
        act(supervisor, case_id, action="verify", resolution="fixed")
    citizen_photo = httpx.post(
        f"{live_server}/api/v1/media",
        files={"file": ("still.jpg", jpeg((150, 60, 60)), "image/jpeg")},
    ).json()["id"]
    disputed = httpx.post(
        f"{live_server}/api/v1/public/cases/{case_id}/disputes",
        json={"note": "It still rocks when cars pass", "media": [citizen_photo], "token": tracking},
    )
    assert disputed.status_code == 201, disputed.text

    page = open_page()
    login(page, live_server, "supervisor", "/disputes")
    item = page.get_by_test_id(f"dispute-item-{case_id}")
    expect(item).to_be_visible()
    expect(item.get_by_test_id("dispute-note")).to_have_text("It still rocks when cars pass")
    expect(item.get_by_test_id("dispute-photos-photo")).to_have_count(1)
    expect(item.get_by_test_id("dispute-proof-photo")).to_have_count(1)
    expect(item.get_by_test_id("action-reopen")).to_be_visible()
    screenshot(page, "console-disputes")

    item.get_by_test_id("action-uphold").click()
    item.get_by_test_id("action-submit").click()
    expect(item.get_by_test_id("action-error")).to_contain_text("note")  # a reason is required
    item.get_by_test_id("action-note").fill("Inspected again: the cover is seated and safe")
    item.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id(f"dispute-item-{case_id}")).to_have_count(0)

    with staff(live_server, "supervisor") as client:
        body = client.get(f"/api/v1/cases/{case_id}").json()
    assert body["status"] == "closed" and not body["dispute_open"]
    assert body["disputes"][0]["outcome"] == "upheld"
    assert body["disputes"][0]["answer_note"] == "Inspected again: the cover is seated and safe"


def test_internal_and_public_notes_are_kept_visibly_apart(live_server: str, open_page: Any) -> None:
    graffiti = file_report(live_server, "E-02-01", description="Graffiti on the underpass")
    case_id = graffiti["case_id"]
    page = open_page()
    login(page, live_server, "dispatcher", f"/cases/{case_id}")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "submitted")

    page.get_by_test_id("action-comment").click()
    page.get_by_test_id("action-note").fill("Internal: the owner is a repeat offender")
    page.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("action-success")).to_be_visible()

    page.get_by_test_id("action-comment").click()
    page.get_by_test_id("action-note").fill("Public: cleaning is being arranged")
    expect(page.get_by_test_id("action-form")).to_contain_text("Internal note: staff only")
    page.get_by_test_id("action-public").check()
    expect(page.get_by_test_id("action-form")).to_contain_text("Citizens will see this note")
    page.get_by_test_id("action-submit").click()

    notes = page.get_by_test_id("timeline-note")
    internal = notes.filter(has_text="repeat offender")
    public = notes.filter(has_text="cleaning is being arranged")
    expect(internal).to_have_attribute("data-public", "false")
    expect(public).to_have_attribute("data-public", "true")
    expect(internal).to_contain_text("Internal note")
    expect(public).to_contain_text("Public note")
    assert internal.evaluate("e => getComputedStyle(e).backgroundImage") != public.evaluate(
        "e => getComputedStyle(e).backgroundImage"
    )
    entries = page.get_by_test_id("timeline-entry")
    expect(entries.filter(has_text="repeat offender")).to_have_attribute("data-public", "false")
    expect(entries.filter(has_text="cleaning is being arranged")).to_have_attribute(
        "data-public", "true"
    )

    page.get_by_test_id("timeline-filter-public").click()
    expect(entries.filter(has_text="repeat offender")).to_have_count(0)
    expect(entries.filter(has_text="cleaning is being arranged")).to_have_count(1)
    page.get_by_test_id("timeline-filter-internal").click()
    expect(entries.filter(has_text="repeat offender")).to_have_count(1)
    expect(entries.filter(has_text="cleaning is being arranged")).to_have_count(0)

    public_view = httpx.get(f"{live_server}/api/v1/public/cases/{case_id}").text
    assert "cleaning is being arranged" in public_view
    assert "repeat offender" not in public_view


def test_supervisors_see_the_kpi_panel(live_server: str, open_page: Any) -> None:
    file_report(live_server, "C-01-01", {"cover_state": "missing"}, "A case for the figures")
    page = open_page()
    login(page, live_server, "supervisor", "/kpis")
    expect(page.get_by_test_id("kpi-city-registered")).to_be_visible()
    expect(page.get_by_test_id("kpi-table")).to_be_visible()
    expect(page.get_by_test_id("kpi-chart-rates").locator("svg")).to_be_attached()
    expect(page.get_by_test_id("kpi-row-facilities")).to_be_visible()
    # Each figure carries the previous period's; a cut by district drills down to its streets.
    expect(page.get_by_test_id("kpi-previous-registered")).to_be_visible()
    # The services domain's applications have their own small section (issue 11).
    services = page.get_by_test_id("kpi-services")
    expect(services.get_by_test_id("kpi-city-services_on_time_rate")).to_be_visible()
    expect(services.get_by_test_id("kpi-city-services_satisfaction")).to_be_visible()
    expect(page.get_by_test_id("kpi-services-city-wide")).to_have_count(0)
    screenshot(page, "console-kpi")
    page.get_by_test_id("kpi-by").select_option("district")
    page.locator("[data-testid^='kpi-drill-']").first.click()
    expect(page.get_by_test_id("kpi-scope")).to_contain_text("RV0")
    # Applications carry no place: within a district the section says its figures are the city's.
    expect(page.get_by_test_id("kpi-services-city-wide")).to_be_visible()
    expect(page.locator("[data-testid^='kpi-row-RV0']").first).to_be_visible()
    page.get_by_test_id("kpi-drill-up").click()
    expect(page.get_by_test_id("kpi-drill-up")).to_have_count(0)

    # A field worker has no KPI screen: the route sends them to their work.
    worker = open_page(mobile=True)
    login(worker, live_server, "worker-roads", "/kpis")
    expect(worker).to_have_url(re.compile(r"#/my-work"))
    # The navigation is drawn (one list, all at once) before a missing entry means anything.
    expect(worker.get_by_test_id("nav-my-work")).to_be_attached()
    expect(worker.get_by_test_id("nav-kpis")).to_have_count(0)


def test_the_console_speaks_chinese_and_english(live_server: str, open_page: Any) -> None:
    page = open_page()
    login(page, live_server, "dispatcher", "/queue")
    expect(page.get_by_test_id("nav-queue")).to_contain_text("Case queue")
    # A long name in the header ends in "…" with the whole of it as the title, never cut off
    # mid-letter ("Command centre dispatc").
    user = page.get_by_test_id("current-user")
    expect(user).to_have_attribute("title", re.compile(r"^Command centre dispatcher\n"))
    name = page.get_by_test_id("nav-account")
    assert name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    page.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(page.get_by_test_id("nav-queue")).to_contain_text("案卷队列")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.reload()
    expect(page.get_by_test_id("nav-queue")).to_contain_text("案卷队列")  # remembered
    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.get_by_test_id("nav-queue")).to_contain_text("Case queue")


def test_a_case_filed_by_a_sensor_shows_its_device_alarm_and_latest_readings(
    live_server: str, open_page: Any
) -> None:
    # A demo manhole sensor's LoRaWAN uplink: tilt 70.0°, the cover-open bit set, battery 90 %.
    uplink = httpx.post(
        f"{live_server}/iot/d",
        params={"k": "riverton-manholes", "i": "rv-mh-05"},
        content=b"02bc015a",
        headers={"Content-Type": "text/plain"},
    )
    assert uplink.status_code == 200, uplink.text
    admin = staff(live_server, "admin")

    def alarm_case() -> int | None:
        found = admin.get(
            "/api/v1/perception/alarms", params={"originator": "rv-mh-05", "type": "MANHOLE_OPEN"}
        ).json()["items"]
        return found[0]["case_id"] if found else None

    # The outbox relay files the case in the background.
    case_id = wait_until(alarm_case, "the alarm becoming a case")
    page = open_page()
    login(page, live_server, "dispatcher", f"/cases/{case_id}")
    panel = page.get_by_test_id("case-sensor")
    expect(panel.get_by_test_id("sensor-device")).to_have_text("rv-mh-05")
    # Both demo rules fire on this uplink (open, and tilted past 20°); the case names the first.
    expect(panel.get_by_test_id("sensor-alarm")).to_have_text(re.compile(r"MANHOLE_(OPEN|TILTED)"))
    expect(panel.get_by_test_id("reading-open")).to_have_text("true")
    expect(panel.get_by_test_id("reading-tilt")).to_have_text("70")
    panel.scroll_into_view_if_needed()
    screenshot(page, "console-sensor-case")
