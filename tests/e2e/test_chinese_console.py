"""The console in Chinese reads Chinese: on its main screens no text a person reads (text,
placeholders, titles, accessible names) is in Latin script, except codes (category, service,
dataset and device codes, rule types), proper names that are codes themselves (usernames) and a
few words written in Latin in Chinese too (App, CSV, Open311, PM2.5)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, expect

from tests.support.browser import login
from tests.support.city import fresh_point
from tests.support.servers import staff

# Every piece of text a person can read on the page: visible text nodes, placeholders, titles
# and aria-labels (hidden elements, code blocks and the map's tile credits are left out).
READABLE = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest("noscript, script, style, code, [aria-hidden=true]")) continue;
    if (!el.getClientRects().length) continue;
    const text = walker.currentNode.textContent.trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
    for (const name of ["placeholder", "title", "aria-label"]) {
      const value = el.getAttribute(name);
      if (value) out.push(value);
    }
  }
  return out;
}"""
# Latin words allowed in Chinese text: codes and a few loanwords written in Latin in Chinese.
LOANWORDS = {"App", "CSV", "Open311", "PM2.5", "KPI", "API", "GPS", "JSON", "SLA"}
# A code: joined by - _ . : / (C-02-01, rv-gen-01), in capitals (MANHOLE_OPEN), or camelCase
# (batteryLevel). A lowercase word on its own is English, not a code.
CODE = re.compile(r"^[A-Za-z0-9]+([-_.:/][A-Za-z0-9]+)+$|^[A-Z0-9_]{2,}$|^[a-z]+[A-Z][a-zA-Z0-9]*$")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.\-_:/]*")


def english_in(texts: list[str], allowed: set[str], written: set[str] | None = None) -> list[str]:
    """The texts holding a Latin word that is neither a code, a loanword nor ``allowed``; texts
    people wrote themselves (``written``: case descriptions, dispute reasons) are theirs."""
    found = []
    for text in texts:
        if written and any(text in mine or mine in text for mine in written):
            continue
        for word in LATIN_WORD.findall(text):
            if word in LOANWORDS or word in allowed or CODE.match(word):
                continue
            found.append(text)
            break
    return found


def written_by_people(base: str) -> set[str]:
    """What reporters and citizens wrote on this server (other tests' reports among them)."""
    with staff(base, "dispatcher") as client:
        cases = client.get("/api/v1/cases", params={"page_size": 100})
        disputes = client.get("/api/v1/disputes")
        cases.raise_for_status()
        disputes.raise_for_status()
    written = {c.get("description") or "" for c in cases.json()["items"]}
    for dispute in disputes.json():
        written |= {
            dispute.get("reason") or "",
            (dispute.get("case") or {}).get("description") or "",
        }
    return {text for text in written if len(text) >= 3}


def test_the_check_finds_english_words_and_lets_codes_through() -> None:
    texts = ["案卷队列", "Case queue", "zoom in", "C-02-01 井盖", "MANHOLE_OPEN", "batteryLevel"]
    assert english_in(texts, allowed=set()) == ["Case queue", "zoom in"]


def test_the_consoles_main_screens_in_chinese_show_no_english(
    live_server: str, browser: Browser
) -> None:
    lat, lon = fresh_point()
    report = {"category": "C-02-01", "lat": lat, "lon": lon, "description": f"坑洞 {uuid.uuid4()}"}
    answer = httpx.post(f"{live_server}/api/v1/reports", json=report, timeout=10)
    case_id = answer.json()["case_id"]

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        login(page, live_server, "dispatcher")
        page.get_by_test_id("lang-switch").select_option("zh-CN")
        # The signed-in account's own name is a proper name, whatever its script, and its
        # department is shown by code.
        allowed = {"Command", "centre", "dispatcher", "command"}
        screens: list[tuple[str, Any]] = [
            ("/queue", page.get_by_test_id("nav-queue")),
            (f"/cases/{case_id}", page.get_by_test_id("case-title")),
            ("/kpis", page.get_by_test_id("nav-kpis")),
            ("/ops", page.get_by_test_id("ops-map")),
            ("/alarms", page.get_by_test_id("nav-alarms")),
            ("/disputes", page.get_by_test_id("nav-disputes")),
        ]
        for route, ready in screens:
            page.goto(f"{live_server}/console/#{route}")
            expect(ready).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert (
                english_in(page.evaluate(READABLE), allowed, written_by_people(live_server)) == []
            ), route
    finally:
        context.close()
