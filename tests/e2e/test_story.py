"""The whole loop in one browser story: a citizen reports a missing manhole cover on a phone, the
department sees it arrive, a field worker fixes it, the supervisor verifies, and the citizen sees
it closed and rates it."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, expect

from tests.support.browser import (
    PHONE,
    choose_category,
    login,
    open_the_fixed_report,
    photo_file,
    screenshot,
    start_and_fill_the_fix,
    unique,
    wait_for_gps,
    wait_live,
)
from tests.support.city import fresh_point

expect.set_options(timeout=20_000)


def test_a_manhole_report_goes_round_the_whole_loop(browser: Browser, live_server: str) -> None:
    desk: dict[str, Any] = {"viewport": {"width": 1440, "height": 900}, "locale": "en-US"}
    mobile_staff: dict[str, Any] = {**PHONE, "locale": "en-US"}
    at = fresh_point()
    citizen_context = browser.new_context(
        **PHONE,
        locale="en-US",
        base_url=live_server,
        geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 8},
    )
    citizen_context.grant_permissions(["geolocation"], origin=live_server)
    contexts = [citizen_context, browser.new_context(**desk), browser.new_context(**mobile_staff)]
    contexts.append(browser.new_context(**desk))
    try:
        citizen = citizen_context.new_page()
        handler = contexts[1].new_page()
        worker = contexts[2].new_page()
        supervisor = contexts[3].new_page()

        # The department's handler has the queue open before anything is reported.
        login(handler, live_server, "handler-facilities", "/queue")
        wait_live(handler)
        handler.evaluate("window.__sameDocument = true")

        # 1. The citizen files the manhole report with a photo and a map pin.
        citizen.goto("/app/")
        wait_for_gps(citizen)
        citizen.get_by_test_id("photo-input").set_input_files(files=[photo_file("cover.jpg")])
        expect(citizen.locator(".photo-thumb img")).to_have_count(1)
        citizen.get_by_test_id("report-map").click(position={"x": 200, "y": 90})
        expect(citizen.get_by_test_id("location-status")).to_contain_text("Pinned on the map")
        choose_category(citizen, "manhole", "C-01-01")
        citizen.get_by_test_id("attribute-cover_state-missing").check()
        citizen.get_by_test_id("description").fill(unique("Manhole cover missing"))
        citizen.get_by_test_id("submit-report").click()
        success = citizen.get_by_test_id("report-success")
        expect(success).to_be_visible()
        case_id = int(success.get_attribute("data-case-id") or 0)

        # 2. It appears in the handler's queue without a reload.
        row = handler.get_by_test_id(f"case-row-{case_id}")
        expect(row).to_be_visible()
        expect(row).to_have_attribute("data-status", "dispatched")
        assert handler.evaluate("window.__sameDocument") is True

        # 3. The field worker, on a phone, starts and resolves it with a proof photo.
        login(worker, live_server, "worker-facilities")
        expect(worker).to_have_url(re.compile(r"#/my-work"))
        card = worker.get_by_test_id(f"work-card-{case_id}")
        start_and_fill_the_fix(card, (40, 150, 70), "New cover fitted and locked")
        card.get_by_test_id("action-submit").click()
        expect(card).to_have_attribute("data-status", "resolved")

        # 4. The supervisor verifies it.
        login(supervisor, live_server, "supervisor", f"/cases/{case_id}")
        expect(supervisor.get_by_test_id("case-status")).to_have_attribute(
            "data-status", "resolved"
        )
        supervisor.get_by_test_id("action-verify").click()
        supervisor.get_by_test_id("action-resolution").select_option("fixed")
        supervisor.get_by_test_id("action-submit").click()
        expect(supervisor.get_by_test_id("case-status")).to_have_attribute("data-status", "closed")

        # The handler's open queue followed along by itself: the closed case has left it.
        expect(row).to_have_count(0)

        # 5. The citizen's timeline shows it closed, with the proof photo, and they rate it.
        open_the_fixed_report(citizen, case_id)
        expect(
            citizen.locator('[data-testid="timeline-entry"][data-action="resolve"]')
        ).to_contain_text("New cover fitted and locked")
        citizen.get_by_test_id("rating-star-5").check(force=True)
        citizen.get_by_test_id("rating-comment").fill("Fixed within the hour")
        citizen.get_by_test_id("rating-submit").click()
        expect(citizen.get_by_test_id("rating-done")).to_contain_text("5 of 5")
        screenshot(citizen, "story-citizen-rated")
    finally:
        for context in contexts:
            context.close()
