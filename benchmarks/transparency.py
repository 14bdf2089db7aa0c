"""Public transparency, for `make bench`: the public routes' service functions and the monthly
report over 100,000 case facts (two years, the operations benchmark's data), on SQLite and,
when a server answers, on PostgreSQL.

Each sample is one of: the public KPIs of a month with the previous month and the districts
(`GET /api/v1/public/kpis`), the 12-month trend (`/public/trends`), the month's closed-case
points (`/public/closed-cases`), and the monthly report gathered and drawn as CSV, XLSX and PDF
(`/public/reports/{month}.*`), for a random month of the second year. Targets: p95 < 200 ms for
the three JSON answers, < 3 s for a PDF. Ceiling, in the same run: the city's KPI figures of the
same month alone (``kpis.figures``, one cut, no comparison, no districts).

Run: .venv/bin/python benchmarks/transparency.py [--cases 100000] [--samples 10]
     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --no-postgres]
Writes benchmarks/results/transparency.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cityloop.base.db import Base, Database  # noqa: E402
from cityloop.domains.operations import kpis, public, report, report_files, report_pdf  # noqa: E402
from cityloop.domains.operations.cuts import Cut, month_period  # noqa: E402
from cityloop.platforms.application.geo.models import Jurisdiction  # noqa: E402
from cityloop.platforms.application.identity.models import Department  # noqa: E402
from harness import machine_info, percentile  # noqa: E402
from operations_kpis import DEFAULT_PG, END, databases, seed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "transparency.json"
TARGETS_MS = {
    "public kpis": 200.0,
    "public trends (12 months)": 200.0,
    "closed-case points": 200.0,
    "report: CSV": None,
    "report: XLSX": None,
    "report: PDF": 3000.0,
}
NOW = END + timedelta(days=5)


def months(rng: random.Random) -> str:
    """A random month of the data's second year."""
    moment = END - timedelta(days=rng.randint(1, 330))
    return public.month_of(moment)


def measure(db: Database, samples: int) -> dict[str, Any]:
    rng = random.Random(11)
    with db.read() as session:
        runs: dict[str, Callable[[str], object]] = {
            "public kpis": lambda m: public.public_kpis(session, month=m, now=NOW),
            "public trends (12 months)": lambda m: public.public_trends(
                session, months=12, end=m, now=NOW
            ),
            "closed-case points": lambda m: public.closed_cases(session, month=m, now=NOW),
            "report: CSV": lambda m: report_files.csv_bytes(
                report.monthly_report(session, month=m, now=NOW), "zh-CN"
            ),
            "report: XLSX": lambda m: report_files.xlsx_bytes(
                report.monthly_report(session, month=m, now=NOW), "zh-CN"
            ),
            "report: PDF": lambda m: report_pdf.pdf_bytes(
                report.monthly_report(session, month=m, now=NOW), "zh-CN"
            ),
            "ceiling: the month's city figures": lambda m: kpis.figures(
                session, cut=Cut(month_period(m))
            ),
        }
        figures = {}
        for name, run in runs.items():
            latencies = []
            for index in range(samples + 1):
                month = months(rng)
                started = time.perf_counter()
                run(month)
                if index:  # the first warms the caches
                    latencies.append((time.perf_counter() - started) * 1000)
            figures[name] = {
                "p50_ms": round(percentile(latencies, 50), 1),
                "p95_ms": round(percentile(latencies, 95), 1),
            }
    return figures


def report_figures(result: dict[str, Any]) -> None:
    ceiling = result["figures"]["ceiling: the month's city figures"]["p95_ms"]
    print(f"  {result['engine']}, {result['cases']:,} case facts")
    for name, figure in result["figures"].items():
        target = TARGETS_MS.get(name)
        met = "" if target is None else ("  met" if figure["p95_ms"] < target else "  NOT met")
        goal = f" (target {target:.0f} ms)" if target else ""
        ratio = figure["p95_ms"] / ceiling if ceiling else 0
        print(
            f"    {name:36} p50 {figure['p50_ms']:8.1f}  p95 {figure['p95_ms']:8.1f} ms"
            f"  ({ratio:6.1f} × ceiling){goal}{met}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with databases(None if args.no_postgres else args.postgres) as engines:
        for engine, make in engines:
            db = make()
            # The report also names districts and departments: their (empty) tables.
            Base.metadata.create_all(
                db.engine, tables=[Jurisdiction.__table__, Department.__table__]
            )
            seed(db, args.cases)
            results.append(
                {"engine": engine, "cases": args.cases, "figures": measure(db, args.samples)}
            )
            db.dispose()
    print("Public transparency: p95 per answer, a random month of the second year")
    for result in results:
        report_figures(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": machine_info(), "samples": args.samples, "results": results}
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
