"""The console's services screens in a real browser: an application with two departments in
parallel is accepted, reviewed (one approval, one supplement request, a refused second request,
then approval), its fee recorded and its licence revoked; the admin edits a service in the
catalogue editor and sees version 2; the counter clerk raises a fresh citizen to real-name
level 3; and the review screen reads in Chinese.

The application, its service and the citizen are made through the API with httpx. The module has
a server of its own: its phone codes are read from its database (no text message leaves it), and
its catalogue edits never meet the other browser tests."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from cityloop.settings import Settings
from tests.support.browser import ROOT, login, screenshot
from tests.support.identity import fresh_id_number
from tests.support.servers import seeded_server, staff, token

TIMEOUT_MS = 15_000


def site_plan_pdf() -> bytes:
    """A one-page PDF with a drawing on it, as a scanner writes one."""
    page = Image.new("RGB", (600, 800), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((150, 250, 450, 450), outline=(20, 60, 140), width=8)
    draw.line((150, 250, 450, 450), fill=(20, 60, 140), width=4)
    out = io.BytesIO()
    page.save(out, "PDF")
    return out.getvalue()


def kiosk_service(code: str) -> dict[str, Any]:
    """A permit reviewed by planning and fire safety at once, with a fee and a licence."""
    return {
        "code": code,
        "name": "Kiosk permit",
        "name_zh": "报刊亭设置许可",
        "description": "A permit to put up a kiosk, reviewed by planning and fire safety.",
        "description_zh": "设置报刊亭的许可，由规划和消防部门并联审查。",
        "topics": ["business"],
        "audience": ["person"],
        "department": "urbanmgmt",
        "online_level": "full_online",
        "realname_level": 2,
        "time_limit_days": 10,
        "fee": {"amount_cents": 5000, "note": "", "note_zh": ""},
        "materials": [
            {
                "code": "site-plan", "name": "Site plan", "name_zh": "选址平面图",
                "types": ["pdf", "jpeg"], "max_bytes": 1_000_000,
            }
        ],
        "form": {
            "schema": {
                "type": "object",
                "properties": {
                    "spot": {"type": "string", "title": "Kiosk location", "x-title-zh": "设置地点"},
                    "size": {
                        "type": "string", "title": "Kiosk size", "x-title-zh": "亭体规格",
                        "oneOf": [
                            {"const": "small", "title": "Small (4 m²)",
                             "x-title-zh": "小型（4平方米）"},
                            {"const": "large", "title": "Large (8 m²)",
                             "x-title-zh": "大型（8平方米）"},
                        ],
                    },
                },
                "required": ["spot", "size"],
            },
            "ui_schema": {
                "type": "VerticalLayout",
                "elements": [
                    {"type": "Control", "scope": "#/properties/spot"},
                    {"type": "Control", "scope": "#/properties/size"},
                ],
            },
        },
        "workflow": [{"departments": ["planning", "fire"], "days": 5}],
        "supplements_per_step": 1,
        "licence": {
            "type": "kiosk-permit", "name": "Kiosk permit", "name_zh": "报刊亭设置许可证",
            "valid_days": 365,
            "claims": {
                "permit": "service.name", "holder_name": "applicant.name", "spot": "form.spot",
            },
        },
        "legal_basis": "Kiosk regulations, art. 3",
        "legal_basis_zh": "《报刊亭管理办法》第三条",
    }  # fmt: skip


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def submitted_application(base: str, service: str) -> dict[str, Any]:
    """The demo citizen's application for ``service``: filled in, with its site plan."""
    with staff(base, "citizen") as citizen:
        application = ok(citizen.post("/api/v1/applications", json={"service": service}), 201)
        number = application["id"]
        form = {"spot": "North gate of Riverside Park", "size": "small"}
        ok(citizen.put(f"/api/v1/applications/{number}/form", json={"form": form}))
        ok(
            citizen.post(
                f"/api/v1/applications/{number}/materials",
                data={"material": "site-plan"},
                files={"file": ("plan.pdf", site_plan_pdf(), "application/pdf")},
            ),
            201,
        )
        return dict(ok(citizen.post(f"/api/v1/applications/{number}/submit")))


PERSON_PASSWORD = "counter-pass-1"


def as_person(base: str, username: str) -> httpx.Client:
    """An API client signed in as a citizen of this module's own."""
    signed = token(base, username, PERSON_PASSWORD)
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {signed}"}, timeout=10)


def phone_code(server_dir: Path, username: str) -> str:
    """The code in the newest text message the module's server queued for this account."""
    url = Settings(data_dir=server_dir).resolved_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            message = connection.execute(
                text(
                    "SELECT n.message FROM notifications n JOIN users u ON u.id = n.user_id "
                    "WHERE u.username = :name AND n.kind = 'identity.phone_code' "
                    "ORDER BY n.id DESC LIMIT 1"
                ),
                {"name": username},
            ).scalar_one()
    finally:
        engine.dispose()
    found = re.search(r"\b(\d{6})\b", message)
    assert found is not None, message
    return found.group(1)


def citizen_at_level_2(base: str, server_dir: Path) -> tuple[str, str]:
    """A fresh citizen who gave an identity number and verified a phone: (username, number)."""
    username = f"counter-{uuid.uuid4().hex[:8]}"
    account = {"username": username, "password": PERSON_PASSWORD}
    ok(httpx.post(f"{base}/api/v1/citizens", json=account), 201)
    number = fresh_id_number()
    with as_person(base, username) as client:
        given = {"legal_name": "柜台 测试", "id_number": number}
        ok(client.post("/api/v1/me/identity", json=given))
        ok(client.post("/api/v1/me/identity/phone-code", json={"phone": "13900139000"}), 202)
        code = phone_code(server_dir, username)
        assert ok(client.post("/api/v1/me/identity/phone", json={"code": code}))["level"] == 2
    return username, number


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-services-console")


@pytest.fixture(scope="module")
def live_server(server_dir: Path) -> Iterator[str]:
    """This module's own server: the demo city with the built front ends."""
    dist = Path(os.environ.get("CITYLOOP_E2E_DIST", ROOT / "frontend" / "dist"))
    if not (dist / "console" / "index.html").exists():
        pytest.skip("front ends are not built: run `make frontend`")
    env = {"CITYLOOP_STATIC_DIR": str(dist), "CITYLOOP_DEMO": "true"}
    with seeded_server(server_dir, env) as base:
        yield base


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    """Console pages in fresh desktop contexts (each its own sign-in), English unless told."""
    contexts = []

    def opener(locale: str = "en-US") -> Page:
        context = browser.new_context(
            locale=locale, timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def service(live_server: str) -> str:
    code = f"kiosk-{uuid.uuid4().hex[:8]}"
    with staff(live_server, "admin") as admin:
        ok(admin.put(f"/api/v1/services/{code}", json=kiosk_service(code)))
    return code


def open_application(page: Page, base: str, who: str, application_id: int, kind: str) -> None:
    """Sign in as ``who``, find the application in the department's queue as ``kind``, open it."""
    login(page, base, who, "/applications")
    row = page.locator(f'[data-testid="svc-queue-row"][data-application="{application_id}"]')
    expect(row).to_have_attribute("data-kind", kind)
    row.get_by_test_id(f"svc-open-{application_id}").click()
    expect(page.get_by_test_id("svc-title")).to_be_visible()


def step(page: Page, department: str) -> Any:
    return page.locator(f'[data-testid="svc-step"][data-department="{department}"]')


def decide(page: Page, department: str, decision: str, **fields: str) -> None:
    page.get_by_test_id(f"svc-step-actions-{department}").get_by_test_id(
        f"svc-do-{decision}"
    ).click()
    for name, value in fields.items():
        page.get_by_test_id(f"svc-{name}").fill(value)
    page.get_by_test_id("svc-action-submit").click()


# ---------------------------------------------------------------------------------------------


def test_two_departments_review_in_parallel_with_a_supplement_then_fee_and_revocation(
    live_server: str, open_page: Any, service: str
) -> None:
    application = submitted_application(live_server, service)
    number = application["id"]

    # The responsible department accepts it from its queue, the form beside the site plan.
    page = open_page()
    open_application(page, live_server, "handler-urbanmgmt", number, "accept")
    expect(page.get_by_test_id("svc-status")).to_have_attribute("data-status", "submitted")
    form = page.get_by_test_id("svc-form")
    # In the order the applicant saw the fields (the UI schema's), under their titles.
    expect(form.locator("dt").first).to_have_text("Kiosk location")
    expect(form.locator("dt").nth(1)).to_have_text("Kiosk size")
    expect(page.get_by_test_id("svc-field-spot")).to_have_text("North gate of Riverside Park")
    expect(page.get_by_test_id("svc-field-size")).to_have_text("Small (4 m²)")
    expect(page.get_by_test_id("svc-document-pdf")).to_have_attribute("src", re.compile("^blob:"))
    expect(page.get_by_test_id("svc-document")).to_have_attribute(
        "data-content-type", "application/pdf"
    )
    expect(page.get_by_test_id("svc-step-actions-planning")).to_have_count(0)
    page.get_by_test_id("svc-do-accept").click()
    page.get_by_test_id("svc-action-submit").click()
    expect(page.get_by_test_id("svc-status")).to_have_attribute("data-status", "under_review")
    expect(step(page, "planning")).to_have_attribute("data-status", "active")
    expect(step(page, "fire")).to_have_attribute("data-status", "active")
    screenshot(page, "console-application-review")

    # Planning approves its step; fire's stays open.
    planning = open_page()
    open_application(planning, live_server, "handler-planning", number, "review")
    expect(planning.get_by_test_id("svc-step-actions-fire")).to_have_count(0)
    decide(planning, "planning", "approve", reason="The location fits the plan.")
    expect(step(planning, "planning")).to_have_attribute("data-status", "approved")
    expect(step(planning, "fire")).to_have_attribute("data-status", "active")
    expect(planning.get_by_test_id("svc-status")).to_have_attribute("data-status", "under_review")

    # Fire safety asks for a supplement: an empty list is refused as the server says, then sent.
    fire = open_page()
    open_application(fire, live_server, "handler-fire", number, "review")
    decide(fire, "fire", "request_supplement")
    expect(fire.get_by_test_id("svc-action-error")).to_contain_text("items")
    fire.get_by_test_id("svc-items").fill("Fire extinguisher certificate\nEscape route sketch")
    fire.get_by_test_id("svc-action-submit").click()
    expect(fire.get_by_test_id("svc-status")).to_have_attribute(
        "data-status", "supplement_requested"
    )
    expect(fire.get_by_test_id("svc-supplement-open")).to_contain_text("Escape route sketch")
    request = fire.locator('[data-testid="svc-timeline-entry"][data-action="request_supplement"]')
    expect(request).to_contain_text("Fire extinguisher certificate")

    # The applicant answers; a second request from the same step is refused with the 409's words.
    with staff(live_server, "citizen") as citizen:
        ok(
            citizen.post(
                f"/api/v1/applications/{number}/supplement",
                json={"form": {"spot": "North gate of Riverside Park", "size": "small"},
                      "note": "Certificate and sketch attached"},
            )
        )  # fmt: skip
    fire.reload()
    expect(fire.get_by_test_id("svc-status")).to_have_attribute("data-status", "under_review")
    expect(fire.get_by_test_id("svc-step-actions-fire")).to_contain_text("1 of 1 used")
    decide(fire, "fire", "request_supplement", items="Another drawing")
    expect(fire.get_by_test_id("svc-action-error")).to_contain_text("a supervisor may allow")
    fire.get_by_test_id("svc-action-cancel").click()

    # A supervisor allows fire safety one more request; it decides to approve instead.
    supervisor = open_page()
    login(supervisor, live_server, "supervisor", f"/applications/{number}")
    expect(supervisor.get_by_test_id("svc-step-actions-fire")).to_have_count(0)  # not its step
    fire_step = supervisor.locator('[data-testid="svc-step"][data-department="fire"]')
    expect(fire_step).to_contain_text("1 / 1")
    supervisor.get_by_test_id("svc-do-allow_supplement").filter(has_text=re.compile("Fire")).click()
    supervisor.get_by_test_id("svc-action-submit").click()
    expect(fire_step).to_contain_text("1 / 2")
    allowed = '[data-testid="svc-timeline-entry"][data-action="allow_supplement"]'
    expect(supervisor.locator(allowed)).to_have_attribute("data-public", "false")
    fire.reload()
    expect(fire.get_by_test_id("svc-step-actions-fire")).to_contain_text("1 of 2 used")
    decide(fire, "fire", "approve")
    expect(step(fire, "fire")).to_have_attribute("data-status", "approved")
    expect(fire.get_by_test_id("svc-status")).to_have_attribute("data-status", "approved")

    # The fee is paid at the counter: the licence is issued; the department then revokes it.
    page.reload()
    expect(page.get_by_test_id("svc-fee")).to_contain_text("not paid yet")
    page.get_by_test_id("svc-do-fee").click()
    page.get_by_test_id("svc-receipt").fill("R-2026-0042")
    page.get_by_test_id("svc-action-submit").click()
    expect(page.get_by_test_id("svc-status")).to_have_attribute("data-status", "issued")
    expect(page.get_by_test_id("svc-fee")).to_contain_text("R-2026-0042")
    page.get_by_test_id("svc-do-revoke").click()
    page.get_by_test_id("svc-reason").fill("The kiosk was never built.")
    page.get_by_test_id("svc-action-submit").click()
    revoked = page.locator('[data-testid="svc-timeline-entry"][data-action="revoke_licence"]')
    expect(revoked).to_contain_text("The kiosk was never built.")
    expect(page.get_by_test_id("svc-do-revoke")).to_have_count(0)
    entries = page.get_by_test_id("svc-timeline-entry")
    actions = {entries.nth(i).get_attribute("data-action") for i in range(entries.count())}
    assert {
        "submit", "accept", "step_started", "step_approve", "request_supplement",
        "answer_supplement", "approve", "record_fee", "issue", "revoke_licence",
    } <= actions, actions  # fmt: skip
    assert "step_deny" not in actions

    # The review screen in Chinese: the form's titles, statuses and navigation.
    chinese = open_page("zh-CN")
    login(chinese, live_server, "admin", f"/applications/{number}")
    expect(chinese.get_by_test_id("svc-status")).to_have_text("已发证")
    expect(chinese.get_by_test_id("svc-form")).to_contain_text("设置地点")
    expect(chinese.get_by_test_id("svc-field-size")).to_have_text("小型（4平方米）")
    expect(chinese.get_by_test_id("nav-applications")).to_have_text("办件审批")
    expect(step(chinese, "fire")).to_contain_text("已同意")
    screenshot(chinese, "console-application-review-zh")


def test_a_city_wide_queue_chooses_the_department_and_the_overdue_filter(
    live_server: str, open_page: Any, service: str
) -> None:
    application = submitted_application(live_server, service)
    page = open_page()
    login(page, live_server, "supervisor", "/applications")
    page.get_by_test_id("svc-queue-department").select_option("urbanmgmt")
    row = page.locator(f'[data-testid="svc-queue-row"][data-application="{application["id"]}"]')
    expect(row).to_have_attribute("data-kind", "accept")
    # Only overdue steps: an application waiting to be accepted is not one.
    page.get_by_test_id("svc-queue-overdue").check()
    expect(page).to_have_url(re.compile(r"overdue=1"))
    expect(row).to_have_count(0)
    page.get_by_test_id("svc-queue-overdue").uncheck()
    expect(row).to_have_count(1)
    # Another department's queue does not hold it.
    page.get_by_test_id("svc-queue-department").select_option("fire")
    expect(page).to_have_url(re.compile(r"department=fire"))
    expect(row).to_have_count(0)


def test_the_admin_edits_a_service_sees_the_problems_then_version_2(
    live_server: str, open_page: Any, service: str
) -> None:
    page = open_page()
    login(page, live_server, "admin", "/catalogue")
    page.get_by_test_id("catalogue-search").fill(service)
    page.get_by_test_id(f"catalogue-open-{service}").click()
    expect(page.get_by_test_id("editor-version")).to_have_attribute("data-version", "1")

    # A time limit of 0 is refused, and the problem shows under the field it names.
    page.get_by_test_id("editor-time_limit_days").fill("0")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("editor-problem-time_limit_days")).to_contain_text(
        "greater than or equal to 1"
    )
    # Broken JSON never reaches the server.
    json_text = page.get_by_test_id("editor-json").input_value()
    page.get_by_test_id("editor-json").fill(json_text + "}")
    page.get_by_test_id("editor-save").click()
    expect(page.locator('[data-testid="editor-problem"][data-field="json"]')).to_be_visible()
    page.get_by_test_id("editor-json").fill(json_text)

    page.get_by_test_id("editor-time_limit_days").fill("15")
    page.get_by_test_id("editor-note").fill("Fifteen working days from 2027")
    page.get_by_test_id("editor-save").click()
    expect(page.get_by_test_id("editor-saved")).to_contain_text("version 2")
    expect(page.get_by_test_id("editor-version")).to_have_attribute("data-version", "2")
    newest = page.get_by_test_id("editor-version-row").first
    expect(newest).to_have_attribute("data-version", "2")
    expect(newest).to_contain_text("Fifteen working days from 2027")
    expect(page.get_by_test_id("editor-time_limit_days")).to_have_value("15")
    screenshot(page, "console-service-editor")

    # Closed, it leaves the hall but stays in the admin's catalogue; then it opens again.
    page.get_by_test_id("editor-close").click()
    expect(page.get_by_test_id("editor-active")).to_have_attribute("data-active", "false")
    hall = ok(httpx.get(f"{live_server}/api/v1/services"))
    assert service not in [s["code"] for s in hall]
    page.get_by_test_id("editor-back").click()
    row = page.locator(f'[data-testid="catalogue-row"][data-code="{service}"]')
    expect(row).to_have_attribute("data-active", "false")
    row.get_by_test_id(f"catalogue-open-{service}").click()
    page.get_by_test_id("editor-open").click()
    expect(page.get_by_test_id("editor-active")).to_have_attribute("data-active", "true")
    guide = ok(httpx.get(f"{live_server}/api/v1/services/{service}"))
    assert (guide["version"], guide["time_limit_days"], guide["active"]) == (2, 15, True)


def test_the_counter_clerk_verifies_a_citizen_at_level_3(
    live_server: str, server_dir: Path, open_page: Any
) -> None:
    username, number = citizen_at_level_2(live_server, server_dir)
    page = open_page()
    login(page, live_server, "clerk")
    expect(page).to_have_url(re.compile(r"#/counter$"))
    expect(page.get_by_test_id("nav-counter")).to_be_visible()
    for other in ("nav-queue", "nav-applications", "nav-catalogue", "live-indicator"):
        expect(page.get_by_test_id(other)).to_have_count(0)

    page.get_by_test_id("counter-username").fill("no-such-person-here")
    page.get_by_test_id("counter-lookup-submit").click()
    expect(page.get_by_test_id("counter-lookup-error")).to_contain_text("no-such-person-here")

    page.get_by_test_id("counter-username").fill(username)
    page.get_by_test_id("counter-lookup-submit").click()
    person = page.get_by_test_id("counter-person")
    expect(person).to_have_attribute("data-level", "2")
    expect(page.get_by_test_id("counter-id-number")).to_have_text(number)

    # A document whose number differs is refused, in the server's words.
    wrong = fresh_id_number()
    page.get_by_test_id("counter-document").fill(wrong)
    page.get_by_test_id("counter-name").fill("Window 3")
    page.get_by_test_id("counter-verify-submit").click()
    expect(page.get_by_test_id("counter-verify-error")).to_contain_text("does not match")
    expect(person).to_have_attribute("data-level", "2")

    page.get_by_test_id("counter-document").fill(number)
    page.get_by_test_id("counter-verify-submit").click()
    expect(page.get_by_test_id("counter-verified")).to_contain_text("level 3")
    expect(person).to_have_attribute("data-level", "3")
    expect(page.get_by_test_id("counter-checked")).to_contain_text("Window 3")
    screenshot(page, "console-counter-check")

    # The person sees level 3 in their own identity.
    with as_person(live_server, username) as client:
        mine = ok(client.get("/api/v1/me/identity"))
    assert mine["level"] == 3 and mine["counter_verified_at"]
