"""The console in Chinese reads Chinese: on its main screens no text a person reads (text,
placeholders, titles, accessible names) is in Latin script, except codes (category, service,
dataset and device codes, rule types), proper names that are codes themselves (usernames) and a
few words written in Latin in Chinese too (App, CSV, Open311, PM2.5, LoRaWAN). The demo accounts,
their departments, device profiles and groups all have Chinese names, so none is let through."""

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
LOANWORDS = {"App", "CSV", "Open311", "PM2.5", "KPI", "API", "GPS", "JSON", "SLA", "LoRaWAN"}
# Protocol names written in Latin in Chinese too (the demo's device profiles name them).
LOANWORDS |= {"UltraLight"}
# A code: joined by - _ . : / (C-02-01, rv-gen-01), in capitals (MANHOLE_OPEN), camelCase
# (batteryLevel) or an entity type in PascalCase (ManholeCover). A lowercase word on its own is
# English, not a code.
CODE = re.compile(
    r"^[A-Za-z0-9]+([-_.:/][A-Za-z0-9]+)+$|^[A-Z0-9_]{2,}$|^[a-z]+[A-Z][a-zA-Z0-9]*$"
    r"|^[A-Z][a-z0-9]+([A-Z][a-z0-9]+)+$"
)
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


def named_by_people(base: str) -> tuple[set[str], set[str]]:
    """Usernames (codes, whatever their script), and the names other tests' admins gave their
    own accounts, devices and groups without a Chinese form (the demo city gives every one)."""
    with staff(base, "admin") as client:
        users = client.get("/api/v1/users", params={"limit": 200})
        devices = client.get("/api/v1/perception/devices", params={"limit": 1000})
        groups = client.get("/api/v1/perception/groups")
        for answer in (users, devices, groups):
            answer.raise_for_status()
    usernames = {u["username"] for u in users.json()["items"]}
    names = {u["display_name"] for u in users.json()["items"] if not u["display_name_zh"]}
    for thing in [*devices.json()["items"], *groups.json()]:
        if not thing.get("name_zh"):
            names.add(thing.get("name") or "")
    return usernames, {name for name in names if len(name) >= 3}


def check_screens(page: Any, base: str, screens: list[tuple[str, Any]], allowed: set[str]) -> None:
    """Open each screen, wait for it, and find no English on it."""
    for route, ready in screens:
        page.goto(f"{base}/console/#{route}")
        expect(ready).to_be_visible()
        page.wait_for_load_state("networkidle")
        usernames, names = named_by_people(base)
        written = written_by_people(base) | names
        found = english_in(page.evaluate(READABLE), allowed | usernames, written)
        assert found == [], (route, found)


def test_the_check_finds_english_words_and_lets_codes_through() -> None:
    texts = ["案卷队列", "Case queue", "zoom in", "C-02-01 井盖", "MANHOLE_OPEN", "batteryLevel"]
    texts += ["ManholeCover", "Manhole"]
    assert english_in(texts, allowed=set()) == ["Case queue", "zoom in", "Manhole"]


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
        # The dispatcher's own name and department are shown in Chinese too: nothing is let
        # through but codes and loanwords.
        screens: list[tuple[str, Any]] = [
            ("/queue", page.get_by_test_id("nav-queue")),
            (f"/cases/{case_id}", page.get_by_test_id("case-title")),
            ("/kpis", page.get_by_test_id("nav-kpis")),
            ("/ops", page.get_by_test_id("ops-map")),
            ("/alarms", page.get_by_test_id("nav-alarms")),
            ("/disputes", page.get_by_test_id("nav-disputes")),
        ]
        expect(page.get_by_test_id("current-department")).to_contain_text("监督指挥中心")
        check_screens(page, live_server, screens, allowed=set())
    finally:
        context.close()


def test_the_device_and_user_screens_in_chinese_show_no_english(
    live_server: str, open_page: Any
) -> None:
    page = open_page(locale="zh-CN")
    login(page, live_server, "admin")
    page.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(page.get_by_test_id("nav-account")).to_have_text("系统管理员")
    screens: list[tuple[str, Any]] = [
        ("/devices", page.get_by_test_id("dev-row").first),
        ("/devices/profiles", page.get_by_test_id("groups-table")),
        ("/devices/rv-mh-01", page.get_by_test_id("device-profile")),
        ("/users", page.get_by_test_id("user-row").first),
        ("/users/worker-roads", page.get_by_test_id("user-edit")),
    ]
    check_screens(page, live_server, screens, allowed=set())
    # A worker's name is their Chinese one, on the user screen and in the header alike.
    page.goto(f"{live_server}/console/#/users/worker-roads")
    expect(page.get_by_test_id("user-title")).to_contain_text("作业人员")
