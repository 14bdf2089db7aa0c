"""Crews and assignment in a real browser: a handler builds a crew and assigns a case to a field
worker, who signs in and finds it first in "my work", with a confirmation after each field
action; the hotline reads out a case number and a short code, which the citizen app tracks."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.support.browser import login
from tests.support.servers import staff

_points = itertools.count(1)


def next_point() -> tuple[float, float]:
    """A fresh point in Northgate, away from the points other browser tests use."""
    k = next(_points)
    return round(30.2620 + (k % 6) * 0.0013, 6), round(120.1620 + (k // 6) * 0.0016, 6)


def dispatched_pothole(base: str, description: str) -> int:
    """A pothole reported by a citizen, registered and dispatched to roads by the dispatcher."""
    lat, lon = next_point()
    answer = httpx.post(
        f"{base}/api/v1/reports",
        json={"category": "C-02-01", "lat": lat, "lon": lon, "description": description},
    )
    assert answer.status_code == 201, answer.text
    assert not answer.json()["joined_existing"], answer.text
    case_id = int(answer.json()["case_id"])
    with staff(base, "dispatcher") as client:
        for body in ({"action": "register"}, {"action": "dispatch", "department": "roads"}):
            done = client.post(f"/api/v1/cases/{case_id}/actions", json=body)
            assert done.status_code == 200, done.text
    return case_id


def test_a_handler_assigns_a_case_to_a_worker_who_sees_it_first_in_my_work(
    live_server: str, open_page: Any
) -> None:
    # Dispatched first, so due first: without the assignment it would lead the worker's list.
    earlier = dispatched_pothole(live_server, "Pothole by the school gate")
    assigned = dispatched_pothole(live_server, "Pothole at the bus stop")
    with staff(live_server, "handler-roads") as client:
        workers = client.get("/api/v1/departments/roads/workers").json()
    worker = next(w for w in workers if w["username"] == "worker-roads")

    handler = open_page()
    login(handler, live_server, "handler-roads", "/crews")
    handler.get_by_test_id("crew-new-name").fill("Pothole patrol")
    handler.get_by_test_id("crew-create-submit").click()
    expect(handler.get_by_test_id("crews-confirmation")).to_contain_text("Pothole patrol")
    crew = handler.locator('[data-name="Pothole patrol"]')
    crew.get_by_test_id("crew-add-member").select_option("worker-roads")
    crew.get_by_test_id("crew-add-submit").click()
    expect(crew.get_by_test_id("crew-member-worker-roads")).to_be_visible()
    expect(handler.get_by_test_id("workload")).to_be_visible()

    handler.goto(f"{live_server}/console/#/cases/{assigned}")
    expect(handler.get_by_test_id("case-assignee")).to_have_attribute("data-kind", "")
    handler.get_by_test_id("action-assign").click()
    handler.get_by_test_id("action-assignee").select_option(f"worker:{worker['id']}")
    handler.get_by_test_id("action-note").fill("Bring the cold patch")
    handler.get_by_test_id("action-submit").click()
    expect(handler.get_by_test_id("action-success")).to_contain_text(
        f"Case {assigned} assigned to {worker['display_name']}"
    )
    expect(handler.get_by_test_id("case-assignee")).to_have_attribute("data-kind", "worker")
    expect(handler.get_by_test_id("case-assignee")).to_contain_text(worker["display_name"])

    field = open_page(mobile=True)
    login(field, live_server, "worker-roads")
    expect(field).to_have_url(re.compile(r"#/my-work"))
    cards = field.locator('[data-testid^="work-card-"]')
    expect(cards.first).to_have_attribute("data-testid", f"work-card-{assigned}")
    expect(cards.first).to_have_attribute("data-group", "mine")
    expect(field.get_by_test_id(f"work-card-{earlier}")).to_have_attribute(
        "data-group", "department"
    )
    mine = field.get_by_test_id("work-group-mine")
    expect(mine).to_contain_text("Assigned to me")

    # A field action says what it did, at the top of the page, after the card has moved on.
    card = field.get_by_test_id(f"work-card-{assigned}")
    card.get_by_test_id("action-start").click()
    card.get_by_test_id("action-submit").click()
    expect(field.get_by_test_id("work-confirmation")).to_have_text(
        re.compile(f"Work started on case {assigned}")
    )
    expect(card).to_have_attribute("data-status", "in_progress")


def test_the_hotline_reads_out_a_case_number_and_code_the_citizen_app_tracks(
    live_server: str, open_page: Any
) -> None:
    page = open_page(locale="zh-CN")
    login(page, live_server, "hotline", "/report")
    page.get_by_test_id("hotline-category-search").fill("C-02-01")
    expect(page.get_by_test_id("hotline-category")).to_have_value("C-02-01")
    page.get_by_test_id("hotline-description").fill("路面坑洼")
    page.get_by_test_id("hotline-location-map").check()
    lat, lon = next_point()
    page.get_by_test_id("hotline-lat").fill(str(lat))
    page.get_by_test_id("hotline-lon").fill(str(lon))
    page.get_by_test_id("hotline-submit").click()
    read_out = page.get_by_test_id("hotline-short-code")
    expect(read_out).to_be_visible()
    code = read_out.get_attribute("data-code") or ""
    case_id = page.get_by_test_id("hotline-result").get_attribute("data-case")
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{6}", code), code
    expect(read_out).to_have_text(f"案卷 {case_id}，查询码 {code}")
    expect(page.get_by_test_id("hotline-result")).not_to_contain_text("tracking")

    citizen = open_page(mobile=True)
    citizen.goto(f"{live_server}/app/#/track")
    citizen.get_by_test_id("track-case").fill(str(case_id))
    citizen.get_by_test_id("track-code").fill("ZZZZZZ")
    citizen.get_by_test_id("track-code-submit").click()
    expect(citizen.get_by_test_id("track-error")).to_be_visible()
    citizen.get_by_test_id("track-code").fill(f"{code[:3].lower()} {code[3:]}")
    citizen.get_by_test_id("track-code-submit").click()
    expect(citizen.get_by_test_id("track-error")).to_have_count(0)
    expect(citizen.get_by_test_id("refresh-case")).to_be_visible()
