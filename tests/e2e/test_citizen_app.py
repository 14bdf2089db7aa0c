"""The citizen app (/app) in a real browser: a phone-sized Chromium with GPS, driven through the
same screens a resident uses. Staff steps (resolve, verify) go through the API; the staff
console has its own tests."""

from __future__ import annotations

import io
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Response,
    Route,
    expect,
)

from tests.support.browser import (
    PHONE,
    choose_category,
    open_the_fixed_report,
    photo_file,
    registered_report,
    screenshot,
    unique,
    wait_for_gps,
)
from tests.support.browser import camera_jpeg as jpeg
from tests.support.city import fresh_point
from tests.support.servers import staff

expect.set_options(timeout=15_000)

# ------------------------------------------------------------------ helpers


def outbox_items(page: Page) -> list[Any]:
    """What the app's IndexedDB outbox holds (queue.ts: database cityloop-citizen, store
    outbox): what any later wake-up would send."""
    return list(
        page.evaluate(
            """async () => {
                const db = await new Promise((ok, fail) => {
                    const open = indexedDB.open("cityloop-citizen");
                    open.onsuccess = () => ok(open.result);
                    open.onerror = () => fail(open.error);
                });
                try {
                    return await new Promise((ok, fail) => {
                        const all = db.transaction("outbox").objectStore("outbox").getAll();
                        all.onsuccess = () => ok(all.result.map((item) => item.id));
                        all.onerror = () => fail(all.error);
                    });
                } finally {
                    db.close();
                }
            }"""
        )
    )


def cases_matching(base: str, text: str) -> list[dict[str, Any]]:
    with staff(base, "dispatcher") as client:
        answer = client.get("/api/v1/cases", params={"q": text, "page_size": 50})
        answer.raise_for_status()
        return list(answer.json()["items"])


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Any]:
    """A factory of phone contexts: GPS at a point (or off), English unless told otherwise."""
    contexts: list[BrowserContext] = []

    def make(
        at: tuple[float, float] | None, locale: str = "en-US", gps: bool = True
    ) -> BrowserContext:
        options: dict[str, Any] = {**PHONE, "locale": locale, "base_url": live_server}
        if at is not None and gps:
            options["geolocation"] = {"latitude": at[0], "longitude": at[1], "accuracy": 8}
        context = browser.new_context(**options)
        if at is not None and gps:
            context.grant_permissions(["geolocation"], origin=live_server)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def open_app(context: BrowserContext, path: str = "") -> Page:
    page = context.new_page()
    page.goto(f"/app/{path}")
    expect(page.locator("#app .app-bar")).to_be_visible()
    return page


# Resolves once a service worker controls the page; fails after 15 s.
WAIT_FOR_SERVICE_WORKER = """() => new Promise((resolve, reject) => {
  if (navigator.serviceWorker.controller) return resolve(true);
  navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
  setTimeout(() => reject(new Error("no service worker took control")), 15000);
})"""


# ------------------------------------------------------------------ tests


def test_citizen_files_a_manhole_report_with_photo_and_map_pin_and_sees_it_dispatched(
    phone: Any, live_server: str
) -> None:
    at = fresh_point()
    page = open_app(phone(at))
    wait_for_gps(page)

    page.get_by_test_id("photo-input").set_input_files(files=[photo_file("manhole.jpg")])
    expect(page.locator(".photo-thumb img")).to_have_count(1)

    # The pin: a tap on the map moves it away from the GPS fix.
    page.get_by_test_id("report-map").click(position={"x": 260, "y": 70})
    expect(page.get_by_test_id("location-status")).to_contain_text("Pinned on the map")
    expect(page.get_by_test_id("location-place")).not_to_be_empty()

    choose_category(page, "manhole", "C-01-01")
    description = unique("Cover gone outside the bakery")
    page.get_by_test_id("description").fill(description)

    # The required attribute is enforced before anything is sent.
    page.get_by_test_id("submit-report").click()
    expect(page.get_by_test_id("attribute-cover_state")).to_contain_text("Please answer")
    assert cases_matching(live_server, description) == []

    page.get_by_test_id("attribute-cover_state-missing").check()
    expect(page.get_by_test_id("attribute-cover_state")).not_to_contain_text("Please answer")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "citizen-report")
    page.get_by_test_id("submit-report").click()

    success = page.get_by_test_id("report-success")
    expect(success).to_be_visible()
    case_id = int(success.get_attribute("data-case-id") or 0)
    screenshot(page, "citizen-report-sent")

    page.get_by_test_id("nav-reports").click()
    card = page.locator(f'[data-testid="report-card"][data-case-id="{case_id}"]')
    expect(card).to_have_attribute("data-status", "dispatched")
    expect(card.get_by_test_id("status-badge")).to_have_text("Dispatched")
    screenshot(page, "citizen-my-reports")

    card.click()
    expect(page.get_by_test_id("case-detail")).to_have_attribute("data-status", "dispatched")
    entries = page.get_by_test_id("timeline-entry")
    expect(entries.first).to_contain_text("Assigned to")
    expect(page.locator('[data-testid="timeline-entry"][data-action="submit"]')).to_have_count(1)
    expect(page.get_by_test_id("photos-before").locator("img")).to_have_count(1)
    expect(page.get_by_test_id("expected-at")).to_be_visible()
    expect(page.get_by_test_id("tracking-link")).to_have_value(re.compile(r"/app/#/track/.+"))
    screenshot(page, "citizen-track")

    # On a small phone each step's name stays whole and clear of its neighbours (it used to
    # break as "Assigne/d").
    page.set_viewport_size({"width": 360, "height": 740})
    boxes = page.locator(".progress-label").evaluate_all(
        "labels => labels.map(l => [l.getClientRects().length, l.getBoundingClientRect().left,"
        " l.getBoundingClientRect().right])"
    )
    assert len(boxes) == 6 and all(lines == 1 for lines, _, _ in boxes), boxes
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(boxes)), boxes
    page.set_viewport_size(PHONE["viewport"])

    # What the city received: the pinned point, the answer, one photo shrunk to ≤ 1600 px.
    with staff(live_server, "dispatcher") as client:
        case = client.get(f"/api/v1/cases/{case_id}").json()
        assert case["description"] == description
        assert case["category"]["code"] == "C-01-01"
        assert (case["lat"], case["lon"]) != at
        report = case["reports"][0]
        assert report["channel"] == "app"
        assert report["attributes"] == {"cover_state": "missing"}
        assert len(report["media"]) == 1
        stored = client.get(f"/api/v1/media/{report['media'][0]}")
        width, height = Image.open(io.BytesIO(stored.content)).size
        assert max(width, height) <= 1600


def test_the_pin_is_told_by_its_road_and_landmark_and_the_map_draws_them_in_chinese(
    phone: Any, live_server: str
) -> None:
    on_temple_road = (30.2622, 120.143)  # City Hall stands some 140 m to the south
    page = open_app(phone(on_temple_road))
    wait_for_gps(page)
    expect(page.get_by_test_id("location-address")).to_have_text("Temple Road, near City Hall")
    map_box = page.get_by_test_id("report-map")
    expect(map_box.locator(".citymap-road-label", has_text="Temple Road")).to_have_count(1)
    expect(map_box.locator(".citymap-landmark", has_text="City Hall")).to_have_count(1)
    screenshot(page, "citizen-report-address")

    chinese = open_app(phone(on_temple_road, locale="zh-CN"))
    wait_for_gps(chinese)
    expect(chinese.get_by_test_id("location-address")).to_have_text("文庙路，市政府附近")
    chinese_map = chinese.get_by_test_id("report-map")
    expect(chinese_map.locator(".citymap-road-label", has_text="文庙路")).to_have_count(1)


def test_offline_report_is_queued_and_sent_once_when_the_connection_returns(
    phone: Any, live_server: str
) -> None:
    at = fresh_point()
    context = phone(at)
    page = open_app(context)
    wait_for_gps(page)
    expect(page.get_by_test_id("category-C-01-05")).to_be_visible()
    # The service worker has cached the shell: the app even reloads with no network.
    # (Not wait_for_function: it evals a string in the page, which the app's CSP forbids.)
    page.evaluate(WAIT_FOR_SERVICE_WORKER)

    context.set_offline(True)
    page.reload()
    expect(page.get_by_test_id("offline-indicator")).to_be_visible()
    expect(page.get_by_test_id("category-C-01-05")).to_be_visible()

    page.get_by_test_id("photo-input").set_input_files(files=[photo_file("lamp.jpg")])
    expect(page.locator(".photo-thumb img")).to_have_count(1)
    choose_category(page, "streetlight", "C-01-05")
    description = unique("Lamp dark all night")
    page.get_by_test_id("description").fill(description)
    expect(page.get_by_test_id("location-status")).to_contain_text("GPS")
    page.get_by_test_id("submit-report").click()

    expect(page.get_by_test_id("report-queued")).to_be_visible()
    badge = page.get_by_test_id("queued-badge")
    expect(badge).to_have_text("Queued (1)")
    screenshot(page, "citizen-queued")
    page.get_by_test_id("nav-reports").click()
    expect(page.get_by_test_id("queued-item")).to_have_count(1)
    assert cases_matching(live_server, description) == []

    context.set_offline(False)
    expect(badge).to_be_hidden(timeout=30_000)
    expect(page.get_by_test_id("queued-item")).to_have_count(0)
    found = cases_matching(live_server, description)
    assert len(found) == 1, found
    card = page.locator(f'[data-testid="report-card"][data-case-id="{found[0]["id"]}"]')
    expect(card).to_be_visible()
    # Later wake-ups (app start, timers, Background Sync) find nothing left to send: the sent
    # report is gone from the phone's outbox itself, not merely from the screen.
    page.reload()
    expect(page.get_by_test_id("nav-report")).to_be_visible()
    assert outbox_items(page) == []
    assert len(cases_matching(live_server, description)) == 1


def test_a_report_whose_answer_is_lost_is_retried_with_the_same_key_and_makes_one_case(
    phone: Any, live_server: str
) -> None:
    page = open_app(phone(fresh_point()))
    wait_for_gps(page)
    keys: list[str] = []
    first_answer: dict[str, Any] = {}

    def lose_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            response = route.fetch()  # the server registers the case …
            first_answer.update(response.json())
            route.abort("connectionreset")  # … but the phone never hears back
        else:
            route.continue_()

    page.route("**/api/v1/reports", lose_first_answer)
    choose_category(page, "graffiti", "E-02-01")
    description = unique("Tags on the underpass")
    page.get_by_test_id("description").fill(description)
    page.get_by_test_id("submit-report").click()
    expect(page.get_by_test_id("report-queued")).to_be_visible()

    page.get_by_test_id("nav-reports").click()
    page.get_by_test_id("send-now").click()
    card = page.locator(f'[data-testid="report-card"][data-case-id="{first_answer["case_id"]}"]')
    expect(card).to_be_visible()
    expect(page.get_by_test_id("queued-item")).to_have_count(0)

    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    found = cases_matching(live_server, description)
    assert [c["id"] for c in found] == [first_answer["case_id"]]
    assert found[0]["supporters"] == 0


def test_duplicate_prompt_offers_me_too_for_a_nearby_open_case(
    phone: Any, live_server: str
) -> None:
    lat, lon = fresh_point()
    photo = httpx.post(
        f"{live_server}/api/v1/media",
        files={"file": ("p.jpg", jpeg((640, 480), (90, 80, 70)), "image/jpeg")},
    ).json()["id"]
    pothole = {
        "category": "C-02-01",
        "lat": lat,
        "lon": lon,
        "description": unique("Pothole by the crossing"),
        "media": [photo],
    }
    existing = registered_report(live_server, pothole)  # public once registered (立案)
    case_id = existing["case_id"]

    page = open_app(phone((lat + 0.0002, lon + 0.0002)))  # ~30 m away
    wait_for_gps(page)
    choose_category(page, "pothole", "C-02-01")
    duplicate = page.locator(f'[data-testid="duplicate-case"][data-case-id="{case_id}"]')
    expect(duplicate).to_be_visible()
    expect(duplicate.locator("img")).to_have_attribute("src", re.compile(r"/thumbnail$"))
    duplicate.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "citizen-duplicates")

    duplicate.get_by_test_id("me-too").click()
    result = page.get_by_test_id("report-result")
    expect(result).to_have_attribute("data-kind", "supported")
    expect(page.get_by_test_id("report-success")).to_have_attribute("data-case-id", str(case_id))

    public = httpx.get(f"{live_server}/api/v1/public/cases/{case_id}").json()
    assert public["supporters"] == 1
    # The supporter follows the case from "My reports" like a reporter.
    page.get_by_test_id("nav-reports").click()
    expect(page.locator(f'[data-testid="report-card"][data-case-id="{case_id}"]')).to_be_visible()


def test_language_switch_changes_strings_to_chinese(phone: Any) -> None:
    page = open_app(phone(fresh_point()))
    expect(page.get_by_test_id("nav-report")).to_have_text("Report")
    assert page.evaluate("document.documentElement.lang") == "en"

    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("nav-report")).to_have_text("上报")
    expect(page.locator("h1")).to_have_text("上报问题")
    expect(page.get_by_test_id("category-C-01-01")).to_contain_text("井盖缺失或损坏")
    expect(page.get_by_test_id("submit-report")).to_have_text("提交上报")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    choose_category(page, "井盖", "C-01-01")
    expect(page.get_by_test_id("attribute-cover_state")).to_contain_text("井盖是什么情况")
    # The question and its answers come in Chinese from the city's categories.yaml.
    expect(page.get_by_test_id("attribute-cover_state")).to_contain_text("缺失")
    screenshot(page, "citizen-report-zh")

    page.reload()  # the choice is remembered
    expect(page.get_by_test_id("nav-reports")).to_have_text("我的上报")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("nav-reports")).to_have_text("My reports")


def test_chinese_browser_gets_chinese_at_first_start(phone: Any) -> None:
    page = open_app(phone(fresh_point(), locale="zh-CN"))
    expect(page.get_by_test_id("nav-map")).to_have_text("城市地图")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"


def test_public_map_shows_cases_and_no_reporter_data(phone: Any, live_server: str) -> None:
    lat, lon = fresh_point()
    secret_name = unique("Reporter")
    secret_email = f"{uuid.uuid4().hex[:12]}@example.org"
    litter = {
        "category": "E-01-02",
        "lat": lat,
        "lon": lon,
        "description": unique("Litter along the river path"),
        "contact_name": secret_name,
        "contact_email": secret_email,
        "contact_phone": "+86 138 0000 1234",
    }
    answer = registered_report(live_server, litter)  # registered: shown on the public map
    case_id = answer["case_id"]

    page = open_app(phone(None))
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r) if "/api/v1/public/cases" in r.url else None)
    page.get_by_test_id("nav-map").click()
    expect(page.get_by_test_id("public-map")).to_be_visible()
    # At the city's zoom nearby pins are one numbered pin; the list brings the map to the case.
    page.locator("details.map-list summary").click()
    page.locator(f'[data-testid="map-list-case"][data-case-id="{case_id}"]').click()
    marker = page.locator(f'[data-testid="map-case"][data-case-id="{case_id}"]')
    expect(marker).to_have_count(1)
    marker.dispatch_event("click")
    card = page.get_by_test_id("map-case-card")
    expect(card).to_have_attribute("data-case-id", str(case_id))
    expect(card).to_contain_text("Litter")
    page.get_by_test_id("public-map").evaluate("el => el.scrollIntoView({block: 'start'})")
    screenshot(page, "citizen-map")

    card.get_by_test_id("map-case-details").click()
    expect(page.get_by_test_id("case-detail")).to_have_attribute("data-case-id", str(case_id))
    content = page.content()
    bodies = [r.text() for r in responses]
    for secret in (secret_name, secret_email, "138 0000 1234"):
        assert secret not in content
        assert all(secret not in body for body in bodies)
    assert bodies, "the map loaded its cases from the public endpoint"
    assert "contact" not in json.dumps(
        httpx.get(f"{live_server}/api/v1/public/cases/{case_id}").json()
    )


def test_location_comes_from_the_photo_when_gps_is_off(phone: Any) -> None:
    lat, lon = fresh_point()
    page = open_app(phone((lat, lon), gps=False))
    page.get_by_test_id("photo-input").set_input_files(
        files=[photo_file("with-gps.jpg", gps=(lat, lon))]
    )
    expect(page.get_by_test_id("location-status")).to_contain_text("from your photo")
    expect(page.get_by_test_id("location-place")).not_to_be_empty()
    expect(page.get_by_test_id("location-marker")).to_be_visible()


def test_signed_in_citizen_sees_the_fix_rates_it_and_says_it_is_still_not_fixed(
    phone: Any, live_server: str
) -> None:
    page = open_app(phone(fresh_point()))
    page.get_by_test_id("nav-account").click()
    page.get_by_test_id("login-username").fill("citizen")
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    page.get_by_test_id("login-password").fill("demo")
    screenshot(page, "citizen-login")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("nav-account")).to_have_text("Account")

    page.get_by_test_id("nav-report").click()
    wait_for_gps(page)
    expect(page.get_by_test_id("submit-as")).to_contain_text("Demo citizen")
    page.get_by_test_id("photo-input").set_input_files(files=[photo_file("tree.jpg")])
    choose_category(page, "fallen tree", "C-04-01")
    page.get_by_test_id("attribute-blocking-yes").check()
    description = unique("Tree across the cycle lane")
    page.get_by_test_id("description").fill(description)
    page.get_by_test_id("submit-report").click()
    success = page.get_by_test_id("report-success")
    expect(success).to_be_visible()
    case_id = int(success.get_attribute("data-case-id") or 0)

    # The city's side, through the API: register, dispatch, start, fix with a proof photo, verify.
    with staff(live_server, "dispatcher") as dispatcher:
        case = dispatcher.get(f"/api/v1/cases/{case_id}").json()
        if case["status"] == "submitted":
            dispatcher.post(f"/api/v1/cases/{case_id}/actions", json={"action": "register"})
            department = case["routing"].get("department") or "parks"
            dispatcher.post(
                f"/api/v1/cases/{case_id}/actions",
                json={"action": "dispatch", "department": department},
            ).raise_for_status()
        department = dispatcher.get(f"/api/v1/cases/{case_id}").json()["department"]["code"]
    with staff(live_server, f"worker-{department}") as worker:
        proof = worker.post(
            "/api/v1/media", files={"file": ("after.jpg", jpeg((800, 600)), "image/jpeg")}
        ).json()["id"]
        worker.post(f"/api/v1/cases/{case_id}/actions", json={"action": "start"}).raise_for_status()
        worker.post(
            f"/api/v1/cases/{case_id}/actions",
            json={"action": "resolve", "note": "Tree cut and removed", "attachments": [proof]},
        ).raise_for_status()
    with staff(live_server, "supervisor") as supervisor:
        supervisor.post(
            f"/api/v1/cases/{case_id}/actions", json={"action": "verify", "resolution": "fixed"}
        ).raise_for_status()

    open_the_fixed_report(page, case_id)
    expect(page.locator('[data-testid="timeline-entry"][data-action="verify"]')).to_contain_text(
        "Closed: fixed"
    )
    expect(page.locator('[data-testid="timeline-entry"][data-action="resolve"]')).to_contain_text(
        "Tree cut and removed"
    )
    screenshot(page, "citizen-closed")

    page.get_by_test_id("rating-star-4").check(force=True)
    page.get_by_test_id("rating-comment").fill("Quick work, thank you")
    page.get_by_test_id("rating-submit").click()
    expect(page.get_by_test_id("rating-done")).to_contain_text("4 of 5")

    page.get_by_test_id("dispute-button").click()
    page.get_by_test_id("dispute-note").fill("The stump still blocks half the lane")
    page.get_by_test_id("dispute-photo").set_input_files(files=[photo_file("stump.jpg")])
    expect(page.locator(".dispute .photo-thumb img")).to_have_count(1)
    page.get_by_test_id("dispute-submit").click()
    expect(page.get_by_test_id("dispute-open")).to_be_visible()

    with staff(live_server, "supervisor") as supervisor:
        case = supervisor.get(f"/api/v1/cases/{case_id}").json()
        assert [r["stars"] for r in case["ratings"]] == [4]
        assert case["dispute_open"] is True
        assert case["disputes"][0]["note"] == "The stump still blocks half the lane"
        assert len(case["disputes"][0]["media"]) == 1


def test_citizen_signs_up_and_signs_out(phone: Any) -> None:
    page = open_app(phone(fresh_point()), "#/login")
    page.get_by_test_id("tab-signup").click()
    username = f"resident{uuid.uuid4().hex[:8]}"
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill("short")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("8 characters")
    page.get_by_test_id("login-password").fill("a-long-password")
    page.get_by_test_id("signup-name").fill("Li Wei")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("nav-account")).to_have_text("Account")
    page.get_by_test_id("nav-account").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Li Wei")
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("nav-account")).to_have_text("Sign in")
