"""Account administration in a real browser: an admin creates a handler with a temporary
password, the handler signs in with it and is made to choose a new one before anything else,
and the audit screen finds the creation by its actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import login

TIMEOUT_MS = 15_000
TEMPORARY = "first-day-2026"
CHOSEN = "my-own-pass-2026"


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    """Console pages in fresh browser contexts (each with its own localStorage)."""
    contexts = []

    def opener() -> Page:
        context = browser.new_context(
            locale="en-US", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


def test_an_admin_creates_a_handler_who_must_change_the_temporary_password(
    live_server: str, open_page: Any
) -> None:
    admin = open_page()
    login(admin, live_server, "admin", "/users")
    admin.get_by_test_id("user-new").click()
    admin.get_by_test_id("u-username").fill("handler-newcomer")
    admin.get_by_test_id("u-display").fill("Newcomer")
    admin.get_by_test_id("u-role").select_option("handler")
    admin.get_by_test_id("u-department").select_option("roads")
    admin.get_by_test_id("u-district").select_option("RV01")
    admin.get_by_test_id("u-pw-set").check()
    # A password that breaks the policy is refused with its rule, and nothing is created.
    admin.get_by_test_id("u-password").fill("short")
    admin.get_by_test_id("u-submit").click()
    expect(admin.get_by_test_id("user-form-error")).to_contain_text("at least 10 characters")
    admin.get_by_test_id("u-password").fill(TEMPORARY)
    admin.get_by_test_id("u-submit").click()
    expect(admin.get_by_test_id("user-created")).to_have_attribute(
        "data-username", "handler-newcomer"
    )
    admin.get_by_test_id("uf-q").fill("newcomer")
    admin.get_by_test_id("uf-apply").click()
    expect(admin.get_by_test_id("user-row")).to_have_count(1)

    # The handler signs in with the temporary password and lands on the account screen; every
    # other screen sends them back there until the password is changed.
    handler = open_page()
    handler.goto(f"{live_server}/console/#/login")
    handler.get_by_test_id("login-username").fill("handler-newcomer")
    handler.get_by_test_id("login-password").fill(TEMPORARY)
    handler.get_by_test_id("login-submit").click()
    expect(handler.get_by_test_id("account-pending")).to_have_attribute(
        "data-pending", "password-change"
    )
    handler.goto(f"{live_server}/console/#/queue")
    expect(handler.get_by_test_id("account-pending")).to_be_visible()
    expect(handler.get_by_test_id("nav-queue")).to_have_count(0)
    handler.get_by_test_id("pw-old").fill(TEMPORARY)
    handler.get_by_test_id("pw-new").fill(CHOSEN)
    handler.get_by_test_id("pw-again").fill(CHOSEN)
    handler.get_by_test_id("pw-submit").click()
    # Done: on to the handler's own start, with the navigation back.
    expect(handler.get_by_test_id("nav-queue")).to_be_visible()
    expect(handler).to_have_url(f"{live_server}/console/#/queue")

    # The audit screen finds the creation by its actor.
    admin.goto(f"{live_server}/console/#/audit")
    admin.get_by_test_id("audit-actor").fill("admin")
    admin.get_by_test_id("audit-action").fill("user.*")
    admin.get_by_test_id("audit-apply").click()
    created = admin.locator(
        '[data-testid="audit-row"][data-action="user.create"][data-target="user:handler-newcomer"]'
    )
    expect(created).to_have_count(1)
    expect(created).to_have_attribute("data-actor", "admin")
    # And the handler's own change is there under the handler's name.
    admin.get_by_test_id("audit-actor").fill("handler-newcomer")
    admin.get_by_test_id("audit-action").fill("")
    admin.get_by_test_id("audit-apply").click()
    expect(
        admin.locator('[data-testid="audit-row"][data-action="user.password_change"]')
    ).to_have_count(1)
