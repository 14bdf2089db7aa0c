"""The in-process relay's cost per batch: SQL statements and CPU, for batches of served reports.

For each engine (SQLite, and PostgreSQL when it answers) the demo city is seeded once; then,
for each batch size (1, 10, 100 reports), the reports are posted through the app with the relay
off, and one ``drain`` delivers all their events as one batch. Counted during that drain: every
statement sent to the driver (SQLAlchemy's ``before_cursor_execute``, grouped by kind), and the
relay thread's CPU time (the database server's own is not in it).

Not part of `make bench`: it answers "where do a batch's statements go", and its CPU figures
only compare when runs of two versions alternate (``--rounds``; quote the medians).

Run: PYTHONPATH=src .venv/bin/python benchmarks/relay_batch.py [--sizes 1,10,100] [--rounds 5]
     [--json out.json] [--show-statements]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, event  # noqa: E402

# A lattice of points inside the demo city, far enough apart that no report joins another.
from tests.support.city import fresh_point  # noqa: E402

from cityloop.app import build_context, create_app  # noqa: E402
from cityloop.base.db import Database  # noqa: E402
from cityloop.demo import seed  # noqa: E402
from cityloop.migrate import upgrade  # noqa: E402
from cityloop.settings import Settings  # noqa: E402


def kind(statement: str) -> str:
    """A statement's kind: its verb and first table (or what it is), without its values."""
    flat = " ".join(statement.split())
    upper = flat.upper()
    for word in ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"):
        if upper.startswith(word):
            return word
    if "PG_ADVISORY_XACT_LOCK" in upper:
        return "advisory lock"
    if upper.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
        return upper.split()[0] + (" IMMEDIATE" if "IMMEDIATE" in upper else "")
    verb = upper.split()[0]
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([\w.\"]+)", flat, re.IGNORECASE)
    return f"{verb} {table.group(1).strip(chr(34)) if table else '?'}"


class Counting:
    """Statements sent to any engine while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.kinds: Counter[str] = Counter()
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on:
            self.kinds[kind(statement)] += 1


def seeded(url: str) -> None:
    db = Database(url)
    upgrade(db)
    with db.writing() as session:
        seed.seed_city(session)
        seed.seed_accounts(session)
    db.dispose()


def post_reports(client: TestClient, count: int) -> None:
    for _ in range(count):
        lat, lon = fresh_point()
        answer = client.post(
            "/api/v1/reports",
            json={"category": "C-02-01", "lat": lat, "lon": lon, "description": "bench"},
        )
        assert answer.status_code == 201, answer.text


def measure(
    url: str, data_dir: Path, sizes: list[int], rounds: int, counting: Counting
) -> list[dict[str, Any]]:
    """``rounds`` rounds of one batch per size, on one context warmed up by a first batch."""
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        run_background=False,
        intake_rate_limit=0,
    )
    ctx = build_context(settings)
    app = create_app(settings, ctx)
    out: list[dict[str, Any]] = []
    with TestClient(app) as client:
        post_reports(client, 5)  # warm-up: the statements compiled and cached once
        while ctx.relay.drain():
            pass
        for _ in range(rounds):
            figures: dict[str, Any] = {}
            for size in sizes:
                post_reports(client, size)
                counting.kinds.clear()
                counting.on = True
                started = time.thread_time()
                events = ctx.relay.drain(batch=1000)
                cpu = time.thread_time() - started
                counting.on = False
                assert not ctx.relay.drain(), "the batch left events behind"
                figures[str(size)] = {
                    "events": events,
                    "statements": sum(counting.kinds.values()),
                    "kinds": dict(counting.kinds.most_common()),
                    "cpu_ms": cpu * 1000,
                    "cpu_ms_per_event": cpu * 1000 / max(events, 1),
                }
            out.append(figures)
    ctx.db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--json")
    parser.add_argument("--show-statements", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    counting = Counting()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                path = Path(tmp) / "city.db"
                url = f"sqlite:///{path}"
                seeded(url)
                scratch = None
            else:
                from pg_scratch import ScratchDatabases

                scratch = ScratchDatabases()
                url = scratch.url(scratch.create())
                seeded(url)
            try:
                results[engine] = measure(url, Path(tmp), sizes, args.rounds, counting)
            finally:
                if scratch is not None:
                    scratch.drop_all()
    for engine, rounds in results.items():
        for size in sizes:
            runs = [r[str(size)] for r in rounds]
            print(
                f"{engine:10} {size:4} reports: {runs[0]['events']:4} events, "
                f"{statistics.median(r['statements'] for r in runs):6.0f} statements, "
                f"CPU {statistics.median(r['cpu_ms'] for r in runs):7.2f} ms "
                f"({statistics.median(r['cpu_ms_per_event'] for r in runs):.3f} ms/event)"
            )
            if args.show_statements:
                for name, count in runs[0]["kinds"].items():
                    print(f"{'':16}{count:5}  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
