"""The citizen app's services in a real browser, at phone width, in English and in Chinese: the
demo citizen finds the street-vending permit in the service hall, applies (prefill with consent,
the rest typed, a photo of the stall, one refused submit with its errors under the fields, then
the real one), the urban management handler accepts and approves through the API, the citizen
finds the licence in the wallet, picks what to disclose and shows the QR code, and a fresh page
with no sign-in opens the code's link and sees the licence valid with only the disclosed claims.
Also: a level-1 account told what level it needs and sent to the identity page, and a supplement
request answered in place, then the application withdrawn."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cityloop.demo.seed import DEMO_CITIZEN_ID_NUMBER, DEMO_CITIZEN_NAME
from tests.support.browser import PASSWORD, PHONE, photo_file, screenshot
from tests.support.servers import staff

expect.set_options(timeout=15_000)

# What each language's reader sees of the street-vending form and its facts.
TEXTS: dict[str, dict[str, str]] = {
    "en-US": {
        "search": "vending",
        "days": "5 working days",
        "online": "Fully online",
        "id_number": "Identity card number",
        "zone": "Vending zone",
        "goods": "What you will sell",
        "hours": "Trading hours",
        "required": "Please fill this in.",
        "issued": "Licence issued",
        "zone_value": "Wharf Square (Riverside)",
        "valid": "Valid",
    },
    "zh-CN": {
        "search": "摊点",
        "days": "5 个工作日",
        "online": "全程网办",
        "id_number": "居民身份证号码",
        "zone": "便民疏导点",
        "goods": "经营品类",
        "hours": "经营时段",
        "required": "请填写此项。",
        "issued": "已发证",
        "zone_value": "码头广场（滨江区）",
        "valid": "有效",
    },
}


@pytest.fixture
def contexts(browser: Browser, live_server: str) -> Iterator[Any]:
    """A factory of phone contexts in a language; closed after the test."""
    made: list[BrowserContext] = []

    def make(locale: str) -> BrowserContext:
        context = browser.new_context(**PHONE, locale=locale, base_url=live_server)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


STREET_VENDING_FORM = {
    "id_number": DEMO_CITIZEN_ID_NUMBER,
    "phone": "13800138000",
    "zone": "RV01-S02-drum-tower-night-market",
    "goods": "fruit-vegetables",
    "hours": "06:00-09:00",
}


def sign_in(page: Page, username: str = "citizen", password: str = PASSWORD) -> None:
    page.goto("/app/#/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"#/reports$"))


def approve_through_the_api(base: str, application_id: int) -> None:
    """The urban management handler accepts the application and approves its one step."""
    with staff(base, "handler-urbanmgmt") as client:
        accepted = client.post(f"/api/v1/staff/applications/{application_id}/accept")
        assert accepted.status_code == 200, accepted.text
        step = next(s for s in accepted.json()["steps"] if s["status"] == "active")
        approved = client.post(
            f"/api/v1/staff/applications/{application_id}/steps/{step['id']}/approve"
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "issued"


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_citizen_applies_for_a_street_vending_permit_and_a_stranger_verifies_its_qr_code(
    contexts: Any, live_server: str, locale: str
) -> None:
    text = TEXTS[locale]
    tag = "en" if locale == "en-US" else "zh"
    page = contexts(locale).new_page()
    sign_in(page)

    # The hall: search in the reader's language; the card shows the service's facts.
    page.get_by_test_id("nav-services").click()
    expect(page.get_by_test_id("service-card").first).to_be_visible()
    page.get_by_test_id("hall-search").fill(text["search"])
    card = page.locator('[data-testid="service-card"][data-code="street-vending"]')
    expect(card).to_be_visible()
    expect(page.get_by_test_id("service-card")).to_have_count(1)
    expect(card.get_by_test_id("service-time-limit")).to_have_text(text["days"])
    expect(card.get_by_test_id("service-online-level")).to_have_text(text["online"])
    screenshot(page, f"services-hall-{tag}")
    card.click()

    # The guide, then a draft.
    expect(page.get_by_test_id("guide-stage")).to_have_count(1)
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("apply-form")).to_be_visible()
    application_id = int(page.get_by_test_id("application").get_attribute("data-id") or 0)

    # Prefill needs consent; it fills the identity number and phone from the verified profile.
    expect(page.get_by_test_id("prefill-button")).to_be_disabled()
    page.get_by_test_id("prefill-consent").check()
    page.get_by_test_id("prefill-button").click()
    filled = page.get_by_test_id("prefilled-field")
    expect(filled).to_have_count(2)
    expect(page.locator('[data-testid="prefilled-field"][data-field="id_number"]')).to_contain_text(
        text["id_number"]
    )
    expect(page.get_by_label(text["id_number"])).to_have_value(DEMO_CITIZEN_ID_NUMBER)

    # Handed in too early: the server's errors appear under the fields and the material.
    page.get_by_test_id("submit-application").click()
    zone_control = page.locator(".jf-control").filter(has=page.get_by_label(text["zone"]))
    expect(zone_control.locator(".field-error")).to_have_text(text["required"])
    expect(page.get_by_test_id("material-error")).to_be_visible()
    expect(page.get_by_test_id("submit-error")).to_be_visible()

    # The rest of the form, autosaved; the photo of the stall.
    page.get_by_label(text["zone"]).select_option("RV02-S03-wharf-square")
    expect(zone_control.locator(".field-error")).to_have_count(0)
    page.get_by_label(text["goods"]).select_option("crafts")
    page.get_by_label(text["hours"]).select_option("17:00-22:00")
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    page.get_by_test_id("material-file-stall-photo").set_input_files(photo_file("stall.jpg"))
    expect(page.get_by_test_id("material-uploaded")).to_be_visible()
    expect(page.get_by_test_id("submit-error")).to_have_count(0)
    screenshot(page, f"services-apply-{tag}")

    # The draft resumes elsewhere: a second page sees what was saved.
    other = page.context.new_page()
    other.goto(f"/app/#/applications/{application_id}")
    expect(other.get_by_label(text["zone"])).to_have_value("RV02-S03-wharf-square")
    other.close()

    page.get_by_test_id("submit-application").click()
    expect(page.get_by_test_id("application")).to_have_attribute("data-status", "submitted")

    approve_through_the_api(live_server, application_id)
    page.reload()
    expect(page.get_by_test_id("application")).to_have_attribute("data-status", "issued")
    expect(page.get_by_test_id("application-status")).to_have_text(text["issued"])
    expect(page.get_by_test_id("application-step")).to_have_attribute("data-status", "approved")
    page.get_by_test_id("app-rating-star-5").check(force=True)
    page.get_by_test_id("app-rating-submit").click()
    expect(page.get_by_test_id("app-rating-done")).to_be_visible()

    # The wallet: the licence with named claims; show only the goods besides the basics.
    page.get_by_test_id("services-nav-wallet").click()
    licence = page.locator(f'[data-testid="licence"][data-application-id="{application_id}"]')
    expect(licence.get_by_test_id("licence-claims")).to_contain_text(text["zone_value"])
    licence.get_by_test_id("disclose-goods").check()
    expect(licence.get_by_test_id("disclose-id_number")).not_to_be_checked()
    licence.get_by_test_id("show-qr").click()
    expect(licence.get_by_test_id("qr-image")).to_be_visible()
    qr = licence.get_by_test_id("qr-text").input_value()
    assert "/app/verify#" in qr
    screenshot(page, f"services-wallet-{tag}")

    # Who read my data: the prefill's read is listed.
    page.goto("/app/#/data-access")
    expect(
        page.locator('[data-testid="access-entry"][data-purpose="prefill"]').first
    ).to_be_visible()

    # A stranger's phone, signed in to nothing, opens the code's link (on this test's server).
    stranger = contexts(locale).new_page()
    stranger.goto(f"{live_server}/app/verify#{qr.partition('#')[2]}")
    verdict = stranger.get_by_test_id("verdict")
    expect(verdict).to_have_attribute("data-valid", "true")
    expect(stranger.get_by_test_id("verdict-word")).to_have_text(text["valid"])
    claims = stranger.get_by_test_id("verdict-claim")
    shown = {claims.nth(i).get_attribute("data-claim") for i in range(claims.count())}
    assert "goods" in shown and "location" in shown and "holder_name" in shown
    assert "id_number" not in shown
    expect(stranger.get_by_test_id("verdict-claims")).to_contain_text(DEMO_CITIZEN_NAME)
    screenshot(stranger, f"services-verify-{tag}")


def test_a_new_account_is_told_which_real_name_level_it_needs_and_where_to_get_it(
    contexts: Any, live_server: str
) -> None:
    username = f"vendor{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{live_server}/api/v1/citizens",
        json={"username": username, "password": "long enough pw"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    page = contexts("en-US").new_page()
    sign_in(page, username, "long enough pw")
    page.goto("/app/#/services/street-vending")
    page.get_by_test_id("apply").click()
    page.get_by_test_id("submit-application").click()
    needed = page.get_by_test_id("realname-needed")
    expect(needed).to_contain_text("real-name level 2")
    needed.get_by_test_id("realname-link").click()
    expect(page.get_by_test_id("identity")).to_have_attribute("data-level", "1")
    expect(page.get_by_test_id("identity-number")).to_be_visible()


def test_a_supplement_request_is_answered_in_place_and_an_application_can_be_withdrawn(
    contexts: Any, live_server: str
) -> None:
    # Handed in through the API; the department asks for a better photo.
    with staff(live_server, "citizen") as citizen:
        number = citizen.post("/api/v1/applications", json={"service": "street-vending"}).json()[
            "id"
        ]
        citizen.put(f"/api/v1/applications/{number}/form", json={"form": STREET_VENDING_FORM})
        photo = photo_file("stall.jpg")
        citizen.post(
            f"/api/v1/applications/{number}/materials",
            data={"material": "stall-photo"},
            files={"file": (photo["name"], photo["buffer"], photo["mimeType"])},
        ).raise_for_status()
        citizen.post(f"/api/v1/applications/{number}/submit").raise_for_status()
    with staff(live_server, "handler-urbanmgmt") as handler:
        accepted = handler.post(f"/api/v1/staff/applications/{number}/accept").json()
        step = next(s for s in accepted["steps"] if s["status"] == "active")
        asked = handler.post(
            f"/api/v1/staff/applications/{number}/steps/{step['id']}/request_supplement",
            json={"items": ["a photo showing the whole cart"]},
        )
        assert asked.status_code == 200, asked.text

    page = contexts("zh-CN").new_page()
    sign_in(page)
    page.goto(f"/app/#/applications/{number}")
    supplement = page.get_by_test_id("supplement")
    expect(supplement.get_by_test_id("supplement-items")).to_have_text(
        "a photo showing the whole cart"
    )
    expect(page.get_by_test_id("application-deadline")).to_have_text(
        "补正期间暂停计时，请尽快提交所需材料。"
    )
    supplement.get_by_test_id("material-file-stall-photo").set_input_files(
        photo_file("cart.jpg", color=(150, 90, 60))
    )
    expect(supplement.get_by_test_id("material-uploaded")).to_contain_text("cart.jpg")
    supplement.get_by_test_id("supplement-note").fill("整辆推车的照片")
    supplement.get_by_test_id("supplement-send").click()
    expect(page.get_by_test_id("application")).to_have_attribute("data-status", "under_review")
    expect(page.get_by_test_id("supplement")).to_have_count(0)
    entries = page.get_by_test_id("application-timeline-entry")
    expect(entries.first).to_have_attribute("data-action", "answer_supplement")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("withdraw").click()
    expect(page.get_by_test_id("application")).to_have_attribute("data-status", "withdrawn")
    expect(page.get_by_test_id("application-status")).to_have_text("已撤回")
