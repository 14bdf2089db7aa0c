"""NGSI-LD temporal aggregation over 1,000,000 instances, on SQLite and PostgreSQL.

One entity's ``speed`` series holds 1,000,000 instances (one every 30 s, about a year), and
its per-minute and per-hour rollups (built from the instances as ``cityloop device
rebuild-rollups`` builds them; the rebuild is timed too). The service call
(``temporal.temporal_entity`` with aggregatedValues) is timed for:

- the whole series: totalCount, sum, avg, min, max, stddev per day (P1D);
- one week of it per hour (PT1H), the dashboard case.

Target: p95 < 200 ms for the whole-series aggregation. The ceiling, measured in the same run,
is the bare SQL that reads the rows the answer needs at least: count and sum over the
series' hour rollups. For the ratio, the same aggregation from the instances alone (the path
without rollups) and a bare scan of the instances run a few times too.
PostgreSQL runs when reachable (``CITYLOOP_BENCH_DATABASE_URL`` or ``--postgres``).
Each figure carries the one-minute load average when it was taken (the machine may be shared).
Results go to benchmarks/results/ngsild-temporal.json.
Run: PYTHONPATH=src .venv/bin/python benchmarks/ngsild_temporal.py [--instances 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from cityloop.base.db import Base, Database
from cityloop.platforms.data.perception import rollups
from cityloop.platforms.data.perception.models import Measurement, MeasurementRollup
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import temporal
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity, NgsiTenant
from cityloop.platforms.data.perception.ngsild.temporal_aggregation import aggregate_series
from harness import (
    ROOT,
    machine_info,
)
from workload import (
    insert_in_batches,
    load_average,
    timed,
)

RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENTITY = "urn:ngsi-ld:Vehicle:bench"
START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)
TARGET_MS = 200


def _instances(count: int) -> Iterator[dict[str, object]]:
    rng = random.Random(7)
    created = datetime.now(UTC)
    for n in range(count):
        value = round(rng.uniform(0, 130), 1)
        moment = START + STEP * n
        yield {
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


def seed(db: Database, count: int) -> float:
    """The entity and its ``speed`` series, as the temporal API stores instances, then its
    rollups rebuilt from them; the seconds the rebuild took."""
    core = contexts.core()
    with db.writing() as session:
        session.add(NgsiTenant(name=""))
        session.add(NgsiEntity(tenant="", entity_id=ENTITY, type=core.expand("Vehicle"), attrs={}))
    insert_in_batches(db, Measurement, _instances(count), 20_000)
    started = time.perf_counter()
    with db.writing() as session:
        rollups.rebuild(session)
    rebuild = time.perf_counter() - started
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE measurements"))
            c.execute(text("VACUUM ANALYZE measurement_rollups"))
    else:
        with db.engine.connect() as c:
            c.execute(text("ANALYZE"))
    return rebuild


def measure(db: Database, count: int, runs: int) -> dict[str, dict[str, Any]]:
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

    def instances_only() -> object:
        # The same whole-series answer without the rollups: every instance in one GROUP BY.
        m = Measurement
        assert whole.aggregation is not None
        with db.read() as session:
            return aggregate_series(
                session,
                where=[m.tenant == "", m.entity_id == ENTITY, m.attribute == "speed"],
                time_column=m.observed_at,
                end=None,
                aggregation=whole.aggregation,
            )

    def ceiling() -> object:
        r = MeasurementRollup
        with db.read() as session:
            return session.execute(
                select(func.sum(r.count), func.sum(r.sum)).where(
                    r.tenant == "", r.entity_id == ENTITY, r.attribute == "speed", r.width == 3600
                )
            ).one()

    def scan() -> object:
        m = Measurement
        with db.read() as session:
            return session.execute(
                select(func.count(), func.sum(m.num_value)).where(
                    m.tenant == "", m.entity_id == ENTITY, m.attribute == "speed"
                )
            ).one()

    slow_runs = max(2, runs // 10)
    return {
        "whole_series_p1d": timed(runs, aggregate(whole)),
        "one_week_pt1h": timed(runs, aggregate(week)),
        "ceiling_hour_rollups": timed(runs, ceiling),
        "without_rollups_p1d": timed(slow_runs, instances_only),
        "bare_scan_of_instances": timed(slow_runs, scan),
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
        models = (Measurement, MeasurementRollup, NgsiEntity, NgsiTenant)
        Base.metadata.create_all(db.engine, tables=[m.__table__ for m in models])
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
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
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
            if name == "sqlite" and args.no_sqlite:
                continue
            db = make()
            started = time.perf_counter()
            rebuild = seed(db, args.instances)
            seconds = time.perf_counter() - started
            print(f"{name}: seeded {args.instances} instances in {seconds:.0f} s")
            print(f"{name}: rollups rebuilt from them in {rebuild:.1f} s (load {load_average()})")
            cases = measure(db, args.instances, args.runs)
            db.dispose()
            for case, numbers in cases.items():
                p50, p95, load = numbers["p50_ms"], numbers["p95_ms"], numbers["load_1min"]
                print(f"{name:10s} {case:24s} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  load {load}")
            whole, slow = cases["whole_series_p1d"], cases["without_rollups_p1d"]
            ceiling = cases["ceiling_hour_rollups"]
            speedup = round(slow["p50_ms"] / whole["p50_ms"], 1)
            over = round(whole["p50_ms"] / ceiling["p50_ms"], 1)
            print(
                f"{name:10s} whole series p95 {whole['p95_ms']} ms against {TARGET_MS} ms; "
                f"{speedup}x faster than without rollups; {over}x the ceiling"
            )
            figures[name] = {
                **cases,
                "rebuild_seconds": round(rebuild, 1),
                "speedup_p50": speedup,
                "over_ceiling_p50": over,
            }
    print(f"target: whole-series aggregation over {args.instances} instances p95 < {TARGET_MS} ms")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
