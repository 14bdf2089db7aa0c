"""The operations centre's map, for `make bench`: `GET /api/v1/operations/map?layers=cases` over
100,000 open cases, on SQLite and, when a server answers, on PostgreSQL.

A migrated database gets 100,000 open case facts (bulk-inserted with Core, spread over four
districts, a quarter of them overdue) and an admin account; the app is served in process
(Starlette's TestClient: the whole route, its scope check, the query and the JSON, without a
socket). Each sample is one GET of the case layer as the admin sees it (every case).

Target: p95 < 1,000 ms for 100,000 cases (the screen loads it once, then follows the live feed).
Ceiling, in the same run: the route's own SELECT (citymap.case_query), fetched raw into
Python (what the route cannot do faster than); the route's figure over it shows what the rows'
shaping and the JSON cost.

Run: .venv/bin/python benchmarks/ops_map.py [--cases 100000] [--samples 15]
     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --no-postgres]
Writes benchmarks/results/ops-map.json.
"""

from __future__ import annotations

import argparse
import json
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

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from cityloop import migrate  # noqa: E402
from cityloop.app import build_context, create_app  # noqa: E402
from cityloop.base.db import Database  # noqa: E402
from cityloop.domains.operations import citymap  # noqa: E402
from cityloop.domains.operations.models import CaseFactRow  # noqa: E402
from cityloop.platforms.application.identity import service as identity  # noqa: E402
from cityloop.settings import Settings  # noqa: E402
from harness import machine_info, percentile  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "ops-map.json"
TARGET_P95_MS = 1000.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime.now(UTC)
DISTRICTS = [f"D{n}" for n in range(1, 5)]
STATUSES = ["registered", "dispatched", "in_progress", "resolved"]
BATCH = 20_000
PASSWORD = "bench-password-long-enough"


def seed(db: Database, count: int) -> float:
    """Bulk-insert ``count`` open case facts; seconds taken."""
    rng = random.Random(count)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for case_id in range(1, count + 1):
        created = NOW - timedelta(hours=rng.randint(1, 24 * 60))
        district = rng.choice(DISTRICTS)
        street = f"{district}-S{rng.randint(1, 5)}"
        rows.append(
            {
                "case_id": case_id,
                "category": f"C-{rng.randint(1, 60):02d}-01",
                "priority": rng.choice(("normal", "normal", "normal", "urgent", "low")),
                "channel": "app",
                "department": f"dept{rng.randint(0, 17):02d}",
                "district": district,
                "street": street,
                "grid": f"{street}-G{rng.randint(1, 8)}",
                "lat": 30 + rng.random() * 0.2,
                "lon": 120 + rng.random() * 0.2,
                "status": rng.choice(STATUSES),
                "created_at": created,
                "registered_at": created,
                "dispatched_at": created,
                "resolution_due": NOW + timedelta(hours=rng.randint(-24, 72)),
                "rework_count": 0,
                "ratings": 0,
                "stars_total": 0,
                "recorded_at": created,
            }
        )
        if len(rows) >= BATCH:
            with db.engine.begin() as connection:
                connection.execute(insert(CaseFactRow), rows)
            rows.clear()
    if rows:
        with db.engine.begin() as connection:
            connection.execute(insert(CaseFactRow), rows)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        is_pg = db.engine.dialect.name == "postgresql"
        connection.execute(text("VACUUM ANALYZE" if is_pg else "ANALYZE"))
    return time.perf_counter() - started


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }


def measure(url: str, data_dir: Path, samples: int) -> dict[str, Any]:
    """p50/p95 of the map's case layer over HTTP, and of the raw SELECT (the ceiling)."""
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        run_background=False,
    )
    ctx = build_context(settings)
    with ctx.writing() as session:
        identity.create_user(session, username="bench-admin", password=PASSWORD, role="admin")
    figures: dict[str, Any] = {}
    with TestClient(create_app(settings, ctx)) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "bench-admin", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        sizes: list[int] = []

        def fetch() -> None:
            answer = client.get("/api/v1/operations/map?layers=cases", headers=headers)
            answer.raise_for_status()
            sizes.append(len(answer.content))

        fetch()  # warm the caches
        figures["GET /operations/map?layers=cases"] = _summary(
            [timed(fetch) for _ in range(samples)]
        )
        figures["answer_bytes"] = sizes[-1]
        # The route's own statement (the admin's scope: every open case), fetched raw.
        query = citymap.case_query(scope={}, now=datetime.now(UTC))

        def raw() -> None:
            with ctx.reading() as session:
                session.execute(query).all()

        raw()
        figures["ceiling: the raw SELECT of the same rows"] = _summary(
            [timed(raw) for _ in range(samples)]
        )
    ctx.db.dispose()
    return figures


@contextmanager
def databases(postgres: str | None) -> Iterator[list[tuple[str, Callable[[], str]]]]:
    """A fresh, migrated database URL per engine (a temporary SQLite file; a new PostgreSQL
    database), and a folder for the app's data dir."""
    folder = tempfile.TemporaryDirectory(prefix="cityloop-opsmap-")
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

    def sqlite() -> str:
        return f"sqlite:///{Path(folder.name) / f'{uuid.uuid4().hex[:8]}.db'}"

    def pg() -> str:
        assert admin is not None and postgres is not None
        name = f"cityloop_bench_{uuid.uuid4().hex[:8]}"
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        created.append(name)
        return postgres.rsplit("/", 1)[0] + "/" + name

    engines: list[tuple[str, Callable[[], str]]] = [("sqlite", sqlite)]
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


def report(results: list[dict[str, Any]]) -> None:
    print(f"Operations centre map: the case layer over HTTP; target p95 < {TARGET_P95_MS:.0f} ms")
    for result in results:
        figures = result["figures"]
        ceiling = figures["ceiling: the raw SELECT of the same rows"]
        print(
            f"  {result['engine']}, {result['cases']:,} open cases "
            f"(seeded in {result['seed_seconds']:.0f} s; answer {figures['answer_bytes']:,} bytes)"
        )
        for name, figure in figures.items():
            if not isinstance(figure, dict):
                continue
            met = "" if name.startswith("ceiling") else (
                "  met" if figure["p95_ms"] < TARGET_P95_MS else "  NOT met"
            )  # fmt: skip
            ratio = figure["p95_ms"] / ceiling["p95_ms"] if ceiling["p95_ms"] else 0
            print(
                f"    {name:42} p50 {figure['p50_ms']:7.1f}  p95 {figure['p95_ms']:7.1f} ms"
                f"  ({ratio:4.1f} × ceiling){met}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with databases(None if args.no_postgres else args.postgres) as engines:
        for engine, make in engines:
            url = make()
            db = Database(url)
            migrate.upgrade(db)
            seconds = seed(db, args.cases)
            db.dispose()
            print(f"{engine}: seeded {args.cases:,} open case facts in {seconds:.1f} s", flush=True)
            with tempfile.TemporaryDirectory(prefix="cityloop-opsmap-data-") as data_dir:
                figures = measure(url, Path(data_dir), args.samples)
            results.append(
                {
                    "engine": engine,
                    "cases": args.cases,
                    "seed_seconds": round(seconds, 1),
                    "figures": figures,
                }
            )
            report(results[-1:])
    write(results, args.samples)
    return 0


def write(results: list[dict[str, Any]], samples: int) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine_info(),
        "target_p95_ms": TARGET_P95_MS,
        "samples": samples,
        "results": results,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
