"""Cost as the city grows, for `make bench`: the same requests at 10 k and at 1 M cases.

One database per engine (a SQLite file in a data dir; the scratch PostgreSQL database
``cityloop_bench_scale``, created and dropped) gets the demo city, then cases bulk-seeded by
benchmarks/scale_seed.py (reports, timelines, deadlines, departments and categories skewed,
statuses mixed; ids in the order of time) and sensor readings, afresh for each size, and each
size is measured through the service functions and over HTTP (the real app, in process):

- intake: ``submit_report`` / ``POST /api/v1/reports`` (a new case each, at a fresh point);
- read: one public record, ``public_case_out`` / ``GET /api/v1/public/cases/{id}``;
- staff queue: first page of a department's open cases, soonest deadline first;
- Open311 list: ``GET /open311/v2/requests.json`` with the spec's defaults (last 90 days);
- public map: ``GET /api/v1/public/cases`` with its defaults;
- NGSI-LD: one sensor's last hour, ``GET /ngsi-ld/v1/temporal/entities/{id}``.

Target: p95 at the largest size within 1.5 × p95 at the smallest. Ceilings measured in the
same run: a case read by primary key (service) and ``GET /healthz`` (HTTP). The query plans of
the staff queue, the Open311 list and the public map at the largest size are printed.

Run: PYTHONPATH=src .venv/bin/python benchmarks/scale.py [--cases 10k,1M] [--samples 40]
     [--readings-per-case 2] [--engines sqlite,postgresql] [--postgres URL]
`make bench` runs it at 10k,100k with 2 readings a case; `make bench SCALE_CASES=10k,1M
SCALE_READINGS=50` is the issue's full size (1 M cases, 50 M readings).
Writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from cityloop import migrate  # noqa: E402
from cityloop.app import build_context, create_app  # noqa: E402
from cityloop.base.db import Database  # noqa: E402
from cityloop.demo.seed import seed_city  # noqa: E402
from cityloop.domains.governance import citizen, queries  # noqa: E402
from cityloop.domains.governance.intake import ReportInput, submit_report  # noqa: E402
from cityloop.domains.governance.models import Case  # noqa: E402
from cityloop.domains.governance.open311 import queries as open311  # noqa: E402
from cityloop.domains.governance.open311 import records  # noqa: E402
from cityloop.domains.governance.presenters import public_case_out  # noqa: E402
from cityloop.domains.governance.workflow import OPEN_STATES  # noqa: E402
from cityloop.platforms.application.identity import service as identity  # noqa: E402
from cityloop.platforms.application.identity.roles import Role  # noqa: E402
from cityloop.platforms.data.perception.ngsild import context as contexts  # noqa: E402
from cityloop.platforms.data.perception.ngsild import temporal  # noqa: E402
from cityloop.platforms.data.perception.ngsild.models import NgsiTenant  # noqa: E402
from cityloop.settings import Settings  # noqa: E402
from harness import machine_info  # noqa: E402
from scale_seed import NOW, READING_ATTRIBUTE, reading_entity, seed_cases, seed_readings  # noqa: E402
from workload import PointPool, load_average, p50_p95_ms  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SCRATCH_PG = "cityloop_bench_scale"
TARGET_RATIO = 1.5
PASSWORD = "bench-password-long-enough"
DEPARTMENT = "roads"  # a busy department: the staff queue filtered to it
INTAKE_CATEGORY = "C-02-01"  # pothole: no required attributes
EXPLAINED = ("staff queue", "Open311 list", "public map")


def parse_size(value: str) -> int:
    value = value.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(value[-1:], 1)
    return int(float(value.rstrip("km")) * scale)


@contextmanager
def database(engine: str, postgres: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file in ``folder``, or the scratch PostgreSQL
    database, dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'cityloop.db'}"
        return
    admin = Database(postgres)
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_PG} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {SCRATCH_PG}"))
        yield postgres.rsplit("/", 1)[0] + "/" + SCRATCH_PG
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_PG} WITH (FORCE)"))
        admin.dispose()


class Plans:
    """The SQL a call runs, captured at the cursor, then explained on the same engine."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[tuple[str, Any]] | None = None
        event.listen(db.engine, "before_cursor_execute", self._capture)

    def _capture(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.seen is not None and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, params))

    def explain(self, work: Callable[[], object]) -> list[dict[str, Any]]:
        self.seen = []
        work()
        seen, self.seen = self.seen, None
        is_pg = self.db.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF) " if is_pg else "EXPLAIN QUERY PLAN "
        plans = []
        with self.db.engine.connect() as connection:
            for statement, params in seen:
                if " cases" not in statement and "FROM measurements" not in statement:
                    continue
                rows = connection.exec_driver_sql(prefix + statement, params).all()
                lines = [r[0] if is_pg else "  " * _depth(r) + str(r[-1]) for r in rows]
                plans.append({"sql": " ".join(statement.split())[:400], "plan": lines})
        return plans


def _depth(row: Any) -> int:
    return 0 if row[1] == 0 else 1


def operations(ctx: Any, client: TestClient, headers: dict[str, str], size: int) -> dict[str, Any]:
    """Each measured operation as (service call, HTTP call)."""
    points = PointPool(seed=size)
    admin = identity.Actor(None, "bench-admin", Role.ADMIN)
    core = contexts.core()
    read_ids = iter(range(7, size, max(1, size // 997)))
    since = (NOW - timedelta(hours=1)).isoformat()
    last_hour = temporal.parse_time_query(
        timerel="after",
        time_at=since,
        end_time_at=None,
        last_n=None,
        attrs=(core.expand(READING_ATTRIBUTE),),
        options=set(),
        aggr_methods=None,
        aggr_period=None,
    )
    staff_filter = queries.CaseFilter(
        status=[s.value for s in OPEN_STATES], department=DEPARTMENT, sort="deadline"
    )

    def intake() -> None:
        lat, lon = points.take()
        with ctx.writing() as session:
            submit_report(
                session,
                actor=identity.ANONYMOUS,
                data=ReportInput(category=INTAKE_CATEGORY, lat=lat, lon=lon, description="bench"),
            )

    def intake_http() -> None:
        lat, lon = points.take()
        body = {"category": INTAKE_CATEGORY, "lat": lat, "lon": lon, "description": "bench"}
        client.post("/api/v1/reports", json=body).raise_for_status()

    def read() -> None:
        with ctx.reading() as session:
            public_case_out(session, citizen.public_case(session, case_id=next(read_ids)))

    def staff() -> None:
        with ctx.reading() as session:
            queries.list_cases(session, actor=admin, filters=staff_filter, page_size=50)

    def open311_list() -> None:
        query = open311.parse_request_query(
            service_request_id=None, service_code=None, start_date=None, end_date=None,
            status=None, page=1, page_size=None, max_page_size=1000, now=NOW,
        )  # fmt: skip
        with ctx.reading() as session:
            records.request_records(
                session, cases=open311.find_requests(session, query=query), base_url="http://x"
            )

    def public_map() -> None:
        with ctx.reading() as session:
            queries.public_map_cases(session, bbox=None, category=None, recent_days=14, limit=500)

    def ngsild() -> None:
        with ctx.reading() as session:
            temporal.temporal_entity(
                session, tenant="", entity_id=reading_entity(7), query=last_hour, active=core
            )

    def ceiling() -> None:
        with ctx.reading() as session:
            session.get(Case, next(read_ids))

    def get(url: str, params: dict[str, Any] | None = None) -> Callable[[], None]:
        def call() -> None:
            client.get(url, params=params, headers=headers).raise_for_status()

        return call

    return {
        "intake": (intake, intake_http),
        "read": (read, lambda: get(f"/api/v1/public/cases/{next(read_ids)}")()),
        "staff queue": (
            staff,
            get("/api/v1/cases", {"department": DEPARTMENT, "open": "true", "sort": "deadline"}),
        ),
        "Open311 list": (open311_list, get("/open311/v2/requests.json")),
        "public map": (public_map, get("/api/v1/public/cases")),
        "NGSI-LD temporal": (
            ngsild,
            get(
                f"/ngsi-ld/v1/temporal/entities/{reading_entity(7)}",
                {"attrs": "illuminance", "timerel": "after", "timeAt": since},
            ),
        ),
        "ceiling": (ceiling, get("/healthz")),
    }


def sample(work: Callable[[], object], runs: int) -> dict[str, float]:
    work()  # warm the caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return p50_p95_ms(samples)


def measure(url: str, data_dir: Path, size: int, runs: int, explain: bool) -> dict[str, Any]:
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        run_background=False,
        intake_rate_limit=0,
    )
    ctx = build_context(settings)
    figures: dict[str, Any] = {"load_1min_before": load_average()}
    with TestClient(create_app(settings, ctx)) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "bench-admin", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for name, (service, http) in operations(ctx, client, headers, size).items():
            # A 1,000-record Open311 page takes a second on a loaded machine: fewer of those.
            n = max(5, runs // 4) if name == "Open311 list" else runs
            figures[name] = {"service": sample(service, n), "http": sample(http, n)}
            s, h = figures[name]["service"], figures[name]["http"]
            print(
                f"    {name:17} service p50 {s['p50_ms']:7.2f} p95 {s['p95_ms']:7.2f} ms"
                f"   http p50 {h['p50_ms']:7.2f} p95 {h['p95_ms']:7.2f} ms",
                flush=True,
            )
        if explain:
            plans = Plans(ctx.db)
            ops = operations(ctx, client, headers, size)
            figures["plans"] = {name: plans.explain(ops[name][0]) for name in EXPLAINED}
    figures["load_1min_after"] = load_average()
    ctx.db.dispose()
    return figures


def prepare(url: str) -> None:
    """The schema, the demo city and a staff account."""
    db = Database(url)
    migrate.upgrade(db)
    with db.writing() as session:
        seed_city(session)
        if session.get(NgsiTenant, "") is None:
            session.add(NgsiTenant(name=""))
        identity.create_user(session, username="bench-admin", password=PASSWORD, role="admin")
    db.dispose()


def run_engine(engine: str, postgres: str, sizes: list[int], args: argparse.Namespace) -> list:
    """Each size in a database of its own: two years of history at every size, ids in the
    order of time (a database grown from 10 k would hold its new cases among the old ones)."""
    results: list[dict[str, Any]] = []
    for size in sizes:
        with (
            tempfile.TemporaryDirectory(prefix="cityloop-scale-") as folder,
            database(engine, postgres, Path(folder)) as url,
        ):
            prepare(url)
            db = Database(url)
            seconds = seed_cases(db, first_id=1, count=size)
            readings = size * args.readings_per_case
            reading_seconds = seed_readings(db, first=0, count=readings)
            db.dispose()
            print(
                f"  {engine}: {size:,} cases in {seconds:.1f} s, {readings:,} readings in "
                f"{reading_seconds:.1f} s; load {load_average()}",
                flush=True,
            )
            figures = measure(url, Path(folder), size, args.samples, size == sizes[-1])
        results.append(
            {
                "engine": engine,
                "cases": size,
                "readings": readings,
                "seed_seconds": round(seconds + reading_seconds, 1),
                "figures": figures,
            }
        )
    return results


def report(engine: str, results: list[dict[str, Any]]) -> None:
    small, big = results[0], results[-1]
    print(
        f"  {engine}: p95 at {big['cases']:,} / p95 at {small['cases']:,} cases"
        f" (target ≤ {TARGET_RATIO}×)"
    )
    for name, figure in big["figures"].items():
        if not isinstance(figure, dict) or "service" not in figure:
            continue
        for path in ("service", "http"):
            was, now = small["figures"][name][path], figure[path]
            p95 = now["p95_ms"] / was["p95_ms"] if was["p95_ms"] else 0.0
            # On a shared machine the median's ratio is the steadier reading of the same cost.
            p50 = now["p50_ms"] / was["p50_ms"] if was["p50_ms"] else 0.0
            met = "" if name == "ceiling" else ("met" if p95 <= TARGET_RATIO else "NOT met")
            print(
                f"    {name:17} {path:7} p95 {was['p95_ms']:7.2f} → {now['p95_ms']:7.2f} ms"
                f"  {p95:5.2f}× {met:7}  (p50 {was['p50_ms']:7.2f} → {now['p50_ms']:7.2f} ms"
                f"  {p50:5.2f}×)"
            )
    for name, plans in big["figures"].get("plans", {}).items():
        print(f"  plan of the {name} at {big['cases']:,} cases ({engine}):")
        for plan in plans:
            print(f"    {plan['sql'][:160]}")
            for line in plan["plan"]:
                print(f"      {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default="10k,1M", help="sizes: 10k,100k,1M")
    parser.add_argument("--readings-per-case", type=int, default=2, help="50 for 50 M at 1 M")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    args = parser.parse_args(argv)
    sizes = sorted(parse_size(s) for s in args.cases.split(","))
    print(
        f"Cost as the city grows: {', '.join(f'{s:,}' for s in sizes)} cases; load {load_average()}"
    )
    document: dict[str, Any] = {"machine": machine_info(), "target_ratio": TARGET_RATIO, "runs": []}
    for engine in args.engines.split(","):
        try:
            results = run_engine(engine, args.postgres, sizes, args)
        except Exception as exc:
            if engine != "postgresql" or "connect" not in str(exc).lower():
                raise
            print(f"  PostgreSQL not reachable ({type(exc).__name__}); skipped")
            continue
        report(engine, results)
        document["runs"].extend(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"saved {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
