"""How fast the input guards give up on hostile input, for `make bench`.

These used to be timed assertions in the unit tests (a decompression bomb rejected in under a
second; client regular expressions cut off at their time limit). The tests keep what the guards
decide; the time they take is measured here, printed next to its target and a ceiling measured
in the same run, and written to benchmarks/results/guards.json.

- **Decompression bomb.** A 30,000 × 30,000 PNG of under 200 bytes: rejected from its header,
  before any pixel is decoded. Ceiling: the full processing (decode, re-encode, thumbnail) of a
  real 64 × 48 PNG, the smallest photo there is.
- **Costly client pattern.** ``(.|.)*[xy]$`` on 40 characters backtracks for ever: a
  subscription's pattern (a per-call limit) and a request's pattern (a per-request budget) are
  cut off at their limits. The target is the limit plus 50 %; the ceiling is the limit itself.
  A cheap match under the same limit shows what a normal pattern costs.

Run: PYTHONPATH=src .venv/bin/python benchmarks/guards.py [--reps 200]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import statistics
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "src"))

from PIL import Image  # noqa: E402

from cityloop.platforms.application.media.imaging import (  # noqa: E402
    MediaRejected,
    process_image,
)
from cityloop.platforms.data.perception.ngsild.errors import NgsiError  # noqa: E402
from cityloop.platforms.data.perception.ngsild.patterns import (  # noqa: E402
    CALL_MATCH_SECONDS,
    REQUEST_MATCH_SECONDS,
    CallLimit,
    PatternTimedOut,
    RequestBudget,
    safe_regex,
)

COSTLY = "(.|.)*[xy]$"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, "PNG")
    return buffer.getvalue()


def timed(action: Callable[[], object], reps: int) -> list[float]:
    """Milliseconds per call; ``action`` may raise (the guards do)."""
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        with contextlib.suppress(MediaRejected, NgsiError, PatternTimedOut):
            action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max_ms": round(ordered[-1], 3),
    }


def check_outcomes() -> None:
    """The benchmark measures the right thing: each guard still refuses what it should."""
    try:
        process_image(bomb_png(), max_pixels=40_000_000)
    except MediaRejected as exc:
        assert exc.code == "too_many_pixels", exc.code
    else:
        raise SystemExit("the bomb was not rejected")
    try:
        safe_regex(COSTLY, "q", CallLimit(CALL_MATCH_SECONDS)).search("a" * 40)
    except PatternTimedOut:
        pass
    else:
        raise SystemExit("the costly pattern was not cut off")


def run(reps: int, pattern_reps: int) -> dict[str, Any]:
    check_outcomes()
    bomb, small = bomb_png(), small_png()
    figures: dict[str, Any] = {
        "bomb_rejection": stats(timed(lambda: process_image(bomb, max_pixels=40_000_000), reps)),
        "bomb_ceiling_small_png": stats(timed(lambda: process_image(small), reps)),
        "bomb_target_ms": 1000.0,
    }
    call = CallLimit(CALL_MATCH_SECONDS)
    costly_call = safe_regex(COSTLY, "q", call)
    cheap_call = safe_regex(COSTLY, "q", call)
    figures["pattern_call_limit"] = {
        **stats(timed(lambda: costly_call.search("a" * 40), pattern_reps)),
        "limit_ms": CALL_MATCH_SECONDS * 1000,
        "target_ms": CALL_MATCH_SECONDS * 1500,
    }
    figures["pattern_request_budget"] = {
        **stats(
            timed(
                lambda: safe_regex(COSTLY, "q", RequestBudget(REQUEST_MATCH_SECONDS)).search(
                    "a" * 40
                ),
                pattern_reps,
            )
        ),
        "limit_ms": REQUEST_MATCH_SECONDS * 1000,
        "target_ms": REQUEST_MATCH_SECONDS * 1500,
    }
    figures["pattern_cheap_match"] = stats(timed(lambda: cheap_call.search("abx"), reps))
    return figures


def report(figures: dict[str, Any]) -> None:
    bomb, small = figures["bomb_rejection"], figures["bomb_ceiling_small_png"]
    print("input guards (one process, no server)")
    print(
        f"  decompression bomb rejected    p50 {bomb['p50_ms']:8.3f} ms"
        f"  p99 {bomb['p99_ms']:8.3f} ms   target < {figures['bomb_target_ms']:,.0f} ms"
        f"   ceiling: a 64x48 PNG processed, p50 {small['p50_ms']:.3f} ms"
    )
    for key, title in (
        ("pattern_call_limit", "subscription pattern cut off"),
        ("pattern_request_budget", "request pattern cut off"),
    ):
        row = figures[key]
        print(
            f"  {title:<30} p50 {row['p50_ms']:8.1f} ms  p99 {row['p99_ms']:8.1f} ms"
            f"   target <= {row['target_ms']:,.0f} ms"
            f"   ceiling: the limit, {row['limit_ms']:,.0f} ms"
        )
    cheap = figures["pattern_cheap_match"]
    print(
        f"  cheap match under the limit    p50 {cheap['p50_ms']:8.3f} ms"
        f"  p99 {cheap['p99_ms']:8.3f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--pattern-reps", type=int, default=20)
    parser.add_argument("--output", type=Path, default=RESULTS / "guards.json")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # each cut-off logs a warning; the figures say it all
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from harness import machine_info

    figures = {"machine": machine_info(), "reps": args.reps, **run(args.reps, args.pattern_reps)}
    report(figures)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nsaved {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
