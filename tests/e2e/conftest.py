"""Browser tests: a real server process with the built front ends, driven by Debian's Chromium
through Playwright (never Playwright's own browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.browser import ROOT
from tests.support.servers import seeded_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DIST = Path(os.environ.get("CITYLOOP_E2E_DIST", ROOT / "frontend" / "dist"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
    env = {
        "CITYLOOP_STATIC_DIR": str(DIST),
        "CITYLOOP_INTAKE_RATE_LIMIT": "0",
        "CITYLOOP_DEMO": "true",
    }
    with seeded_server(tmp_path_factory.mktemp("e2e"), env) as base:
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


# How long a browser test waits for a page to show what it expects.
TIMEOUT_MS = 15_000


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Open console pages in fresh browser contexts (each with its own localStorage), on a
    desktop or (``mobile``) a phone, in ``locale``; every context closes after the test."""
    contexts = []

    def opener(mobile: bool = False, locale: str = "en-US") -> Page:
        options: dict[str, Any] = {"locale": locale, "timezone_id": "Asia/Shanghai"}
        if mobile:
            options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        else:
            options.update(viewport={"width": 1440, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()
