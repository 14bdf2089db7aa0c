"""Browser tests: a real server process with the built front ends, driven by Debian's Chromium
through Playwright (never Playwright's own browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import running, seed

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("CITYLOOP_E2E_DIST", ROOT / "frontend" / "dist"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo city served from a fresh data dir, with the built citizen app and console."""
    if not (DIST / "app" / "index.html").exists():
        pytest.skip("front ends are not built: run `make frontend`")
    data = tmp_path_factory.mktemp("e2e")
    seed(data)
    env = {
        "CITYLOOP_STATIC_DIR": str(DIST),
        "CITYLOOP_INTAKE_RATE_LIMIT": "0",
        "CITYLOOP_DEMO": "true",
    }
    with running("serve", data, env) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def screenshot(page: object, name: str) -> Path:
    """Save a screenshot under test-output/ (docs/screenshots/ holds the curated copies)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
    return path
