"""NGSI-LD query speed over 100,000 entities in embedded SQLite: type + q + near.

Prints p50/p95 of ``reads.query_entities`` (and of the same query over HTTP in-process) next to
the target (p95 < 25 ms) and a ceiling measured in the same run: one primary-key entity read.
Results go to benchmarks/results/ngsild-query.json (benchmarks/tables.py turns them into the
table in docs/performance.md).
Run: PYTHONPATH=src .venv/bin/python benchmarks/ngsild_query.py [--entities 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from cityloop.app import build_context, create_app
from cityloop.base.db import Database, utcnow
from cityloop.migrate import upgrade
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import reads
from cityloop.platforms.data.perception.ngsild.entities import expand_entity, now_iso
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.query import parse_q
from cityloop.platforms.data.perception.ngsild.rows import find, place
from cityloop.settings import Settings
from harness import (
    ROOT,
    machine_info,
)
from workload import (
    insert_in_batches,
    p50_p95_ms,
)

RESULTS = ROOT / "benchmarks" / "results"

CENTRE = (8.68, 49.40)  # lon, lat; entities spread over about 20 km x 20 km
TYPES = ("WasteContainer", "Streetlight", "ParkingSpot", "AirQualityObserved")


def _entities(count: int) -> Iterator[dict[str, object]]:
    core = contexts.core()
    rng = random.Random(7)
    stamp = now_iso()
    for n in range(count):
        lon = CENTRE[0] + rng.uniform(-0.14, 0.14)
        lat = CENTRE[1] + rng.uniform(-0.09, 0.09)
        body = {
            "id": f"urn:ngsi-ld:{TYPES[n % 4]}:{n}",
            "type": TYPES[n % 4],
            "fillingLevel": {"type": "Property", "value": rng.random()},
            "status": {"type": "Property", "value": rng.choice(["ok", "full", "broken"])},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [lon, lat]},
            },
        }
        incoming = expand_entity(body, core, stamp=stamp)
        row = NgsiEntity(
            tenant="",
            entity_id=incoming.entity_id,
            type=incoming.types[0],
            types=incoming.types,
            attrs=incoming.attrs,
        )
        place(row)
        now = utcnow()
        yield {
            "tenant": "",
            "entity_id": row.entity_id,
            "type": row.type,
            "types": row.types,
            "attrs": row.attrs,
            "lat": row.lat,
            "lon": row.lon,
            "min_lat": row.min_lat,
            "min_lon": row.min_lon,
            "max_lat": row.max_lat,
            "max_lon": row.max_lon,
            "lat_span": row.lat_span,
            "created_at": now,
            "modified_at": now,
        }


def seed(db: Database, count: int) -> None:
    insert_in_batches(db, NgsiEntity, _entities(count), 5000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--output", type=Path, default=RESULTS / "ngsild-query.json")
    args = parser.parse_args()
    info = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        upgrade(db)
        started = time.perf_counter()
        seed(db, args.entities)
        print(f"seeded {args.entities} entities in {time.perf_counter() - started:.1f} s")
        core = contexts.core()
        rng = random.Random(11)
        q = parse_q('fillingLevel>0.7;status=="full"')
        service_times, ceiling_times, found = [], [], 0
        for _ in range(args.queries):
            lon = CENTRE[0] + rng.uniform(-0.12, 0.12)
            lat = CENTRE[1] + rng.uniform(-0.08, 0.08)
            query = reads.EntityQuery(
                types=[core.expand("WasteContainer")],
                q=q,
                geo=parse_geoquery("near;maxDistance==500", "Point", f"[{lon},{lat}]", None),
                limit=100,
            )
            t0 = time.perf_counter()
            with db.read() as session:
                rows, _ = reads.query_entities(session, tenant="", query=query, active=core)
            service_times.append(time.perf_counter() - t0)
            found += len(rows)
            t0 = time.perf_counter()
            with db.read() as session:
                find(
                    session,
                    tenant="",
                    entity_id=f"urn:ngsi-ld:WasteContainer:{rng.randrange(0, args.entities, 4)}",
                )
            ceiling_times.append(time.perf_counter() - t0)
        db.dispose()
        settings = Settings(
            data_dir=Path(tmp), database_url=url, run_background=False, secret_key="x" * 40
        )
        ctx = build_context(settings)
        http_times = []
        with TestClient(create_app(settings, ctx)) as client:
            for _ in range(args.queries):
                lon = CENTRE[0] + rng.uniform(-0.12, 0.12)
                lat = CENTRE[1] + rng.uniform(-0.08, 0.08)
                t0 = time.perf_counter()
                response = client.get(
                    "/ngsi-ld/v1/entities",
                    params={
                        "type": "WasteContainer",
                        "q": 'fillingLevel>0.7;status=="full"',
                        "georel": "near;maxDistance==500",
                        "geometry": "Point",
                        "coordinates": f"[{lon},{lat}]",
                        "limit": 100,
                    },
                )
                http_times.append(time.perf_counter() - t0)
                assert response.status_code == 200
        ctx.db.dispose()
    figures: dict[str, object] = {
        "machine": info,
        "entities": args.entities,
        "queries": args.queries,
        "target_p95_ms": 25,
        "mean_matches": round(found / args.queries, 1),
    }
    for key, name, samples in (
        ("service", "service", service_times),
        ("http", "http (in-process)", http_times),
        ("ceiling", "ceiling: one entity by id", ceiling_times),
    ):
        numbers = p50_p95_ms(samples)
        figures[key] = numbers
        p50, p95 = numbers["p50_ms"], numbers["p95_ms"]
        print(f"{name:28s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
    print(f"target: type + q + near p95 < 25 ms; mean matches per query {found / args.queries:.1f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
