"""`make bench`: the real server over loopback HTTP, with the client in this process.

For each server configuration (worker processes) and repetition, a fresh data dir is seeded
with the demo city and accounts, `cityloop serve` is started, and four scenarios run at 32
concurrent clients, each bounded by a request count and a time limit:

1. ceiling   GET /healthz, the trivial endpoint of the same app
2. intake    POST /open311/v2/requests.json, form-encoded, no photo   (>= 300/s, p99 < 200 ms)
3. photo     the same with a ~100 KB JPEG as multipart field `media`  (>= 100/s, p99 < 200 ms)
4. read      GET /open311/v2/requests/{id}.json for the ids created   (>= 1,500/s)

While the Open311 adapter is missing (its POST route answers 404/405) the native API stands in:
POST /api/v1/reports (after POST /api/v1/media for the photo) and GET /api/v1/public/cases/{id}.
The output says which API was measured. Figures go to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    Clients,
    LoadResult,
    PointPool,
    Reply,
    Server,
    machine_info,
    make_photo,
    run_load,
)

RESULTS = Path(__file__).resolve().parent / "results"
SERVICE_CODE = "C-02-01"  # pothole: normal priority, 50 m dedupe radius
API_KEY = "demo"


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
        Scenario("healthz", "ceiling: GET /healthz", n(20_000), 5 * scale),
        Scenario("intake", "intake, no photo", n(4_000), 8 * scale, 300, 200),
        Scenario("photo", "intake, 100 KB photo", n(1_500), 8 * scale, 100, 200),
        Scenario("read", "read one request", n(15_000), 5 * scale, 1_500),
    ]


class Workload:
    """The requests of one server lifetime, against Open311 or (until it exists) the native API."""

    def __init__(self, clients: Clients, api: str, photo: bytes) -> None:
        self.clients = clients
        self.api = api
        self.read_api = "native"
        self.photo = photo
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
        photo = ("pothole.jpg", self.photo, "image/jpeg")
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
    photo: bytes,
    plan: list[Scenario],
    api_wanted: str,
    concurrency: int,
    client_kind: str,
) -> dict[str, Any]:
    clients = Clients(server.base_url, concurrency, client_kind)
    try:
        api = await detect_api(clients, api_wanted)
        work = Workload(clients, api, photo)
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
                max_seconds=1.0,
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
        "scenarios": {},
    }
    for key, result in results.items():
        entry = result.summary()
        entry["ratio_to_ceiling"] = round(result.throughput / ceiling, 3) if ceiling else None
        out["scenarios"][key] = entry
    return out


def print_line(scenario: Scenario, result: LoadResult, ceiling: LoadResult | None) -> None:
    ratio = ""
    if ceiling is not None and scenario.key != "healthz" and ceiling.throughput:
        ratio = f"  = {result.throughput / ceiling.throughput:.2f} x healthz"
    extra = ""
    if result.errors:
        codes = {**{str(k): v for k, v in result.statuses.items() if not 200 <= k < 300}}
        codes.update(result.exceptions)
        extra = f"  errors by kind: {codes}"
    print(
        f"  {scenario.title:<24} {result.requests:>6} req  {result.throughput:>8.1f} req/s  "
        f"p50 {result.percentile(50):7.1f}  p95 {result.percentile(95):7.1f}  "
        f"p99 {result.percentile(99):7.1f} ms  errors {result.errors}  "
        f"target {scenario.target_text()}{ratio}  "
        f"(cpu: server {result.server_cpu or 0:.2f}, client {result.client_cpu:.2f} cores){extra}",
        flush=True,
    )


def summarise(plan: list[Scenario], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repetitions of each worker configuration."""
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
                values = [s[field] for s in seen if s[field] is not None]
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
                "ratio_to_ceiling": median("ratio_to_ceiling")
                if scenario.key != "healthz"
                else 1.0,
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
    print("\nSummary (medians over repetitions; errors summed)")
    header = (
        f"{'server':<10} {'scenario':<24} {'api':<8} {'req/s':>9} {'p50':>7} {'p95':>7} "
        f"{'p99 ms':>7} {'err':>4}  {'x ceiling':>9}  {'target':<24} met"
    )
    print(header)
    print("-" * len(header))
    for config, rows in summary.items():
        for row in rows.values():
            met = {True: "yes", False: "NO", None: "-"}[row["met"]]
            print(
                f"{config:<10} {row['title']:<24} {'/'.join(row['api']):<8} "
                f"{row['throughput_rps']:>9.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
                f"{row['p99_ms']:>7.1f} {row['errors']:>4}  {row['ratio_to_ceiling']:>9.2f}  "
                f"{row['target']:<24} {met}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2", help="server worker counts to try, e.g. 1,2")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per worker count")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="scale request counts and time limits"
    )
    parser.add_argument("--api", choices=("auto", "open311", "native"), default="auto")
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="load generator: httpx (default) or a minimal HTTP/1.1 client (cross-check)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)

    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    plan = scenarios(args.scale)
    info = machine_info()
    print("CityLoop benchmarks: the real server over loopback HTTP, embedded SQLite")
    print(
        f"date {info['date']}  nproc {info['nproc']}  python {info['python']}  "
        f"cpu {info.get('cpu', '?')}  sqlite {info['versions'].get('sqlite')}"
    )
    print(
        f"{args.concurrency} concurrent clients ({args.client} + asyncio, one process, sharing the "
        f"machine with the server); workers {worker_counts}; {args.reps} repetition(s)"
    )
    photo = make_photo()
    print(f"photo: {len(photo):,} byte JPEG, 800x600")

    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    for workers in worker_counts:
        for rep in range(1, args.reps + 1):
            print(f"\n[workers={workers} rep {rep}/{args.reps}]", flush=True)
            with Server(workers=workers) as server:
                print(
                    f"  server on {server.base_url} (seed {server.seed_seconds:.1f} s, "
                    f"start {server.start_seconds:.1f} s)",
                    flush=True,
                )
                try:
                    run = asyncio.run(
                        run_once(server, photo, plan, args.api, args.concurrency, args.client)
                    )
                except Exception:
                    print(f"  server log tail:\n{server.log_tail()}", file=sys.stderr)
                    raise
            print(
                f"  api: intake={run['api']['intake']} read={run['api']['read']}; "
                f"points reused {run['points_reused']} of {run['points_available']}; "
                f"reports joined to an existing case {run['joined_existing']}",
                flush=True,
            )
            runs.append({"workers": workers, "rep": rep, **run})

    summary = summarise(plan, runs)
    print_summary(summary)
    total = time.perf_counter() - started
    print(f"\ntotal {total:.0f} s")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": info,
        "config": {
            "concurrency": args.concurrency,
            "client": args.client,
            "workers": worker_counts,
            "repetitions": args.reps,
            "scale": args.scale,
            "photo_bytes": len(photo),
            "database": "sqlite (embedded default)",
            "limits": {
                s.key: {"max_requests": s.max_requests, "max_seconds": s.max_seconds} for s in plan
            },
        },
        "summary": summary,
        "runs": runs,
        "total_seconds": round(total, 1),
    }
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"figures saved to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
