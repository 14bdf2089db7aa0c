"""The citizen app's first load on a slow phone network, for `make bench`.

Debian's Chromium, driven by Playwright, opens `/app/` from a seeded `cityloop serve` with a
cold cache (a new browser context each time) on the slow-4G profile of issue 11: 150 ms round
trip, 1.6 Mbit/s down, 750 kbit/s up (Chrome DevTools' network emulation). Figures per load:

- **first contentful paint** (the browser's own `first-contentful-paint` entry);
- **report form ready**: until the category picker of the report screen is on the page;
- **bytes on the wire**: the page and every file it fetched before the form was ready.

Targets: first paint < 1.5 s and < 200 KB on the wire. Ceilings, measured in the same run:
the same load with no throttling (what the machine itself costs), and `GET /healthz` over the
throttled network (one connection and one round trip: the network's own floor).

Each figure is the median of the runs (5 by default).

Run: .venv/bin/python benchmarks/first_load.py [--runs 5]
Writes benchmarks/results/first-load.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import Server, machine_info  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "first-load.json"
DIST = ROOT / "frontend" / "dist"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
TARGETS = {"first_paint_ms": 1500.0, "wire_kb": 200.0}

# Read in the page once the form is ready: the paint entry (which the browser may post a frame
# after the paint itself) and every byte fetched until the form was ready.
MEASURES = """(ready) => new Promise((resolve) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const files = performance.getEntriesByType("resource").filter((f) => f.startTime <= ready);
  const bytes = files.reduce((sum, f) => sum + (f.transferSize || 0), nav.transferSize || 0);
  const done = (paint) => resolve({ paint, bytes, files: files.length + 1 });
  const seen = performance.getEntriesByName("first-contentful-paint")[0];
  if (seen) return done(seen.startTime);
  new PerformanceObserver((list) => {
    const entry = list.getEntriesByName("first-contentful-paint")[0];
    if (entry) done(entry.startTime);
  }).observe({ type: "paint", buffered: true });
  setTimeout(() => done(null), 10000);
})"""


def one_load(browser: Any, base: str, throttled: bool) -> dict[str, float]:
    """Open the app in a fresh context; the paint, the ready time and the bytes."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttled:
            cdp.send("Network.emulateNetworkConditions", SLOW_4G)
        page.goto(f"{base}/app/", wait_until="commit")
        page.locator('[data-testid^="category-"]').first.wait_for(timeout=60_000)
        ready = page.evaluate("() => performance.now()")
        figures = page.evaluate(MEASURES, ready)
        if figures["paint"] is None:
            raise RuntimeError("the browser reported no first contentful paint")
        return {
            "first_paint_ms": figures["paint"],
            "ready_ms": ready,
            "wire_kb": figures["bytes"] / 1024,
            "files": figures["files"],
        }
    finally:
        context.close()


def healthz(browser: Any, base: str) -> float:
    """`GET /healthz` over the throttled network: the floor of any load."""
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_4G)
        page.goto(f"{base}/healthz")
        timing = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n.responseEnd - n.startTime; }"
        )
        return float(timing)
    finally:
        context.close()


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (DIST / "app" / "index.html").exists():
        sys.exit("the front ends are not built: run `make frontend`")
    from playwright.sync_api import sync_playwright

    with Server(env={"CITYLOOP_STATIC_DIR": str(DIST)}) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        one_load(browser, server.base_url, throttled=False)  # warm the server, not counted
        slow = [one_load(browser, server.base_url, throttled=True) for _ in range(args.runs)]
        fast = [one_load(browser, server.base_url, throttled=False) for _ in range(args.runs)]
        floor = statistics.median(healthz(browser, server.base_url) for _ in range(args.runs))
        browser.close()

    summary = {
        "slow_4g": {key: median(slow, key) for key in slow[0]},
        "unthrottled": {key: median(fast, key) for key in fast[0]},
        "healthz_slow_4g_ms": floor,
    }
    paint, wire = summary["slow_4g"]["first_paint_ms"], summary["slow_4g"]["wire_kb"]
    summary["met"] = {
        "first_paint": paint < TARGETS["first_paint_ms"],
        "wire": wire < TARGETS["wire_kb"],
    }
    document = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "profile": SLOW_4G,
        "targets": TARGETS,
        "runs": {"slow_4g": slow, "unthrottled": fast},
        "summary": summary,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    fast_paint = summary["unthrottled"]["first_paint_ms"]
    print(
        f"slow 4G: first paint {paint:.0f} ms (target < {TARGETS['first_paint_ms']:.0f}),"
        f" form ready {summary['slow_4g']['ready_ms']:.0f} ms,"
        f" {wire:.0f} KB on the wire (target < {TARGETS['wire_kb']:.0f})\n"
        f"ceilings: unthrottled first paint {fast_paint:.0f} ms;"
        f" /healthz over slow 4G {floor:.0f} ms\n"
        f"written to {RESULTS.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
