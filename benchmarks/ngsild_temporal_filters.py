"""NGSI-LD temporal queries filtered on history (clause 5.7.4.4), on SQLite and PostgreSQL.

2,000 vehicles, each with a ``speed`` series of one instance every 30 minutes over a day
(96,000 instances) and a scope history of two instances. The service call
(``temporal.temporal_query``, a page of 20 with count=true) is timed over a 6-hour window for:

- ``q=speed>120``, judged on each vehicle's instances within the window;
- ``scopeQ=/Fleet/A``, judged on the scope valid within the window, bounding the instances.

Target (ours; the issue sets none): p95 < 500 ms for either. The ceiling, measured in the same
run, is the same temporal query by type alone (no history filter, no count).
PostgreSQL runs when reachable (``CITYLOOP_BENCH_DATABASE_URL`` or ``--postgres``).
Results go to benchmarks/results/ngsild-temporal-filters.json.
Run: PYTHONPATH=src .venv/bin/python benchmarks/ngsild_temporal_filters.py [--entities 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from cityloop.base.db import Database
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import temporal
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity, NgsiTenant
from cityloop.platforms.data.perception.ngsild.query import parse_q
from cityloop.platforms.data.perception.ngsild.reads import EntityQuery
from cityloop.platforms.data.perception.ngsild.scopes import parse_scope_q
from harness import machine_info
from ngsild_temporal import DEFAULT_PG, RESULTS, databases, timed

START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=30)
TARGET_MS = 500


def _row(entity: str, name: str, moment: datetime, value: Any) -> dict[str, Any]:
    number = value if isinstance(value, float) else None
    return {
        "tenant": "",
        "entity_id": entity,
        "attribute": name,
        "observed_at": moment,
        "num_value": number,
        "text_value": value if isinstance(value, str) else None,
        "kind": "Property",
        "document": {"type": "Property", "value": value, "observedAt": moment.isoformat()},
        "created_at": moment,
        "modified_at": moment,
    }


def seed(db: Database, count: int) -> None:
    """The vehicles, their speed series and scope histories, as the temporal API stores them."""
    core = contexts.core()
    rng = random.Random(7)
    vehicle = core.expand("Vehicle")
    with db.writing() as session:
        session.add(NgsiTenant(name=""))
        session.add_all(
            NgsiEntity(
                tenant="",
                entity_id=f"urn:ngsi-ld:Vehicle:{n}",
                type=vehicle,
                types=[vehicle],
                scope=["/Fleet/B"],
                attrs={},
            )
            for n in range(count)
        )
    rows: list[dict[str, Any]] = []
    for n in range(count):
        entity = f"urn:ngsi-ld:Vehicle:{n}"
        # Half the fleet moves from /Fleet/A to /Fleet/B at noon.
        first = "/Fleet/A" if n % 2 else "/Fleet/C"
        rows.append(_row(entity, "scope", START - timedelta(days=1), first))
        rows.append(_row(entity, "scope", START + timedelta(hours=12), "/Fleet/B"))
        rows.extend(
            _row(entity, "speed", START + STEP * i, round(rng.uniform(0, 130), 1))
            for i in range(48)
        )
        if len(rows) >= 20_000:
            with db.writing() as session:
                session.execute(insert(Measurement), rows)
            rows = []
    if rows:
        with db.writing() as session:
            session.execute(insert(Measurement), rows)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.connect() as c:
            c.execute(text("ANALYZE"))


def measure(db: Database, runs: int) -> dict[str, dict[str, float]]:
    core = contexts.core()
    window = temporal.parse_time_query(
        timerel="between",
        time_at=(START + timedelta(hours=9)).isoformat(),
        end_time_at=(START + timedelta(hours=15)).isoformat(),
        last_n=None,
        attrs=(),
        options=set(),
    )

    def query(**filters: Any) -> Callable[[], object]:
        def work() -> object:
            selection = EntityQuery(
                types=[core.expand("Vehicle")], limit=20, count=bool(filters), **filters
            )
            with db.read() as session:
                results, _ = temporal.temporal_query(
                    session, tenant="", selection=selection, query=window, active=core, page=1000
                )
            assert results
            return results

        return work

    return {
        "q_speed_over_120": timed(runs, query(q=parse_q("speed>120"))),
        "scopeq_fleet_a": timed(runs, query(scope_q=parse_scope_q("/Fleet/A"))),
        "ceiling_type_only": timed(runs, query()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--postgres", default=os.environ.get("CITYLOOP_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS / "ngsild-temporal-filters.json")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": machine_info(),
        "entities": args.entities,
        "instances": args.entities * 50,
        "runs": args.runs,
        "target_p95_ms": TARGET_MS,
    }
    with databases(None if args.no_postgres else args.postgres) as engines:
        for name, make in engines:
            db = make()
            started = time.perf_counter()
            seed(db, args.entities)
            print(
                f"{name}: seeded {args.entities} vehicles in {time.perf_counter() - started:.0f} s"
            )
            result = measure(db, args.runs)
            db.dispose()
            figures[name] = result
            for case, numbers in result.items():
                p50, p95 = numbers["p50_ms"], numbers["p95_ms"]
                print(f"{name:10s} {case:20s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    print(
        f"target: a q or scopeQ temporal query over {args.entities} vehicles p95 < {TARGET_MS} ms"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
