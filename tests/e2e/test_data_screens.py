"""The data platform's screens in a real browser: anyone, signed out on a phone, finds an open
dataset in the app's open-data portal, sees its first rows and downloads it; a department
handler defines a table in the console's data catalogue, uploads a CSV with a bad row and reads
which cells are wrong, then uploads the fixed file and sees its rows.

The portal's dataset is defined and filled through the API (the console test covers those
screens); names are unique so the module shares the session's server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import PHONE, login, screenshot
from tests.support.servers import staff

expect.set_options(timeout=15_000)

BENCH_SCHEMA = {
    "fields": [
        {"name": "code", "type": "string", "constraints": {"required": True}},
        {"name": "park", "type": "string"},
        {"name": "seats", "type": "integer"},
    ]
}
BENCHES_CSV = b"code,park,seats\nB1,Riverside,4\nB2,Riverside,3\nB3,Old Mill,6\n"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def open_benches(base: str) -> tuple[str, str]:
    """An open dataset of the parks department with three rows; its name and a word of its title."""
    word = f"benches{uuid.uuid4().hex[:8]}"
    name = f"e2e-{word}"
    with staff(base, "handler-parks") as client:
        made = client.post(
            "/api/v1/data/datasets",
            json={
                "name": name,
                "title": f"Park {word}",
                "title_zh": f"公园长椅 {word}",
                "description": "Every bench in the city's parks.",
                "description_zh": "城市公园里的每一张长椅。",
                "keywords": ["parks", "benches"],
                "theme": "REGI",
                "frequency": "MONTHLY",
                "licence": "CC-BY-4.0",
                "sensitivity": "open",
                "table_schema": BENCH_SCHEMA,
            },
        )
        assert made.status_code == 201, made.text
        uploaded = client.post(
            f"/api/v1/data/datasets/{name}/uploads",
            files={"file": ("benches.csv", BENCHES_CSV, "text/csv")},
        )
        assert uploaded.status_code == 201, uploaded.text
    return name, word


def test_anyone_finds_an_open_dataset_previews_its_rows_and_downloads_it(
    live_server: str, page: Page
) -> None:
    name, word = open_benches(live_server)
    page.goto(f"{live_server}/app/#/")
    page.get_by_test_id("nav-open-data").click()
    page.get_by_test_id("od-search").fill(word)
    cards = page.get_by_test_id("od-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-name", name)
    expect(cards.first.get_by_test_id("od-updated")).to_contain_text("updated")
    cards.first.click()

    expect(page.get_by_test_id("od-title")).to_have_text(f"Park {word}")
    expect(page.get_by_test_id("od-licence")).to_contain_text("Creative Commons Attribution")
    expect(page.get_by_test_id("od-completeness")).to_have_text("100.0%")
    rows = page.get_by_test_id("od-preview-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("B2")
    csv = page.locator('[data-testid="od-download"][data-format="CSV"]')
    expect(csv).to_contain_text("CSV")
    screenshot(page, "open-data-dataset")

    href = csv.get_attribute("href") or ""
    assert href.startswith(f"/api/v1/data/datasets/{name}/distributions/")
    download = httpx.get(f"{live_server}{href}", timeout=10)
    assert download.status_code == 200
    assert b"B3" in download.content and b"Old Mill" in download.content
    expect(page.get_by_test_id("od-ckan")).to_have_attribute(
        "href", f"/api/3/action/package_show?id={name}"
    )


def test_a_handler_uploads_a_csv_with_a_bad_row_and_sees_which_cells_are_wrong(
    live_server: str, desk: Page
) -> None:
    name = f"e2e-trees-{uuid.uuid4().hex[:8]}"
    login(desk, live_server, "handler-parks", "/data")
    desk.get_by_test_id("dc-new").click()
    desk.get_by_test_id("dc-n-name").fill(name)
    desk.get_by_test_id("dc-n-title").fill("Street trees")
    desk.get_by_test_id("dc-n-title_zh").fill("行道树")
    desk.get_by_test_id("dc-field-name").first.fill("tree")
    desk.get_by_test_id("dc-add-field").click()
    desk.get_by_test_id("dc-field-name").nth(1).fill("height")
    desk.get_by_test_id("dc-field-type").nth(1).select_option("number")
    desk.get_by_test_id("dc-create").click()

    expect(desk.get_by_test_id("dc-title")).to_have_text("Street trees")
    bad = b"tree,height\nT1,4.5\n,tall\nT3,7\n"
    desk.get_by_test_id("dc-upload-file").set_input_files(
        {"name": "trees.csv", "mimeType": "text/csv", "buffer": bad}
    )
    desk.get_by_test_id("dc-upload-submit").click()

    result = desk.get_by_test_id("dc-upload-result")
    expect(result).to_have_attribute("data-status", "rejected")
    expect(result.get_by_test_id("dc-upload-rejected")).to_contain_text("Nothing was changed")
    errors = result.get_by_test_id("dc-row-error")
    expect(errors).to_have_count(2)
    expect(
        result.locator('[data-testid="dc-row-error"][data-row="3"][data-field="tree"]')
    ).to_be_visible()
    expect(
        result.locator('[data-testid="dc-row-error"][data-row="3"][data-field="height"]')
    ).to_be_visible()
    history = desk.get_by_test_id("dc-history-upload")
    expect(history.first).to_have_attribute("data-status", "rejected")
    expect(history.first.get_by_test_id("dc-row-error")).to_have_count(2)
    expect(desk.get_by_test_id("dc-preview-row")).to_have_count(0)
    screenshot(desk, "console-data-upload-rejected")

    desk.get_by_test_id("dc-upload-file").set_input_files(
        {"name": "trees.csv", "mimeType": "text/csv", "buffer": b"tree,height\nT1,4.5\nT2,6\n"}
    )
    desk.get_by_test_id("dc-upload-submit").click()
    expect(desk.get_by_test_id("dc-upload-result")).to_have_attribute("data-status", "accepted")
    expect(desk.get_by_test_id("dc-preview-row")).to_have_count(2)
    expect(desk.get_by_test_id("dc-history-upload")).to_have_count(2)

    desk.get_by_test_id("dc-back").click()
    row = desk.locator(f'[data-testid="dc-row"][data-name="{name}"]')
    expect(row).to_have_attribute("data-sensitivity", "open")
    expect(row.get_by_test_id("dc-completeness")).to_have_text("100.0%")
