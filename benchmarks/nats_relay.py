"""The outbox relay over NATS JetStream, end to end, for `make bench`.

N events are committed to the outbox (SQLite, one process) before the relay starts; the figure
is N divided by the time from the relay's start until both consumers have committed their
effect (a row each, with its delivery record) for every event: publish to JetStream with
acknowledgements, mark published, fetch by two durable consumers, run, record, acknowledge.

Two ceilings measured in the same run, on the same machine:
- the in-process relay doing the same consumer work on the same events, with no NATS at all
  (what the database side costs);
- bare JetStream publishing of N messages of the same size with acknowledgements awaited in
  the same batches (what the NATS side costs).

Each figure is the median of 3 runs, each on a fresh copy of the database and a fresh stream.
Needs a NATS server with JetStream (CITYLOOP_NATS_URL, default nats://127.0.0.1:4222).

Run: PYTHONPATH=src .venv/bin/python benchmarks/nats_relay.py [--events 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "src"))

import nats  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cityloop.base.db import Database  # noqa: E402
from cityloop.base.events import Event  # noqa: E402
from cityloop.base.nats_relay import NatsRelay, encode  # noqa: E402
from cityloop.base.outbox import (  # noqa: E402
    ConsumerRegistry,
    DeliveredEvent,
    EventRelay,
    InProcessRelay,
    emit,
)
from cityloop.migrate import upgrade  # noqa: E402

URL = os.environ.get("CITYLOOP_NATS_URL", "nats://127.0.0.1:4222")
CONSUMERS = ("bench.a", "bench.b")
RUNS = 3


class BenchEvent(Event):
    """An event of this benchmark's own, about reading number ``n``."""

    type: ClassVar[str] = "bench.relay"
    aggregate: ClassVar[str] = "bench"
    aggregate_field: ClassVar[str] = "n"

    n: int
    device: str = "urn:ngsi-ld:Device:bench-0001"
    value: float = 21.5


def template(directory: Path, events: int) -> Path:
    """A migrated database holding ``events`` committed, unpublished events and an effect table."""
    path = directory / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.writing() as session:
        session.execute(text("CREATE TABLE bench_effects (event_id INTEGER, consumer TEXT)"))
    for start in range(0, events, 100):
        with db.writing() as session:
            for n in range(start, min(start + 100, events)):
                emit(session, BenchEvent(n=n))
    db.dispose()
    return path


def registry() -> ConsumerRegistry:
    consumers = ConsumerRegistry()
    for name in CONSUMERS:

        def handle(session: Session, event: DeliveredEvent, name: str = name) -> None:
            session.execute(
                text("INSERT INTO bench_effects (event_id, consumer) VALUES (:e, :c)"),
                {"e": event.id, "c": name},
            )

        consumers.subscribe(name, [BenchEvent], handle)
    return consumers


def effects(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(text("SELECT count(*) FROM bench_effects")) or 0)


def timed_relay(
    source: Path, directory: Path, events: int, make: Callable[[Database], EventRelay]
) -> float:
    """Seconds from the relay's start until every consumer's effect of every event is in."""
    path = directory / f"run-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(source, path)
    db = Database(f"sqlite:///{path}")
    relay = make(db)
    started = time.perf_counter()
    relay.start()
    relay.notify()
    want = events * len(CONSUMERS)
    deadline = time.monotonic() + 600
    while effects(db) < want:
        if time.monotonic() > deadline:
            raise SystemExit("the relay did not finish within 600 s")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    relay.stop()
    if effects(db) != want:
        raise SystemExit(f"{effects(db)} effects for {want} expected: an event was doubled")
    db.dispose()
    path.unlink()
    return elapsed


def nats_relay(stream: str) -> Callable[[Database], EventRelay]:
    return lambda db: NatsRelay(db, registry(), 0.05, url=URL, stream=stream)


def in_process(db: Database) -> EventRelay:
    return InProcessRelay(db, registry(), 0.05)


async def bare_publish(stream: str, events: int, batch: int = 200) -> float:
    """Seconds to publish ``events`` messages of the relay's size, acknowledged, in batches."""
    nc = await nats.connect(URL)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    body = encode(
        DeliveredEvent(
            1, BenchEvent.type, "bench", "1", BenchEvent(n=1).payload(), datetime.now(UTC)
        )
    )
    started = time.perf_counter()
    for start in range(0, events, batch):
        await asyncio.gather(
            *(
                js.publish(f"{stream}.bench.relay", body, headers={"Nats-Msg-Id": str(n)})
                for n in range(start, min(start + batch, events))
            )
        )
    elapsed = time.perf_counter() - started
    await js.delete_stream(stream)
    await nc.close()
    return elapsed


async def delete_stream(stream: str) -> None:
    nc = await nats.connect(URL)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_1_5_15": list(os.getloadavg()),
    }


def run(events: int) -> dict[str, Any]:
    runs: dict[str, list[float]] = {"nats": [], "inprocess": [], "bare_publish": []}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        source = template(directory, events)
        before = machine()
        for _ in range(RUNS):
            stream = f"BENCH_{uuid.uuid4().hex[:10]}"
            try:
                runs["nats"].append(
                    events / timed_relay(source, directory, events, nats_relay(stream))
                )
            finally:
                asyncio.run(delete_stream(stream))
            runs["inprocess"].append(events / timed_relay(source, directory, events, in_process))
            bare = f"BENCH_{uuid.uuid4().hex[:10]}"
            runs["bare_publish"].append(events / asyncio.run(bare_publish(bare, events)))
    return {
        "events": events,
        "consumers": len(CONSUMERS),
        "runs": runs,
        "median_events_per_second": {k: statistics.median(v) for k, v in runs.items()},
        "machine": {**before, "load_after_1_5_15": list(os.getloadavg())},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--output", type=Path, default=RESULTS / "nats-relay.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args.events)
    median = figures["median_events_per_second"]
    load = figures["machine"]["load_1_5_15"]
    print(f"outbox relay, {args.events} events, {len(CONSUMERS)} consumers, median of {RUNS}")
    print(f"  load average at start (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  over NATS JetStream, end to end:      {median['nats']:8.0f} events/s")
    print(f"  ceiling: in-process relay, no NATS:   {median['inprocess']:8.0f} events/s")
    print(f"  ceiling: bare JetStream publish:      {median['bare_publish']:8.0f} messages/s")
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nsaved {args.output}")


if __name__ == "__main__":
    main()
