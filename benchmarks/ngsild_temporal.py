"""NGSI-LD temporal aggregation over 1,000,000 instances, on SQLite and PostgreSQL.

One entity's ``speed`` series holds 1,000,000 instances (one every 30 s, about a year). The
service call (``temporal.temporal_entity`` with aggregatedValues) is timed for:

- the whole series: totalCount, sum, avg, min, max, stddev per day (P1D), reading all 1M
  instances in one GROUP BY;
- one week of it per hour (PT1H), the dashboard case.

Target: p95 < 200 ms for the whole-series aggregation. The ceiling, measured in the same run,
is the bare SQL the engine needs to read the same rows: count and sum over the series.
PostgreSQL runs when reachable (``CITYLOOP_BENCH_DATABASE_URL`` or ``--postgres``).
Results go to benchmarks/results/ngsild-temporal.json.
Run: PYTHONPATH=src .venv/bin/python benchmarks/ngsild_temporal.py [--instances 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from cityloop.base.db import Base, Database
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import temporal
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity, NgsiTenant
from harness import ROOT, machine_info

RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENTITY = "urn:ngsi-ld:Vehicle:bench"
START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)
TARGET_MS = 200


def seed(db: Database, count: int) -> None:
    """The entity and its ``speed`` series, as the temporal API stores instances."""
    core = contexts.core()
    rng = random.Random(7)
    with db.writing() as session:
        session.add(NgsiTenant(name=""))
        session.add(NgsiEntity(tenant="", entity_id=ENTITY, type=core.expand("Vehicle"), attrs={}))
    rows = []
    created = datetime.now(UTC)
    for n in range(count):
        value = round(rng.uniform(0, 130), 1)
        moment = START + STEP * n
        rows.append(
            {
                "tenant": "",
                "entity_id": ENTITY,
                "attribute": "speed",
                "observed_at": moment,
                "num_value": value,
                "kind": "Property",
                "document": {"type": "Property", "value": value, "observedAt": moment.isoformat()},
                "created_at": created,
                "modified_at": created,
            }
        )
        if len(rows) == 20_000:
            with db.writing() as session:
                session.execute(insert(Measurement), rows)
            rows = []
    if rows:
        with db.writing() as session:
            session.execute(insert(Measurement), rows)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE measurements"))
    else:
        with db.engine.connect() as c:
            c.execute(text("ANALYZE"))


def timed(runs: int, work: Callable[[], object]) -> dict[str, float]:
    work()  # warm the caches once
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        samples.append(time.perf_counter() - t0)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
    }


def measure(db: Database, count: int, runs: int) -> dict[str, dict[str, float]]:
    core = contexts.core()
    whole = temporal.parse_time_query(
        timerel=None,
        time_at=None,
        end_time_at=None,
        last_n=None,
        attrs=(core.expand("speed"),),
        options={"aggregatedValues"},
        aggr_methods="totalCount,sum,avg,min,max,stddev",
        aggr_period="P1D",
    )
    week_start = START + STEP * (count // 2)
    week = temporal.parse_time_query(
        timerel="between",
        time_at=week_start.isoformat(),
        end_time_at=(week_start + timedelta(days=7)).isoformat(),
        last_n=None,
        attrs=(core.expand("speed"),),
        options={"aggregatedValues"},
        aggr_methods="avg,min,max",
        aggr_period="PT1H",
    )

    def aggregate(query: temporal.TimeQuery) -> Callable[[], object]:
        def work() -> object:
            with db.read() as session:
                result = temporal.temporal_entity(
                    session, tenant="", entity_id=ENTITY, query=query, active=core
                )
            assert result.entities[0]["speed"]["totalCount" if query is whole else "avg"]
            return result

        return work

    def ceiling() -> object:
        with db.read() as session:
            return session.execute(
                select(func.count(), func.sum(Measurement.num_value)).where(
                    Measurement.tenant == "",
                    Measurement.entity_id == ENTITY,
                    Measurement.attribute == "speed",
                )
            ).one()

    return {
        "whole_series_p1d": timed(runs, aggregate(whole)),
        "one_week_pt1h": timed(runs, aggregate(week)),
        "ceiling_count_sum": timed(runs, ceiling),
    }


@contextmanager
def databases(postgres: str | None) -> Iterator[list[tuple[str, Callable[[], Database]]]]:
    """A fresh database factory per engine (a temporary SQLite file; a new PostgreSQL database)."""
    folder = tempfile.TemporaryDirectory(prefix="cityloop-temporal-")
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

    def schema(db: Database) -> Database:
        # Only the tables a temporal read touches: the benchmark measures reads, not migrations.
        tables = [m.__table__ for m in (Measurement, NgsiEntity, NgsiTenant)]
        Base.metadata.create_all(db.engine, tables=tables)
        return db

    def sqlite() -> Database:
        return schema(Database(f"sqlite:///{Path(folder.name) / 'bench.db'}"))

    def pg() -> Database:
        assert admin is not None and postgres is not None
        name = f"cityloop_bench_{uuid.uuid4().hex[:8]}"
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        created.append(name)
        return schema(Database(postgres.rsplit("/", 1)[0] + "/" + name))

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--postgres", default=os.environ.get("CITYLOOP_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS / "ngsild-temporal.json")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": machine_info(),
        "instances": args.instances,
        "runs": args.runs,
        "target_p95_ms": TARGET_MS,
    }
    with databases(None if args.no_postgres else args.postgres) as engines:
        for name, make in engines:
            db = make()
            started = time.perf_counter()
            seed(db, args.instances)
            seconds = time.perf_counter() - started
            print(f"{name}: seeded {args.instances} instances in {seconds:.0f} s")
            result = measure(db, args.instances, args.runs)
            db.dispose()
            figures[name] = result
            for case, numbers in result.items():
                p50, p95 = numbers["p50_ms"], numbers["p95_ms"]
                print(f"{name:10s} {case:20s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    print(f"target: whole-series aggregation over {args.instances} instances p95 < {TARGET_MS} ms")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
