"""The services domain's figures in the operations centre (issue 11): what they add to a KPI
report, counted exactly over the application facts (no rollups), on SQLite and, when a server
answers, on PostgreSQL.

The application facts are bulk-inserted with Core over two years in 18 departments: 100,000 by
default (about 4,000 a month, a mid-sized city's service hall), 1,000,000 with --sizes. Each
sample is ``service_figures.figures`` for a random 30-day period and the 30 days before it (what
the KPI report adds to each answer), for three cuts: the city; by department; one department (a
handler's view). Target: p95 < 50 ms for every cut (a quarter of the KPI report's 200 ms).
Ceiling, in the same run: ``SELECT count(*)`` of the applications submitted in the period.

Run: .venv/bin/python benchmarks/service_figures.py [--sizes 100000 1000000] [--samples 20]
     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --no-postgres]
Writes benchmarks/results/service-figures.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import func, insert, select, text  # noqa: E402

from cityloop.base.db import Base, Database  # noqa: E402
from cityloop.domains.operations import service_figures  # noqa: E402
from cityloop.domains.operations.cuts import Period  # noqa: E402
from cityloop.domains.operations.models import ApplicationFactRow  # noqa: E402
from harness import machine_info  # noqa: E402
from operations_kpis import DEFAULT_PG, _summary, databases, timed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "service-figures.json"
TARGET_P95_MS = 50.0
SPAN_DAYS = 730
END = datetime(2026, 12, 1, tzinfo=UTC)
START = END - timedelta(days=SPAN_DAYS)
DEPARTMENTS = [f"dept{n:02d}" for n in range(18)]
SERVICES = [f"service-{n:03d}" for n in range(120)]
BATCH = 20_000
CUTS: dict[str, Callable[[random.Random], tuple[str | None, dict[str, str]]]] = {
    "city": lambda rng: (None, {}),
    "by department": lambda rng: ("department", {}),
    "one department": lambda rng: (None, {"department": rng.choice(DEPARTMENTS)}),
}


def fact_rows(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Applications submitted evenly over the span: nine in ten decided within 0–20 days (a
    ten-day limit), two in five of those rated, 1–5 stars leaning high."""
    for number in range(1, count + 1):
        submitted = START + timedelta(seconds=rng.random() * SPAN_DAYS * 86400)
        due = submitted + timedelta(days=10)
        decided = submitted + timedelta(days=rng.random() * 20) if rng.random() < 0.9 else None
        rated = decided is not None and rng.random() < 0.4
        yield {
            "application_id": number,
            "service": rng.choice(SERVICES),
            "department": rng.choice(DEPARTMENTS),
            "district": None,
            "channel": None,
            "status": "approved" if decided else "under_review",
            "submitted_at": submitted,
            "due_at": due,
            "decided_at": decided,
            "outcome": "approved" if decided else None,
            "on_time": None if decided is None else decided <= due,
            "stars": rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if rated else None,
            "rated_at": decided + timedelta(days=rng.random() * 3) if rated and decided else None,
            "hours_to_decide": (decided - submitted).total_seconds() / 3600 if decided else None,
            "recorded_at": END,
        }


def seed(db: Database, count: int) -> float:
    """Bulk-insert ``count`` application facts; the seconds it took."""
    Base.metadata.create_all(db.engine, tables=[ApplicationFactRow.__table__])
    rng = random.Random(11)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with db.writing() as session:
        for row in fact_rows(count, rng):
            batch.append(row)
            if len(batch) == BATCH:
                session.execute(insert(ApplicationFactRow), batch)
                batch = []
        if batch:
            session.execute(insert(ApplicationFactRow), batch)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        is_pg = db.engine.dialect.name == "postgresql"
        connection.execute(text("VACUUM ANALYZE" if is_pg else "ANALYZE"))
    return time.perf_counter() - started


def measure(db: Database, samples: int) -> dict[str, Any]:
    """p50/p95 of each cut's figures (period and previous period), and of the ceiling."""
    rng = random.Random(7)
    found: dict[str, Any] = {}

    def period() -> Period:
        start = START + timedelta(days=60 + rng.random() * (SPAN_DAYS - 90))
        return Period(start, start + timedelta(days=30))

    with db.read() as session:
        for name, choose in CUTS.items():
            latencies = []
            for index in range(samples + 3):
                by, filters = choose(rng)
                chosen = period()

                def both(chosen: Period = chosen, by: Any = by, filters: Any = filters) -> None:
                    for each in (chosen, chosen.previous()):
                        service_figures.figures(session, period=each, by=by, filters=filters)

                took = timed(both)
                if index >= 3:  # the first few warm the cache
                    latencies.append(took)
            found[name] = _summary(latencies)
        ceiling = []
        for _ in range(samples):
            chosen = period()
            f = ApplicationFactRow
            query = select(func.count()).where(
                f.submitted_at >= chosen.start, f.submitted_at < chosen.end
            )
            ceiling.append(timed(lambda query=query: session.scalar(query)))
        found["ceiling: count(*) of the period"] = _summary(ceiling)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = []
    with databases(None if args.no_postgres else args.postgres) as engines:
        for engine, make in engines:
            for size in args.sizes:
                db = make()
                seeded = seed(db, size)
                figures = measure(db, args.samples)
                db.dispose()
                worst = max(v["p95_ms"] for k, v in figures.items() if k in CUTS)
                row = {
                    "engine": engine,
                    "facts": size,
                    "seeded_s": round(seeded, 1),
                    "figures": figures,
                    "worst_p95_ms": worst,
                    "met": worst < TARGET_P95_MS,
                }
                results.append(row)
                cuts = " / ".join(f"{figures[name]['p95_ms']}" for name in CUTS)
                ceiling = figures["ceiling: count(*) of the period"]
                print(
                    f"{engine} {size:,} application facts: p95 ms (city / by department / one "
                    f"department) {cuts}; ceiling p50/p95 {ceiling['p50_ms']}/"
                    f"{ceiling['p95_ms']} ms; target p95 < {TARGET_P95_MS:.0f} ms: "
                    f"{'met' if row['met'] else 'NOT met'}",
                    flush=True,
                )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "target_p95_ms": TARGET_P95_MS,
        "results": results,
    }
    args.output.write_text(json.dumps(body, indent=2) + "\n")


if __name__ == "__main__":
    main()
