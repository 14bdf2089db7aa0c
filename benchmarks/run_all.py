"""`make bench`: the real server over loopback HTTP, with the load generator in this process.

The demo city and accounts are seeded once (`cityloop seed --accounts`). For each server
configuration (`--workers`, default 1 and 2 processes) and repetition (`--reps`, default 3), a
fresh copy of that data dir is served by `cityloop serve` on a free loopback port, with the
intake rate limit off, and four scenarios run at 32 concurrent clients, each bounded by a
request count and a time limit (at most ~5 s each; the whole run takes under ~3 minutes):

1. ceiling  GET /healthz, the trivial endpoint of the same app, measured in the same run
2. intake   POST /open311/v2/requests.json, form-encoded, no photo   (>= 400/s, p99 < 150 ms)
3. photo    the same as multipart with a ~100 KB JPEG in field media (>= 100/s, p99 < 400 ms)
4. read     GET /open311/v2/requests/{id}.json for the ids just made  (>= 2,000/s, p99 < 50 ms)

If the Open311 adapter is not installed, the native API stands in: POST /api/v1/reports (after
POST /api/v1/media for the photo) and GET /api/v1/public/cases/{id}; the output names the API
it measured. Nothing here asserts on time: figures are printed next to their targets and the
ceiling, and saved to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    Clients,
    LoadResult,
    Reply,
    Server,
    machine_info,
    run_load,
    seed,
)
from pg_scratch import ScratchDatabases
from workload import (
    PointPool,
    make_photos,
)

RESULTS = Path(__file__).resolve().parent / "results"
SERVICE_CODE = "C-02-01"  # pothole: normal priority, 50 m dedupe radius
API_KEY = "demo"
PHOTO_SIZE = (800, 600)
PHOTO_COUNT = 600  # distinct photos; a run uses each at most once unless it outruns them


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    max_requests: int
    max_seconds: float
    target_rps: float | None = None
    target_p99_ms: float | None = None

    def target_text(self) -> str:
        parts = []
        if self.target_rps:
            parts.append(f">= {self.target_rps:,.0f}/s")
        if self.target_p99_ms:
            parts.append(f"p99 < {self.target_p99_ms:.0f} ms")
        return ", ".join(parts) if parts else "(ceiling)"

    def met(self, rps: float, p99: float, errors: int) -> bool | None:
        if self.target_rps is None and self.target_p99_ms is None:
            return None
        ok = errors == 0
        if self.target_rps is not None:
            ok = ok and rps >= self.target_rps
        if self.target_p99_ms is not None:
            ok = ok and p99 < self.target_p99_ms
        return ok


def scenarios(scale: float) -> list[Scenario]:
    def n(count: int) -> int:
        return max(50, int(count * scale))

    return [
        Scenario("healthz", "ceiling: GET /healthz", n(20_000), 3 * scale),
        Scenario("intake", "intake, no photo", n(4_000), 5 * scale, 400, 150),
        Scenario("photo", "intake, 100 KB photo", n(1_500), 5 * scale, 100, 400),
        Scenario("read", "read one request", n(15_000), 3 * scale, 2_000, 50),
    ]


class Workload:
    """The requests of one server lifetime, against Open311 or (until it exists) the native API."""

    def __init__(self, clients: Clients, api: str, photos: list[bytes]) -> None:
        self.clients = clients
        self.api = api
        self.read_api = "native"
        self.photos = photos
        self.photos_used = 0
        self.points = PointPool()
        self.ids: list[str] = []
        self.tokens: list[str] = []
        self.joined = 0
        self.rng = random.Random(7)

    # ---------------------------------------------------------------- jobs

    async def healthz(self, slot: int, _seq: int) -> int:
        return (await self.clients.request(slot, "GET", "/healthz")).status

    def _form(self, seq: int) -> dict[str, str]:
        lat, lon = self.points.take()
        return {
            "api_key": API_KEY,
            "service_code": SERVICE_CODE,
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
            "description": f"Benchmark pothole #{seq}: a deep hole in the near-side lane.",
            "attribute[size]": "medium",
        }

    @staticmethod
    def _native(form: dict[str, str], media: list[str]) -> dict[str, Any]:
        return {
            "category": form["service_code"],
            "lat": float(form["lat"]),
            "lon": float(form["long"]),
            "description": form["description"],
            "attributes": {"size": "medium"},
            "media": media,
        }

    def _remember(self, reply: Reply) -> None:
        if not reply.ok:
            return
        body = reply.json()
        item = body[0] if isinstance(body, list) and body else body
        if not isinstance(item, dict):
            return
        if item.get("joined_existing"):
            self.joined += 1
        request_id = item.get("service_request_id") or item.get("case_id")
        if request_id is not None:
            self.ids.append(str(request_id))
        elif item.get("token"):
            self.tokens.append(str(item["token"]))

    async def intake(self, slot: int, seq: int) -> int:
        form = self._form(seq)
        if self.api == "open311":
            reply = await self.clients.request(slot, "POST", "/open311/v2/requests.json", form=form)
        else:
            reply = await self.clients.request(
                slot, "POST", "/api/v1/reports", json_body=self._native(form, [])
            )
        self._remember(reply)
        return reply.status

    async def photo_intake(self, slot: int, seq: int) -> int:
        form = self._form(seq)
        photo = ("pothole.jpg", self.photos[self.photos_used % len(self.photos)], "image/jpeg")
        self.photos_used += 1
        if self.api == "open311":
            reply = await self.clients.request(
                slot, "POST", "/open311/v2/requests.json", form=form, files={"media": photo}
            )
        else:  # two calls: upload, then report with the media id
            upload = await self.clients.request(
                slot, "POST", "/api/v1/media", files={"file": photo}
            )
            if not upload.ok:
                return upload.status
            reply = await self.clients.request(
                slot,
                "POST",
                "/api/v1/reports",
                json_body=self._native(form, [upload.json()["id"]]),
            )
        self._remember(reply)
        return reply.status

    def _read_path(self, request_id: str, api: str) -> str:
        if api == "open311":
            return f"/open311/v2/requests/{request_id}.json"
        return f"/api/v1/public/cases/{request_id}"

    async def read(self, slot: int, _seq: int) -> int:
        path = self._read_path(self.rng.choice(self.ids), self.read_api)
        return (await self.clients.request(slot, "GET", path)).status

    # ---------------------------------------------------------------- api discovery

    async def prepare_reads(self) -> None:
        """Open311 may answer a POST with a token only: turn some into ids. Then read through
        Open311 when the adapter serves the ids just created, else through the native API."""
        for token in self.tokens[:500]:
            reply = await self.clients.request(0, "GET", f"/open311/v2/tokens/{token}.json")
            if reply.ok:
                body = reply.json()
                item = body[0] if isinstance(body, list) and body else body
                if isinstance(item, dict) and item.get("service_request_id"):
                    self.ids.append(str(item["service_request_id"]))
        self.read_api = "native"
        if self.api == "open311" and self.ids:
            probe = await self.clients.request(0, "GET", self._read_path(self.ids[0], "open311"))
            if probe.ok:
                self.read_api = "open311"


async def detect_api(clients: Clients, wanted: str) -> str:
    """Open311 when the adapter is installed: it lists its services, and its POST route answers
    an empty form with a 4xx naming a missing field rather than 404/405 (no route)."""
    if wanted != "auto":
        return wanted
    services = await clients.request(0, "GET", "/open311/v2/services.json")
    if not services.ok:
        return "native"
    probe = await clients.request(0, "POST", "/open311/v2/requests.json", form={})
    return "open311" if 400 <= probe.status < 500 and probe.status not in (404, 405) else "native"


async def run_once(
    server: Server,
    photos: list[bytes],
    plan: list[Scenario],
    api_wanted: str,
    concurrency: int,
    client_kind: str,
) -> dict[str, Any]:
    clients = Clients(server.base_url, concurrency, client_kind)
    try:
        api = await detect_api(clients, api_wanted)
        work = Workload(clients, api, photos)
        jobs = {
            "healthz": work.healthz,
            "intake": work.intake,
            "photo": work.photo_intake,
            "read": work.read,
        }
        results: dict[str, LoadResult] = {}
        for scenario in plan:
            if scenario.key == "read":
                await work.prepare_reads()
                if not work.ids:
                    print("  read: skipped, no request ids were created", flush=True)
                    continue
            job = jobs[scenario.key]
            # Warm-up, not counted: connections, caches, the server's thread pool.
            await run_load(
                scenario.key,
                job,
                concurrency=concurrency,
                max_requests=max(concurrency * 4, scenario.max_requests // 20),
                max_seconds=0.5,
            )
            result = await run_load(
                scenario.key,
                job,
                concurrency=concurrency,
                max_requests=scenario.max_requests,
                max_seconds=scenario.max_seconds,
                server_pgid=server.pgid,
            )
            results[scenario.key] = result
            print_line(scenario, result, results.get("healthz"))
    finally:
        await clients.aclose()
    ceiling = results["healthz"].throughput if "healthz" in results else 0.0
    out: dict[str, Any] = {
        "api": {"intake": api, "read": work.read_api},
        "points_available": len(work.points),
        "points_reused": work.points.reused,
        "joined_existing": work.joined,
        "photos_used": work.photos_used,
        "photos_distinct": len(photos),
        "scenarios": {},
    }
    for key, result in results.items():
        entry = result.summary()
        entry["ratio_to_ceiling"] = round(result.throughput / ceiling, 3) if ceiling else None
        entry["other_cpu_cores"] = round(other_cpu(result), 2)
        out["scenarios"][key] = entry
    return out


class ServerFailed(Exception):
    """The server did not start, or died under load."""


def run_server(
    workers: int,
    template: Path,
    photos: list[bytes],
    plan: list[Scenario],
    args: Any,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    try:
        with Server(workers=workers, template=template, env=env) as server:
            print(
                f"  server on {server.base_url}, ready in {server.start_seconds:.1f} s", flush=True
            )
            try:
                return asyncio.run(
                    run_once(server, photos, plan, args.api, args.concurrency, args.client)
                )
            except Exception as exc:
                raise ServerFailed(
                    f"{type(exc).__name__}: {exc}\n  server log tail:\n{server.log_tail()}"
                ) from exc
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        raise ServerFailed(str(exc)) from exc


def print_line(scenario: Scenario, result: LoadResult, ceiling: LoadResult | None) -> None:
    ratio = ""
    if ceiling is not None and scenario.key != "healthz" and ceiling.throughput:
        ratio = f"; {scenario.key} = {result.throughput / ceiling.throughput:.2f} × healthz"
    extra = ""
    if result.errors:
        codes = {str(k): v for k, v in result.statuses.items() if not 200 <= k < 300}
        codes.update(result.exceptions)
        extra = f"\n      errors by kind: {codes}"
    print(
        f"  {scenario.title:<22} {result.requests:>6} req {result.throughput:>8.1f} req/s  "
        f"p50 {result.percentile(50):6.1f}  p95 {result.percentile(95):6.1f}  "
        f"p99 {result.percentile(99):6.1f} ms  errors {result.errors}\n"
        f"      target {scenario.target_text()}{ratio}; cpu cores used: "
        f"server {result.server_cpu or 0:.2f}, client {result.client_cpu:.2f}, "
        f"anything else {other_cpu(result):.2f}{extra}",
        flush=True,
    )


def other_cpu(result: LoadResult) -> float:
    """Cores that neither the server nor the load generator used: the machine's noise."""
    if result.machine_cpu is None:
        return 0.0
    return max(0.0, result.machine_cpu - (result.server_cpu or 0.0) - result.client_cpu)


def summarise(plan: list[Scenario], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repetitions of each worker configuration (errors are summed)."""
    summary: dict[str, Any] = {}
    for workers in sorted({run["workers"] for run in runs}):
        mine = [run for run in runs if run["workers"] == workers]
        rows: dict[str, Any] = {}
        for scenario in plan:
            seen = [
                run["scenarios"][scenario.key] for run in mine if scenario.key in run["scenarios"]
            ]
            if not seen:
                continue

            def median(field: str, seen: list[dict[str, Any]] = seen) -> float:
                values = [s[field] for s in seen if s.get(field) is not None]
                return round(statistics.median(values), 3) if values else 0.0

            rps, p99 = median("throughput_rps"), median("p99_ms")
            errors = sum(s["errors"] for s in seen)
            rows[scenario.key] = {
                "title": scenario.title,
                "repetitions": len(seen),
                "requests": sum(s["requests"] for s in seen),
                "throughput_rps": rps,
                "p50_ms": median("p50_ms"),
                "p95_ms": median("p95_ms"),
                "p99_ms": p99,
                "errors": errors,
                "ratio_to_ceiling": (
                    median("ratio_to_ceiling") if scenario.key != "healthz" else 1.0
                ),
                "server_cpu_cores": median("server_cpu_cores"),
                "client_cpu_cores": median("client_cpu_cores"),
                "other_cpu_cores": median("other_cpu_cores"),
                "target": scenario.target_text(),
                "target_rps": scenario.target_rps,
                "target_p99_ms": scenario.target_p99_ms,
                "met": scenario.met(rps, p99, errors),
                "api": sorted(
                    {run["api"]["read" if scenario.key == "read" else "intake"] for run in mine}
                ),
            }
        summary[f"workers={workers}"] = rows
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    print("\nSummary: medians over the repetitions (errors summed); cpu = cores used")
    header = (
        f"{'server':<10} {'scenario':<22} {'api':<7} {'req/s':>8} {'p50':>6} {'p95':>6} "
        f"{'p99 ms':>7} {'err':>4} {'×ceil':>6} {'cpu: srv':>8} {'cli':>4} {'other':>5}  "
        f"{'target':<22} met"
    )
    print(header)
    print("-" * len(header))
    for config, rows in summary.items():
        for row in rows.values():
            met = {True: "yes", False: "NO", None: "-"}[row["met"]]
            print(
                f"{config:<10} {row['title']:<22} {'/'.join(row['api']):<7} "
                f"{row['throughput_rps']:>8.1f} {row['p50_ms']:>6.1f} {row['p95_ms']:>6.1f} "
                f"{row['p99_ms']:>7.1f} {row['errors']:>4} {row['ratio_to_ceiling']:>6.2f} "
                f"{row['server_cpu_cores']:>8.2f} {row['client_cpu_cores']:>4.2f} "
                f"{row['other_cpu_cores']:>5.2f}  "
                f"{row['target']:<22} {met}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2", help="server worker counts to try, e.g. 1,2")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per worker count")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every request cap and time limit"
    )
    parser.add_argument("--api", choices=("auto", "open311", "native"), default="auto")
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="load generator: httpx (default), or a minimal HTTP/1.1 client as a cross-check",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the embedded SQLite (default), or PostgreSQL (a scratch copy of a seeded template "
        "per run, on CITYLOOP_BENCH_POSTGRES or 127.0.0.1:5432)",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.output is None:
        name = "latest.json" if args.database == "sqlite" else "postgresql.json"
        args.output = RESULTS / name

    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    plan = scenarios(args.scale)
    info = machine_info()
    engine = "embedded SQLite" if args.database == "sqlite" else "PostgreSQL"
    print(f"CityLoop benchmarks: the real server over loopback HTTP, {engine}")
    print(
        f"date {info['date']}  nproc {info['nproc']}  python {info['python']}  "
        f"cpu {info.get('cpu', '?')}  sqlite {info['versions'].get('sqlite')}  "
        f"load average {' '.join(str(x) for x in info.get('loadavg', []))}"
    )
    print(
        f"load: {args.concurrency} concurrent clients ({args.client} + asyncio, one keep-alive "
        f"connection each) in this process, on the same cores as the server"
    )
    print(f"server: workers {worker_counts}; {args.reps} repetition(s) each, a fresh server each")
    print(
        "limits: " + "; ".join(f"{s.key} {s.max_requests} req or {s.max_seconds:g} s" for s in plan)
    )
    photos = make_photos(PHOTO_COUNT, size=PHOTO_SIZE)
    sizes = sorted(len(p) for p in photos)
    print(
        f"photos: {len(photos)} distinct {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEGs of "
        f"{sizes[0]:,}-{sizes[-1]:,} bytes"
    )

    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    template = Path(tempfile.mkdtemp(prefix="cityloop-bench-seed-"))
    scratch = ScratchDatabases() if args.database == "postgresql" else None
    seeded_db: str | None = None
    try:
        if scratch is not None:
            seeded_db = scratch.create()
            os.environ["CITYLOOP_DATABASE_URL"] = scratch.url(seeded_db)  # for the seed only
        try:
            seed_seconds = seed(template, keep_database_url=scratch is not None)
        finally:
            os.environ.pop("CITYLOOP_DATABASE_URL", None)
        print(f"seeded the demo city and accounts in {seed_seconds:.1f} s")
        for workers in worker_counts:
            for rep in range(1, args.reps + 1):
                load = os.getloadavg()[0]
                print(
                    f"\n[workers={workers} rep {rep}/{args.reps}]  load average {load:.2f}",
                    flush=True,
                )
                env: dict[str, str] = {}
                if scratch is not None and seeded_db is not None:
                    env["CITYLOOP_DATABASE_URL"] = scratch.url(scratch.create(seeded_db))
                try:
                    run = run_server(workers, template, photos, plan, args, env)
                except ServerFailed as exc:
                    # Record it and go on: one broken configuration should not hide the others.
                    print(f"  FAILED: {exc}", flush=True)
                    failures.append({"workers": workers, "rep": rep, "error": str(exc)})
                    continue
                print(
                    f"  api: intake={run['api']['intake']} read={run['api']['read']}; "
                    f"points reused {run['points_reused']} of {run['points_available']}; "
                    f"reports joined to an existing case {run['joined_existing']}; "
                    f"photos sent {run['photos_used']} of {run['photos_distinct']} distinct",
                    flush=True,
                )
                runs.append({"workers": workers, "rep": rep, "loadavg_1m": round(load, 2), **run})
    finally:
        shutil.rmtree(template, ignore_errors=True)
        if scratch is not None:
            scratch.drop_all()

    summary = summarise(plan, runs)
    print_summary(summary)
    total = time.perf_counter() - started
    print(f"\ntotal {total:.0f} s; load average now {os.getloadavg()[0]:.2f}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": info,
        "config": {
            "concurrency": args.concurrency,
            "client": args.client,
            "workers": worker_counts,
            "repetitions": args.reps,
            "scale": args.scale,
            "photo_bytes": statistics.median(sizes),
            "photos_distinct": len(photos),
            "photo_pixels": list(PHOTO_SIZE),
            "database": "sqlite (embedded default)"
            if args.database == "sqlite"
            else "postgresql (a scratch copy of the seeded template per run)",
            "limits": {
                s.key: {"max_requests": s.max_requests, "max_seconds": s.max_seconds} for s in plan
            },
        },
        "summary": summary,
        "runs": runs,
        "failures": failures,
        "total_seconds": round(total, 1),
    }
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"figures saved to {args.output}")
    return 1 if failures or not runs else 0


if __name__ == "__main__":
    raise SystemExit(main())
