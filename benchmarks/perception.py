"""Perception figures for `make bench`: device ingest over MQTT and HTTP batches, alarm-to-case
latency under that load, NGSI-LD query latency over 100,000 entities, and the raw insert rate
of the same rows into the same store as the ceiling.

The real server runs as `cityloop serve` over a fresh embedded (SQLite) data dir, subscribed to
a private Mosquitto on a free port (so nothing else on the machine shares the broker). The
broker is configured for a bulk subscriber: 1,000 messages in flight and no cap on the queue,
as docs/operations.md recommends for production. Nothing here asserts on time: each figure is
printed next to its target and the ceiling. Results go to benchmarks/results/perception.json.

With ``--database-url`` (a PostgreSQL maintenance database) the server runs over a fresh
PostgreSQL database instead, and the ceiling is the raw insert into its (partitioned) table;
results then go to benchmarks/results/perception-postgresql.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from harness import (
    CITYLOOP,
    ROOT,
    Server,
    free_port,
    machine_info,
    percentile,
    server_env,
)
from workload import (
    PointPool,
)

RESULTS = ROOT / "benchmarks" / "results"
BENCH_PROFILE = "bench-ul"
BENCH_APIKEY = "bench-key"
UL_PAYLOAD = "t|{t:.2f}|h|{h:.1f}"  # two readings per message, as a small weather node sends
BATCH_PAYLOAD = "t|{t:.2f}|h|{h:.1f}|p|{p:.1f}|b|{b:.2f}"  # four readings per batch item


# ------------------------------------------------------------------------------ the broker


class Broker:
    """A private Mosquitto on a free port, with the settings a bulk subscriber needs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cityloop-bench-mqtt-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Broker:
        config = self.dir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_inflight_messages 1000\n"
            "max_queued_messages 0\n"
        )
        self.proc = subprocess.Popen(
            ["/usr/sbin/mosquitto", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


# ------------------------------------------------------------------------------ setup


@contextmanager
def admin_client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def register_fleet(client: httpx.Client, devices: int) -> list[str]:
    """A UltraLight weather-node profile, its group and ``devices`` devices (by CSV import)."""
    client.post(
        "/api/v1/perception/profiles",
        json={
            "code": BENCH_PROFILE,
            "name": "Benchmark weather node",
            "entity_type": "DeviceMeasurement",
            "codec": "ul",
            "codec_config": {},
        },
    ).raise_for_status()
    client.post(
        "/api/v1/perception/groups", json={"apikey": BENCH_APIKEY, "profile_code": BENCH_PROFILE}
    ).raise_for_status()
    points = PointPool(spacing_m=40)
    ids = [f"bench-{n:05d}" for n in range(devices)]
    rows = ["device_id,apikey,name,lat,lon"]
    for device_id in ids:
        lat, lon = points.take()
        rows.append(f"{device_id},{BENCH_APIKEY},{device_id},{lat:.6f},{lon:.6f}")
    reply = client.post(
        "/api/v1/perception/devices/import",
        content="\n".join(rows).encode(),
        headers={"Content-Type": "text/csv"},
    )
    reply.raise_for_status()
    return ids


def metric(client: httpx.Client, name: str, labels: str = "") -> float:
    text = client.get("/metrics").text
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    match = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


# ------------------------------------------------------------------------------ scenarios


def publish(broker_port: int, device_ids: list[str], messages: int, seed: int) -> float:
    """Publish ``messages`` QoS 1 messages as fast as the broker takes them; seconds taken."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    rng = random.Random(seed)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-publisher-{seed}",
        clean_session=True,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    started = time.perf_counter()
    infos = []
    for n in range(messages):
        device_id = device_ids[n % len(device_ids)]
        payload = UL_PAYLOAD.format(t=15 + rng.random() * 10, h=40 + rng.random() * 30)
        infos.append(client.publish(f"/{BENCH_APIKEY}/{device_id}/attrs", payload, qos=1))
    for info in infos:
        info.wait_for_publish(timeout=120)
    took = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return took


def mqtt_ingest(server: Server, broker: Broker, device_ids: list[str], messages: int) -> dict:
    """Messages/s from first publish until the server has stored the last one."""
    with admin_client(server.base_url) as client:
        before = metric(client, "cityloop_mqtt_messages_total", 'outcome="stored"')
        started = time.perf_counter()
        with ThreadPoolExecutor(1) as pool:
            publishing = pool.submit(publish, broker.port, device_ids, messages, 1)
            deadline = time.monotonic() + 180
            stored = 0.0
            while time.monotonic() < deadline:
                stored = metric(client, "cityloop_mqtt_messages_total", 'outcome="stored"')
                if stored - before >= messages:
                    break
                time.sleep(0.1)
            took = time.perf_counter() - started
            publish_seconds = publishing.result()
    done = int(stored - before)
    return {
        "messages": messages,
        "stored": done,
        "seconds": round(took, 2),
        "messages_per_s": round(done / took, 1),
        "readings_per_s": round(2 * done / took, 1),
        "publish_seconds": round(publish_seconds, 2),
        "target_messages_per_s": 10_000,
    }


MANHOLE_APIKEY = "riverton-manholes"  # the demo fleet's group; its rules open C-01-01 cases
MANHOLE_OPEN = "02bc015a"  # tilt 70.0 degrees, cover-open bit set, battery 90 %


def register_manholes(client: httpx.Client, count: int) -> list[str]:
    """Extra manhole sensors of the demo profile, 101 m apart so each alarm opens its own case
    (the manhole category merges reports within 25 m)."""
    points = PointPool(spacing_m=101, seed=99)
    ids = [f"bench-mh-{n:03d}" for n in range(count)]
    rows = ["device_id,apikey,name,lat,lon"]
    for device_id in ids:
        lat, lon = points.take()
        rows.append(f"{device_id},{MANHOLE_APIKEY},{device_id},{lat:.6f},{lon:.6f}")
    client.post(
        "/api/v1/perception/devices/import",
        content="\n".join(rows).encode(),
        headers={"Content-Type": "text/csv"},
    ).raise_for_status()
    return ids


def alarm_latency(
    server: Server,
    broker: Broker,
    device_ids: list[str],
    manholes: list[str],
    rate: float,
    seconds: float,
) -> dict:
    """Publish to case: manhole-open uplinks spread through a steady background load of
    ``rate`` messages/s; the latency of each is its case's creation time (server clock) minus
    the publish time (the same machine's clock)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-alarm-publisher"
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    rng = random.Random(5)
    total = int(rate * seconds)
    every = max(1, total // len(manholes))
    published: dict[str, float] = {}
    started = time.perf_counter()
    opened = 0
    for n in range(total):
        due = started + n / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        if n % every == every // 2 and opened < len(manholes):
            device_id = manholes[opened]
            opened += 1
            published[device_id] = time.time()
            client.publish(f"/{MANHOLE_APIKEY}/{device_id}/attrs", MANHOLE_OPEN, qos=1)
            continue
        device_id = device_ids[n % len(device_ids)]
        payload = UL_PAYLOAD.format(t=15 + rng.random() * 10, h=40 + rng.random() * 30)
        client.publish(f"/{BENCH_APIKEY}/{device_id}/attrs", payload, qos=1)
    achieved = total / (time.perf_counter() - started)
    client.disconnect()
    client.loop_stop()
    latencies: list[float] = []
    with admin_client(server.base_url) as api:
        deadline = time.monotonic() + 60
        linked: dict[str, int] = {}
        while time.monotonic() < deadline and len(linked) < len(published):
            alarms = api.get(
                "/api/v1/perception/alarms", params={"type": "MANHOLE_OPEN", "limit": 500}
            ).json()
            items = alarms["items"] if isinstance(alarms, dict) else alarms
            for alarm in items:
                if alarm["originator"] in published and alarm["case_id"]:
                    linked[alarm["originator"]] = alarm["case_id"]
            time.sleep(0.2)
        for device_id, case_id in linked.items():
            case = api.get(f"/api/v1/cases/{case_id}").json()
            created = datetime.fromisoformat(case["created_at"]).timestamp()
            latencies.append(created - published[device_id])
    latencies.sort()
    return {
        "background_rate_target": rate,
        "background_rate_achieved": round(achieved, 1),
        "alarms_published": len(published),
        "cases_linked": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(1000 * percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "target_p99_ms": 100,
    }


def http_batch(server: Server, device_ids: list[str], seconds: float) -> dict:
    """Readings/s through POST /api/v1/perception/measures, 1,000 messages per request."""
    rng = random.Random(3)
    moment = datetime(2026, 1, 1, tzinfo=UTC)

    def body(offset: int) -> dict[str, Any]:
        items = []
        for n in range(1000):
            device_id = device_ids[(offset + n) % len(device_ids)]
            stamp = (moment + timedelta(seconds=offset + n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            payload = BATCH_PAYLOAD.format(
                t=15 + rng.random() * 10, h=40 + rng.random() * 30, p=1000 + rng.random(), b=0.8
            )
            items.append({"k": BENCH_APIKEY, "i": device_id, "payload": f"{stamp}|{payload}"})
        return {"measures": items}

    bodies = [body(n * 1000) for n in range(40)]
    latencies: list[float] = []
    readings = 0
    errors = 0
    with httpx.Client(base_url=server.base_url, timeout=120.0) as client:
        started = time.perf_counter()
        for request in bodies:
            if time.perf_counter() - started > seconds:
                break
            sent = time.perf_counter()
            reply = client.post("/api/v1/perception/measures", json=request)
            latencies.append(time.perf_counter() - sent)
            if reply.status_code != 200:
                errors += 1
                continue
            readings += sum(item.get("stored", 0) for item in reply.json()["results"])
        took = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "readings": readings,
        "errors": errors,
        "seconds": round(took, 2),
        "readings_per_s": round(readings / took, 1),
        "request_p50_ms": round(1000 * statistics.median(latencies), 1),
        "target_readings_per_s": 30_000,
    }


def raw_insert_ceiling(url: str, rows: int) -> dict:
    """The same rows straight into the same table, 1,000 per transaction: the store's ceiling."""
    from sqlalchemy import insert

    from cityloop.base.db import make_engine
    from cityloop.platforms.data.perception.models import Measurement

    engine = make_engine(url)
    moment = datetime(2025, 6, 1, tzinfo=UTC)
    batch = 1000
    started = time.perf_counter()
    with engine.connect() as connection:
        for start in range(0, rows, batch):
            chunk = [
                {
                    "device_id": f"ceiling-{n % 200:03d}",
                    "entity_id": f"urn:ngsi-ld:DeviceMeasurement:ceiling-{n % 200:03d}",
                    "attribute": "t",
                    "observed_at": moment + timedelta(seconds=n),
                    "num_value": 21.5,
                    "text_value": None,
                    "unit": None,
                }
                for n in range(start, start + batch)
            ]
            connection.execute(insert(Measurement), chunk)
            connection.commit()
    took = time.perf_counter() - started
    engine.dispose()
    return {"rows": rows, "seconds": round(took, 2), "rows_per_s": round(rows / took, 1)}


# ------------------------------------------------------------------------------ main


@contextmanager
def postgresql_server(server_url: str, broker: Broker) -> Iterator[tuple[Server, str]]:
    """The server over a fresh PostgreSQL database on ``server_url`` (a maintenance database
    URL), seeded by `cityloop seed`; the database is dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"cityloop_bench_{os.getpid()}"
    admin = create_engine(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = server_url.rsplit("/", 1)[0] + "/" + name
    env = {"CITYLOOP_MQTT_URL": broker.url, "CITYLOOP_DATABASE_URL": url}
    template = Path(tempfile.mkdtemp(prefix="cityloop-bench-seed-"))
    try:
        subprocess.run(
            [str(CITYLOOP), "seed", "--data-dir", str(template), "--accounts"],
            env={**server_env(), **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with Server(template=template, env=env) as server:
            yield server, url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def bench_server(args: argparse.Namespace, broker: Broker) -> Iterator[tuple[Server, str]]:
    """The server under test and its database URL: embedded SQLite, or PostgreSQL."""
    if args.database_url:
        with postgresql_server(args.database_url, broker) as running:
            yield running
        return
    with Server(env={"CITYLOOP_MQTT_URL": broker.url}) as server:
        yield server, f"sqlite:///{server.data_dir / 'cityloop.db'}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    engine = "postgresql" if args.database_url else "sqlite"
    figures: dict[str, Any] = {"machine": machine_info(), "engine": engine, "runs": []}
    for rep in range(args.reps):
        run_figures: dict[str, Any] = {}
        with Broker() as broker, bench_server(args, broker) as (server, database_url):
            with admin_client(server.base_url) as client:
                device_ids = register_fleet(client, args.devices)
                manholes = register_manholes(client, args.alarms)
            run_figures["mqtt"] = mqtt_ingest(server, broker, device_ids, args.messages)
            run_figures["alarm"] = alarm_latency(
                server, broker, device_ids, manholes, args.alarm_load, args.alarm_seconds
            )
            run_figures["batch"] = http_batch(server, device_ids, args.seconds)
            run_figures["ceiling"] = raw_insert_ceiling(database_url, args.ceiling_rows)
        figures["runs"].append(run_figures)
        print(f"run {rep + 1}: {json.dumps(run_figures)}", flush=True)
    return figures


def median_of(runs: list[dict[str, Any]], section: str, field: str) -> float:
    return statistics.median(run[section][field] for run in runs if section in run)


def report(figures: dict[str, Any]) -> None:
    runs = figures["runs"]
    ceiling = median_of(runs, "ceiling", "rows_per_s")
    mqtt_rate = median_of(runs, "mqtt", "messages_per_s")
    batch_rate = median_of(runs, "batch", "readings_per_s")
    print()
    engine = "PostgreSQL" if figures.get("engine") == "postgresql" else "embedded SQLite"
    print(f"perception, medians of {len(runs)} runs ({engine}, 2 cores shared)")
    print(f"  raw insert ceiling     {ceiling:>10,.0f} rows/s")
    print(
        f"  MQTT ingest            {mqtt_rate:>10,.0f} messages/s   target >= 10,000"
        f"   ({2 * mqtt_rate / ceiling:.2f} x ceiling in rows)"
    )
    alarm = [run["alarm"] for run in runs if run.get("alarm", {}).get("p99_ms") is not None]
    if alarm:
        p50 = statistics.median(a["p50_ms"] for a in alarm)
        p99 = statistics.median(a["p99_ms"] for a in alarm)
        load = statistics.median(a["background_rate_achieved"] for a in alarm)
        print(
            f"  alarm to case          p50 {p50:,.0f} ms, p99 {p99:,.0f} ms   target p99 < 100 ms"
            f"   (under {load:,.0f} messages/s of other traffic)"
        )
    print(
        f"  HTTP batch ingest      {batch_rate:>10,.0f} readings/s   target >= 30,000"
        f"   ({batch_rate / ceiling:.2f} x ceiling, target >= 0.7)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit of the batch run")
    parser.add_argument("--alarms", type=int, default=100, help="manhole-open alarms per run")
    parser.add_argument(
        "--alarm-load", type=float, default=1000.0, help="background messages/s during alarms"
    )
    parser.add_argument("--alarm-seconds", type=float, default=10.0)
    parser.add_argument("--ceiling-rows", type=int, default=200_000)
    parser.add_argument(
        "--database-url",
        help="run on PostgreSQL: a maintenance database URL such as "
        "postgresql://postgres@127.0.0.1:5432/postgres (a fresh database is made and dropped)",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.output is None:
        name = "perception-postgresql.json" if args.database_url else "perception.json"
        args.output = RESULTS / name
    sys.path.insert(0, str(ROOT / "src"))
    figures = run(args)
    report(figures)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2))
    print(f"\nsaved {args.output}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
