"""Operations KPIs, for `make bench`: the operations centre's KPI query over 1,000,000 cases
(and 10,000 for comparison), read from the KPI rollups, on SQLite and, when a server answers, on
PostgreSQL.

The facts (with a rating for a third of the closed cases and a rework for one case in twenty)
are bulk-inserted with Core over two years, in 18 departments, 4 districts × 5 streets × 8 grid
cells, 60 categories and 6 channels; then the rollups are built from them by the reconcile
(``rollups.reconcile``, what `cityloop operations rebuild` runs), and that rebuild is timed.
Each sample is ``operations.service.kpi_report`` for a random 30-day period (starting at a random
time of day, so the partial first and last days are read from the facts) with the previous 30
days beside it (what `GET /api/v1/operations/kpis` does, without HTTP), for one of eight cuts:
the city; by department; by district; by street within a district; by grid within a street; by
category; by channel within a department; by category within a department (a department
handler's view). Target: p95 < 200 ms for every cut. Ceiling, in the same run:
``SELECT count(*)`` of the facts registered in the same period (one indexed range count, no
figure computed). It also reports how far the histogram's median and p90 were from the exact
ones (counted from the facts) over a few samples of each cut.

The million takes minutes to seed and rebuild, so `make bench` runs 10,000 only unless
CITYLOOP_BENCH_MILLION=1 (or --sizes names the sizes).

Run: .venv/bin/python benchmarks/operations_kpis.py [--sizes 10000 1000000] [--samples 20]
     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --no-postgres]
     [--engines sqlite postgresql] [--output benchmarks/results/operations-kpis.json]
Writes benchmarks/results/operations-kpis.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import func, insert, select, text  # noqa: E402

from cityloop.base.db import Base, Database  # noqa: E402
from cityloop.domains.operations import kpis, rollups, service  # noqa: E402
from cityloop.domains.operations.cuts import Cut, Period  # noqa: E402
from cityloop.domains.operations.models import (  # noqa: E402
    ApplicationFactRow,
    CaseFactRow,
    RatingFactRow,
    ReworkFactRow,
)
from cityloop.domains.operations.rollup_tables import DayRollupRow, DueRollupRow  # noqa: E402
from cityloop.platforms.application.identity.service import Actor  # noqa: E402
from harness import machine_info, percentile  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "operations-kpis.json"
TARGET_P95_MS = 200.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SPAN_DAYS = 730
END = datetime(2026, 12, 1, tzinfo=UTC)
START = END - timedelta(days=SPAN_DAYS)
DEPARTMENTS = [f"dept{n:02d}" for n in range(18)]
DISTRICTS = [f"D{n}" for n in range(1, 5)]
CATEGORIES = [f"C-{n:02d}-01" for n in range(60)]
CHANNELS = ["app", "hotline", "inspector", "staff", "open311", "system"]
ADMIN = Actor(None, "bench", "admin")
BATCH = 20_000
CUTS: dict[str, Callable[[random.Random], tuple[str | None, dict[str, str]]]] = {
    "city": lambda rng: (None, {}),
    "by department": lambda rng: ("department", {}),
    "by district": lambda rng: ("district", {}),
    "by street in a district": lambda rng: ("street", {"district": rng.choice(DISTRICTS)}),
    "by grid in a street": lambda rng: (
        "grid",
        {"district": (d := rng.choice(DISTRICTS)), "street": f"{d}-S{rng.randint(1, 5)}"},
    ),
    "by category": lambda rng: ("category", {}),
    "by channel in a department": lambda rng: ("channel", {"department": rng.choice(DEPARTMENTS)}),
    "by category in a department": lambda rng: (
        "category",
        {"department": rng.choice(DEPARTMENTS)},
    ),
}
ERROR_SAMPLES = 3


def fact_rows(count: int, rng: random.Random) -> Iterator[tuple[dict[str, Any], ...]]:
    """(case fact, rating or None, rework or None) for ``count`` cases spread over two years."""
    for case_id in range(1, count + 1):
        created = START + timedelta(seconds=SPAN_DAYS * 86400 * case_id / count)
        district = rng.choice(DISTRICTS)
        street = f"{district}-S{rng.randint(1, 5)}"
        grid = f"{street}-G{rng.randint(1, 8)}"
        fate = rng.random()
        registered = created + timedelta(minutes=rng.randint(1, 120))
        dispatched = registered + timedelta(minutes=rng.randint(1, 60))
        response_due = dispatched + timedelta(minutes=30)
        resolution_due = dispatched + timedelta(hours=rng.choice((1, 24, 72, 168)))
        started = dispatched + timedelta(minutes=rng.randint(5, 90))
        resolved = started + timedelta(hours=rng.expovariate(1 / 48))
        closed = resolved + timedelta(hours=rng.expovariate(1 / 6))
        status = "closed" if fate < 0.85 else "in_progress" if fate < 0.95 else "rejected"
        done = status == "closed"
        dims = {
            "category": rng.choice(CATEGORIES),
            "channel": rng.choice(CHANNELS),
            "department": rng.choice(DEPARTMENTS),
            "district": district,
            "street": street,
            "grid": grid,
        }
        fact = {
            "case_id": case_id,
            **dims,
            "priority": "normal",
            "lat": 30 + rng.random(),
            "lon": 120 + rng.random(),
            "status": status,
            "created_at": created,
            "registered_at": registered if status != "rejected" else None,
            "dispatched_at": dispatched if status != "rejected" else None,
            "started_at": started if status != "rejected" else None,
            "resolved_at": resolved if done else None,
            "closed_at": closed if done else None,
            "response_due": response_due if status != "rejected" else None,
            "resolution_due": resolution_due if status != "rejected" else None,
            "on_time": (closed <= resolution_due) if done else None,
            "handled_on_time": (resolved <= resolution_due) if done else None,
            "rework_count": 0,
            "ratings": 0,
            "stars_total": 0,
            "resolution": "fixed" if done and fate < 0.75 else "referred" if done else None,
            "hours_to_close": (closed - created).total_seconds() / 3600 if done else None,
            "recorded_at": END,
        }
        rating = rework = None
        if done and rng.random() < 0.33:
            stars = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
            fact["ratings"], fact["stars_total"] = 1, stars
            at = closed + timedelta(hours=rng.randint(1, 48))
            rating = {"rating_id": case_id, "case_id": case_id, "stars": stars, "at": at, **dims}
        if done and rng.random() < 0.05:
            fact["rework_count"] = 1
            at = resolved + timedelta(hours=1)
            rework = {"event_id": case_id, "case_id": case_id, "at": at, **dims}
        yield fact, rating, rework


def seed(db: Database, count: int) -> tuple[float, float]:
    """Bulk-insert ``count`` case facts (with their ratings and reworks), then build the rollups
    from them; the seconds each took."""
    rng = random.Random(count)
    started = time.perf_counter()
    facts: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    reworks: list[dict[str, Any]] = []

    def flush() -> None:
        with db.engine.begin() as connection:
            connection.execute(insert(CaseFactRow), facts)
            if ratings:
                connection.execute(insert(RatingFactRow), ratings)
            if reworks:
                connection.execute(insert(ReworkFactRow), reworks)
        facts.clear(), ratings.clear(), reworks.clear()

    # Bulk-load without the covering indexes, then build them: much faster than keeping them.
    indexes = list(CaseFactRow.__table__.indexes)
    for index in indexes:
        index.drop(db.engine)
    for fact, rating, rework in fact_rows(count, rng):
        facts.append(fact)
        if rating:
            ratings.append(rating)
        if rework:
            reworks.append(rework)
        if len(facts) >= BATCH:
            flush()
    if facts:
        flush()
    for index in indexes:
        index.create(db.engine)
    # Statistics for the planner; on PostgreSQL, VACUUM also sets the visibility map that lets
    # the covering indexes answer without visiting the table (autovacuum does it in service).
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    with db.writing() as session:
        drift = rollups.reconcile(session)
    rebuilt = time.perf_counter() - started
    print(f"  rollups rebuilt from the facts: {drift.fixed:,} rows in {rebuilt:.1f} s", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        is_pg = db.engine.dialect.name == "postgresql"
        connection.execute(text("VACUUM ANALYZE" if is_pg else "ANALYZE"))
    return seeded, rebuilt


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def measure(db: Database, samples: int) -> dict[str, Any]:
    """p50/p95 of each cut's KPI report, and of the ceiling, over random 30-day periods."""
    rng = random.Random(7)
    figures: dict[str, Any] = {}

    def period() -> Period:
        start = START + timedelta(days=60 + rng.random() * (SPAN_DAYS - 90))
        return Period(start, start + timedelta(days=30))

    with db.read() as session:
        for name, choose in CUTS.items():
            latencies = []
            for index in range(samples + 3):
                by, filters = choose(rng)
                chosen = period()
                took = timed(
                    lambda chosen=chosen, by=by, filters=filters: service.kpi_report(
                        session, actor=ADMIN, period=chosen, by=by, filters=filters, compare=True
                    )
                )
                if index >= 3:  # the first few warm the cache
                    latencies.append(took)
            figures[name] = _summary(latencies)
        ceiling = []
        for _ in range(samples):
            chosen = period()
            query = select(func.count()).where(
                CaseFactRow.registered_at >= chosen.start, CaseFactRow.registered_at < chosen.end
            )
            ceiling.append(timed(lambda query=query: session.scalar(query)))
        figures["ceiling: count(*) of the period"] = _summary(ceiling)
        figures["percentile error"] = percentile_error(session, rng, period)
    return figures


def percentile_error(
    session: Any, rng: random.Random, period: Callable[[], Period]
) -> dict[str, float]:
    """The largest gap between the histogram's median (and p90) and the exact one from the
    facts, over a few samples of each cut, in hours and relative to the exact value."""
    worst = {"median_hours": 0.0, "median_relative": 0.0, "p90_hours": 0.0, "p90_relative": 0.0}
    for choose in CUTS.values():
        for _ in range(ERROR_SAMPLES):
            by, filters = choose(rng)
            cut = Cut(period(), by, filters)
            exact = kpis.fact_tallies(session, cut=cut)
            for key, tally in kpis.tallies(session, cut=cut).items():
                pairs = (
                    ("median", tally.median_hours, exact[key].median_hours),
                    ("p90", tally.p90_hours, exact[key].p90_hours),
                )
                for name, got, want in pairs:
                    if got is None or want is None:
                        continue
                    gap = abs(got - float(want))
                    worst[f"{name}_hours"] = max(worst[f"{name}_hours"], round(gap, 2))
                    relative = gap / float(want) if want else 0.0
                    worst[f"{name}_relative"] = max(worst[f"{name}_relative"], round(relative, 4))
    return worst


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }


@contextmanager
def databases(postgres: str | None) -> Iterator[list[tuple[str, Callable[[], Database]]]]:
    """A fresh database factory per engine (a temporary SQLite file; a new PostgreSQL database)."""
    folder = tempfile.TemporaryDirectory(prefix="cityloop-ops-")
    created: list[str] = []
    admin = None
    if postgres:
        try:
            admin = Database(postgres)
            with admin.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # no server: SQLite only, and say so
            print(f"PostgreSQL not reachable ({type(exc).__name__}); SQLite only")
            admin = None

    def sqlite() -> Database:
        path = Path(folder.name) / f"{uuid.uuid4().hex[:8]}.db"
        return _schema(Database(f"sqlite:///{path}"))

    def pg() -> Database:
        assert admin is not None and postgres is not None
        name = f"cityloop_bench_{uuid.uuid4().hex[:8]}"
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        created.append(name)
        return _schema(Database(postgres.rsplit("/", 1)[0] + "/" + name))

    engines: list[tuple[str, Callable[[], Database]]] = [("sqlite", sqlite)]
    if admin is not None:
        engines.append(("postgresql", pg))
    try:
        yield engines
    finally:
        if admin is not None:
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                for name in created:
                    c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()
        folder.cleanup()


def _schema(db: Database) -> Database:
    # Only the operations tables: the benchmark measures the read model, not the migrations.
    # The application facts stay empty (benchmarks/service_figures.py measures them), but the
    # report reads them.
    models = (
        CaseFactRow,
        RatingFactRow,
        ReworkFactRow,
        DayRollupRow,
        DueRollupRow,
        ApplicationFactRow,
    )
    tables = [m.__table__ for m in models]
    Base.metadata.create_all(db.engine, tables=tables)
    return db


def report(results: list[dict[str, Any]]) -> None:
    print(
        f"Operations KPIs: kpi_report with the previous period, 30-day periods; target p95 < "
        f"{TARGET_P95_MS:.0f} ms"
    )
    for result in results:
        print(
            f"  {result['engine']}, {result['cases']:,} case facts "
            f"(seeded in {result['seed_seconds']:.0f} s, "
            f"rollups rebuilt in {result['rebuild_seconds']:.0f} s)"
        )
        ceiling = result["figures"]["ceiling: count(*) of the period"]
        error = result["figures"]["percentile error"]
        print(
            f"    histogram percentiles vs exact: median off by at most "
            f"{error['median_hours']} h ({error['median_relative']:.1%}), p90 by "
            f"{error['p90_hours']} h ({error['p90_relative']:.1%})"
        )
        for name, figure in result["figures"].items():
            if name == "percentile error":
                continue
            met = (
                ""
                if name.startswith("ceiling")
                else ("  met" if figure["p95_ms"] < TARGET_P95_MS else "  NOT met")
            )
            ratio = figure["p95_ms"] / ceiling["p95_ms"] if ceiling["p95_ms"] else 0
            print(
                f"    {name:32} p50 {figure['p50_ms']:7.1f}  p95 {figure['p95_ms']:7.1f} ms"
                f"  ({ratio:5.1f} × ceiling){met}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    million = os.environ.get("CITYLOOP_BENCH_MILLION") == "1"
    sizes = [10_000, 1_000_000] if million else [10_000]
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = []
    with databases(None if args.no_postgres else args.postgres) as engines:
        for engine, make in [(name, make) for name, make in engines if name in args.engines]:
            for size in args.sizes:
                db = make()
                seconds, rebuilt = seed(db, size)
                print(f"{engine}: seeded {size:,} case facts in {seconds:.1f} s", flush=True)
                results.append(
                    {
                        "engine": engine,
                        "cases": size,
                        "seed_seconds": round(seconds, 1),
                        "rebuild_seconds": round(rebuilt, 1),
                        "figures": measure(db, args.samples),
                    }
                )
                db.dispose()
                report(results[-1:])
                write(
                    results, args.samples, args.output
                )  # after each size: a long run keeps what it measured
    report(results)
    return 0


def write(results: list[dict[str, Any]], samples: int, output: Path = RESULTS) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine_info(),
        "target_p95_ms": TARGET_P95_MS,
        "period_days": 30,
        "samples": samples,
        "results": results,
    }
    output.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
