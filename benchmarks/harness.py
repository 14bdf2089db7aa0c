"""Shared pieces of the benchmarks: the real server as a subprocess, a closed-loop HTTP load
generator, latency statistics, and the fixtures (points inside the city, a ~100 KB photo).

Nothing here asserts on time. The scripts print figures next to their targets and a ceiling
measured in the same run, so that a reader can judge them on whatever machine ran them.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: cityloop lives next to its python
CITYLOOP = BIN / "cityloop"


# ------------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`cityloop seed --accounts` into a fresh temp data dir, then `cityloop serve` on a free
    loopback port, with the intake rate limit off. Always stopped (and the dir removed) on exit."""

    def __init__(self, workers: int = 1, startup_timeout: float = 60.0) -> None:
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(tempfile.mkdtemp(prefix="cityloop-bench-"))
        self.log_path = self.data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.seed_seconds = 0.0
        self.start_seconds = 0.0

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = {**os.environ, "CITYLOOP_INTAKE_RATE_LIMIT": "0"}
        env.pop("CITYLOOP_DATA_DIR", None)
        env.pop("CITYLOOP_DATABASE_URL", None)  # embedded mode: SQLite in the data dir
        env.pop("CITYLOOP_STORAGE_URL", None)
        started = time.perf_counter()
        subprocess.run(
            [str(CITYLOOP), "seed", "--data-dir", str(self.data_dir), "--accounts"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.seed_seconds = time.perf_counter() - started
        started = time.perf_counter()
        log = self.log_path.open("wb")
        cmd = [str(CITYLOOP), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        # Its own session, so the whole group (uvicorn's worker processes too) can be stopped.
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited early:\n{self.log_tail()}")
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server was not ready in time:\n{self.log_tail()}")
                time.sleep(0.1)
            if self.workers > 1:
                # /readyz answers as soon as the first worker is up; give the rest a moment.
                time.sleep(1.5)
        self.start_seconds = time.perf_counter() - started

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        shutil.rmtree(self.data_dir, ignore_errors=True)


# ------------------------------------------------------------------------------ load


@dataclass
class LoadResult:
    name: str
    requests: int
    elapsed: float
    latencies_ms: list[float]
    statuses: Counter[int]
    exceptions: Counter[str] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        """Non-2xx answers plus requests that got no answer at all."""
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(self.exceptions.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "elapsed_s": round(self.elapsed, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms, default=0.0), 2),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "exceptions": dict(self.exceptions),
        }


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# One unit of work: given its sequence number, do it and answer the HTTP status that counts.
Job = Callable[[int], Awaitable[int]]


async def run_load(
    name: str,
    job: Job,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
) -> LoadResult:
    """A closed loop: `concurrency` clients each send their next request as soon as the previous
    one is answered, until `max_requests` have been started or `max_seconds` have passed."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    exceptions: Counter[str] = Counter()
    counter = iter(range(max_requests))
    started = time.perf_counter()
    deadline = started + max_seconds
    finished_at = started

    async def client() -> None:
        nonlocal finished_at
        for seq in counter:
            if time.perf_counter() >= deadline:
                return
            t0 = time.perf_counter()
            try:
                status = await job(seq)
            except (httpx.HTTPError, OSError) as exc:
                exceptions[type(exc).__name__] += 1
                continue
            t1 = time.perf_counter()
            latencies.append((t1 - t0) * 1000)
            statuses[status] += 1
            finished_at = max(finished_at, t1)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = max(finished_at, time.perf_counter()) - started
    return LoadResult(
        name, len(latencies) + sum(exceptions.values()), elapsed, latencies, statuses, exceptions
    )


def make_client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(60.0),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


# ------------------------------------------------------------------------------ fixtures


class PointPool:
    """Points inside the demo city on a lattice `spacing_m` apart, shuffled, handed out once
    each, so reports of the same category do not land within each other's dedupe radius. When
    the pool runs dry it starts again (those reports will join existing cases) and counts it."""

    def __init__(self, spacing_m: float = 101.0, seed: int = 311) -> None:
        from shapely.geometry import Point, Polygon
        from shapely.ops import unary_union

        from cityloop.demo.city import build_demo_city

        city = build_demo_city()
        districts = [Polygon(j.polygon) for j in city.jurisdictions if j.level == "district"]
        # A hair inside the outline, so no point sits exactly on the city's edge.
        area = unary_union(districts).buffer(-0.0002)
        min_lon, min_lat, max_lon, max_lat = area.bounds
        dlat = spacing_m / 111_320
        dlon = spacing_m / (111_320 * math.cos(math.radians((min_lat + max_lat) / 2)))
        points: list[tuple[float, float]] = []
        lat = min_lat
        while lat <= max_lat:
            lon = min_lon
            while lon <= max_lon:
                if area.contains(Point(lon, lat)):
                    points.append((round(lat, 6), round(lon, 6)))
                lon += dlon
            lat += dlat
        random.Random(seed).shuffle(points)
        self.points = points
        self.next_index = 0
        self.reused = 0

    def __len__(self) -> int:
        return len(self.points)

    def take(self) -> tuple[float, float]:
        """(lat, lon)"""
        if self.next_index >= len(self.points):
            self.reused += 1
        point = self.points[self.next_index % len(self.points)]
        self.next_index += 1
        return point


def make_photo(target_bytes: int = 100_000, size: tuple[int, int] = (800, 600)) -> bytes:
    """A deterministic JPEG of about `target_bytes`: a smooth gradient (like a sky or a road)
    with enough noise blended in that the encoder cannot squeeze it below the target."""
    from PIL import Image

    width, height = size
    rng = random.Random(42)
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    tinted = Image.merge(
        "RGB",
        (
            gradient.getchannel(0),
            gradient.getchannel(1).point(lambda v: 60 + v // 2),
            gradient.getchannel(2).point(lambda v: 255 - v),
        ),
    )
    noise = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))

    def encode(alpha: float) -> bytes:
        out = io.BytesIO()
        Image.blend(tinted, noise, alpha).save(out, "JPEG", quality=85)
        return out.getvalue()

    low, high = 0.0, 1.0
    best = encode(high)
    for _ in range(14):  # bisect the noise level until the file is within ~2 % of the target
        mid = (low + high) / 2
        data = encode(mid)
        if abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            best = data
        if abs(len(data) - target_bytes) <= target_bytes * 0.02:
            break
        if len(data) < target_bytes:
            low = mid
        else:
            high = mid
    return best


# ------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    versions: dict[str, str] = {}
    for package in ("uvicorn", "fastapi", "starlette", "sqlalchemy", "httpx", "uvloop"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            continue
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    info["versions"] = versions
    return info
