"""What the browser tests share: phone-sized contexts, photos a camera or a field worker takes,
staff clients for the steps that go through the API, the console's sign-in, and the screens'
common steps (choosing a category, a worker resolving with a proof photo, a citizen seeing the
fix)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, expect

from tests.support.servers import staff

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
PASSWORD = "demo"
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def screenshot(page: object, name: str) -> Path:
    """Save a screenshot under test-output/ (docs/screenshots/ holds the curated copies)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
    return path


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------ photos


def camera_jpeg(
    size: tuple[int, int] = (2400, 1800),
    color: tuple[int, int, int] = (110, 120, 135),
    gps: tuple[float, float] | None = None,
) -> bytes:
    """A camera-sized JPEG, optionally with the EXIF GPS position a phone camera writes."""
    image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    if gps is None:
        image.save(buffer, "JPEG", quality=80)
    else:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: _dms(gps[0]), 3: "E", 4: _dms(gps[1])}
        image.save(buffer, "JPEG", quality=80, exif=exif.tobytes())
    return buffer.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def photo_file(name: str = "photo.jpg", **kw: Any) -> dict[str, Any]:
    """A camera photo as a file input takes it (``kw`` as for camera_jpeg)."""
    return {"name": name, "mimeType": "image/jpeg", "buffer": camera_jpeg(**kw)}


def proof_jpeg(colour: tuple[int, int, int] = (90, 120, 70)) -> bytes:
    """A field worker's proof photo: a new cover, drawn."""
    image = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 150, 550, 450), fill=(40, 40, 40), outline=(230, 230, 230), width=12)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


# ------------------------------------------------------------------ staff through the API


def registered_report(base: str, report: dict[str, Any]) -> dict[str, Any]:
    """File ``report`` through the API and have the dispatcher register its case (立案), which
    makes it public; returns the intake's answer."""
    answer = httpx.post(f"{base}/api/v1/reports", json=report, timeout=10).json()
    with staff(base, "dispatcher") as client:
        client.post(f"/api/v1/cases/{answer['case_id']}/actions", json={"action": "register"})
    return dict(answer)


# ------------------------------------------------------------------ screens


def login(page: Page, base: str, username: str, route: str = "") -> None:
    """Sign in to the staff console, then open ``route``."""
    page.goto(f"{base}/console/#/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_attached()
    if route:
        page.goto(f"{base}/console/#{route}")


def wait_live(page: Page) -> None:
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")


def choose_category(page: Page, search: str, code: str) -> None:
    page.get_by_test_id("category-search").fill(search)
    page.get_by_test_id(f"category-{code}").click()
    expect(page.get_by_test_id("category-selected")).to_have_attribute("data-code", code)


def wait_for_gps(page: Page) -> None:
    expect(page.get_by_test_id("location-status")).to_contain_text("GPS")
    expect(page.get_by_test_id("location-place")).not_to_be_empty()


def start_and_fill_the_fix(card: Locator, colour: tuple[int, int, int], note: str) -> None:
    """On a field worker's work card: start the case, then fill in its resolution with a proof
    photo and ``note``, ready to submit."""
    card.get_by_test_id("action-start").click()
    card.get_by_test_id("action-submit").click()
    expect(card).to_have_attribute("data-status", "in_progress")
    card.get_by_test_id("action-resolve").click()
    card.get_by_test_id("action-attachments").set_input_files(
        {"name": "proof.jpg", "mimeType": "image/jpeg", "buffer": proof_jpeg(colour)}
    )
    expect(card.get_by_test_id("action-photos").locator("li")).to_have_count(1)
    card.get_by_test_id("action-note").fill(note)


def open_the_fixed_report(page: Page, case_id: int) -> None:
    """In the citizen app: open "My reports", find the case closed, and see it fixed with the
    proof photo."""
    page.get_by_test_id("nav-reports").click()
    card = page.locator(f'[data-testid="report-card"][data-case-id="{case_id}"]')
    expect(card).to_have_attribute("data-status", "closed")
    card.click()
    expect(page.get_by_test_id("case-outcome")).to_contain_text("Fixed")
    expect(page.get_by_test_id("photos-after").locator("img")).to_have_count(1)
