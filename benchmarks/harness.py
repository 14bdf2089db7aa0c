"""Shared pieces of the benchmarks: the real server as a subprocess, a closed-loop HTTP load
generator, latency statistics, and the fixtures (points inside the city, a ~100 KB photo).

Nothing here asserts on time. The scripts print figures next to their targets and a ceiling
measured in the same run, so that a reader can judge them on whatever machine ran them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: cityloop lives next to its python
CITYLOOP = BIN / "cityloop"


# ------------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    """The environment of every cityloop command here: embedded mode (SQLite and files in the
    data dir given on the command line) and the per-client intake rate limit off."""
    env = {**os.environ, "CITYLOOP_INTAKE_RATE_LIMIT": "0"}
    for name in ("CITYLOOP_DATA_DIR", "CITYLOOP_DATABASE_URL", "CITYLOOP_STORAGE_URL"):
        env.pop(name, None)
    return env


def seed(data_dir: Path, keep_database_url: bool = False) -> float:
    """`cityloop seed --accounts`: the demo city, its accounts and the Open311 key "demo" (into
    the database CITYLOOP_DATABASE_URL names when ``keep_database_url``, else the data dir's)."""
    started = time.perf_counter()
    env = server_env()
    if keep_database_url:
        env["CITYLOOP_DATABASE_URL"] = os.environ["CITYLOOP_DATABASE_URL"]
    subprocess.run(
        [str(CITYLOOP), "seed", "--data-dir", str(data_dir), "--accounts"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


class Server:
    """`cityloop serve` on a free loopback port over a fresh temp data dir, seeded by `cityloop
    seed --accounts` (or copied from a dir it seeded a moment ago, which is the same thing and
    saves a few seconds a run). Always stopped, and its dir removed, on exit."""

    def __init__(
        self,
        workers: int = 1,
        template: Path | None = None,
        startup_timeout: float = 180.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workers = workers
        self.env = {**server_env(), **(env or {})}
        self.template = template
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
        if self.template is not None:
            shutil.copytree(self.template, self.data_dir, dirs_exist_ok=True)
        else:
            self.seed_seconds = seed(self.data_dir)
        started = time.perf_counter()
        log = self.log_path.open("wb")
        cmd = [str(CITYLOOP), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)]  # always: serve's default depends on the engine
        # Its own session, so the whole group (uvicorn's worker processes too) can be stopped.
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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
            # /readyz answers as soon as one worker is up: wait for every worker to say so.
            while self.log_path.read_bytes().count(b"Application startup complete") < self.workers:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"not every worker started:\n{self.log_tail()}")
                time.sleep(0.1)
        self.start_seconds = time.perf_counter() - started

    @property
    def pgid(self) -> int | None:
        """The server's process group (its own session): uvicorn and any worker processes."""
        return self.proc.pid if self.proc is not None else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
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
    client_cpu: float = 0.0  # cores the load generator (this process) used
    server_cpu: float | None = None  # cores the server's processes used
    machine_cpu: float | None = None  # cores busy on the whole machine, everything included

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
            "client_cpu_cores": round(self.client_cpu, 2),
            "server_cpu_cores": None if self.server_cpu is None else round(self.server_cpu, 2),
            "machine_cpu_cores": None if self.machine_cpu is None else round(self.machine_cpu, 2),
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


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by the live processes of one process group (Linux /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (not idle or waiting on I/O), Linux only."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# One unit of work: given the client slot and its sequence number, do it and answer the HTTP
# status that counts.
Job = Callable[[int, int], Awaitable[int]]


async def run_load(
    name: str,
    job: Job,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    server_pgid: int | None = None,
) -> LoadResult:
    """A closed loop: `concurrency` clients each send their next request as soon as the previous
    one is answered, until `max_requests` have been started or `max_seconds` have passed."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    exceptions: Counter[str] = Counter()
    counter = iter(range(max_requests))
    server_cpu0 = group_cpu_seconds(server_pgid) if server_pgid else 0.0
    client_cpu0 = time.process_time()
    machine0 = machine_busy_seconds()
    started = time.perf_counter()
    deadline = started + max_seconds

    async def client(slot: int) -> None:
        for seq in counter:
            if time.perf_counter() >= deadline:
                return
            t0 = time.perf_counter()
            try:
                status = await job(slot, seq)
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as exc:
                exceptions[type(exc).__name__] += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[status] += 1

    await asyncio.gather(*(client(slot) for slot in range(concurrency)))
    elapsed = time.perf_counter() - started
    client_cpu = (time.process_time() - client_cpu0) / elapsed
    machine1 = machine_busy_seconds()
    machine_cpu = None
    if machine0 is not None and machine1 is not None:
        machine_cpu = (machine1 - machine0) / elapsed
    server_cpu = None
    if server_pgid:
        server_cpu = (group_cpu_seconds(server_pgid) - server_cpu0) / elapsed
    return LoadResult(
        name,
        len(latencies) + sum(exceptions.values()),
        elapsed,
        latencies,
        statuses,
        exceptions,
        client_cpu,
        server_cpu,
        machine_cpu,
    )


@dataclass
class Reply:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


class Clients:
    """`concurrency` independent HTTP clients, one keep-alive connection each, like separate
    phones. Each load slot uses its own, so no two requests queue on one connection pool.

    kind "httpx" (the default) uses one httpx.AsyncClient per slot. A single shared
    AsyncClient with 32 connections spends most of its time in its pool bookkeeping at this
    concurrency (encode/httpx#3215) and would measure itself, not the server. kind "raw" is a
    minimal HTTP/1.1 client on asyncio streams, several times cheaper per request, kept as a
    cross-check of how much of a figure is the load generator's own cost."""

    def __init__(self, base_url: str, concurrency: int, kind: str = "httpx") -> None:
        self.kind = kind
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self.httpx = [
            httpx.AsyncClient(
                base_url=base_url,
                timeout=httpx.Timeout(60.0),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for _ in range(concurrency if kind == "httpx" else 1)
        ]
        self.raw = [RawConnection(self.host, self.port) for _ in range(concurrency)]

    async def aclose(self) -> None:
        for client in self.httpx:
            await client.aclose()
        for conn in self.raw:
            conn.close()

    async def request(
        self,
        slot: int,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        if self.kind == "httpx":
            response = await self.httpx[slot].request(
                method, path, data=form, json=json_body, files=files
            )
            return Reply(response.status_code, response.content)
        content_type, body = encode_body(form, json_body, files)
        return await self.raw[slot].request(method, path, content_type, body)


def encode_body(
    form: dict[str, str] | None,
    json_body: Any,
    files: dict[str, tuple[str, bytes, str]] | None,
) -> tuple[str | None, bytes]:
    if files:
        boundary = uuid.uuid4().hex
        parts: list[bytes] = []
        for name, value in (form or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + value.encode()
                + b"\r\n"
            )
        for name, (filename, data, ctype) in files.items():
            parts.append(
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
                ).encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return f"multipart/form-data; boundary={boundary}", b"".join(parts)
    if form is not None:
        return "application/x-www-form-urlencoded", urlencode(form).encode()
    if json_body is not None:
        return "application/json", json.dumps(json_body).encode()
    return None, b""


class RawConnection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for uvicorn's answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, content_type: str | None, body: bytes) -> Reply:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        try:
            self.writer.write(head.encode() + b"\r\n" + body)
            header_block = await self.reader.readuntil(b"\r\n\r\n")
            lines = header_block.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                data = await self.reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    chunks.append(chunk[:-2])
                data = b"".join(chunks)
            else:
                data = await self.reader.read()
                self.close()
            if headers.get("connection", "").lower() == "close":
                self.close()
            return Reply(status, data)
        except BaseException:
            self.close()
            raise


# ------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(AttributeError):
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
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
