"""What SQLite's inter-process write lock (``base/write_lock.py``) costs one process alone.

Three samples, alternated, each over ROUNDS rounds: the lock taken and let go with its lock
files (the turnstile and the writer's: four ``flock`` calls) and with the thread lock only (as
with ``CITYLOOP_SQLITE_WRITE_LOCK=false``), and, for scale, a whole unit of work that writes one
row through ``Database.writing`` with the files and without. Figures are CPU microseconds per
round (``time.process_time``, so other load on the machine counts less than in wall time).

Run: PYTHONPATH=src .venv/bin/python benchmarks/write_lock.py [--rounds 20000] [--writes 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from cityloop.base.db import Database
from cityloop.base.write_lock import WriteLock


def cpu_us_per_round(rounds: int, step: Callable[[], None]) -> float:
    started = time.process_time()
    for _ in range(rounds):
        step()
    return (time.process_time() - started) / rounds * 1e6


def lock_round(lock: WriteLock) -> Callable[[], None]:
    def step() -> None:
        with lock.held(timeout=30):
            pass

    return step


def write_round(db: Database) -> Callable[[], None]:
    def step() -> None:
        with db.writing() as session:
            session.execute(text("INSERT INTO t (x) VALUES (1)"))

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--writes", type=int, default=2_000)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        with_files, thread_only = WriteLock(database), WriteLock()
        on = Database(f"sqlite:///{database}")
        off = Database(f"sqlite:///{Path(tmp) / 'off.db'}", process_lock=False)
        for db in (on, off):
            with db.writing() as session:
                session.execute(text("CREATE TABLE t (x INTEGER)"))
        figures: dict[str, list[float]] = {}
        for _ in range(args.samples):  # alternated, so drift on the machine hits both alike
            for name, rounds, step in (
                ("lock with files", args.rounds, lock_round(with_files)),
                ("lock, thread only", args.rounds, lock_round(thread_only)),
                ("one-row write, files", args.writes, write_round(on)),
                ("one-row write, no files", args.writes, write_round(off)),
            ):
                figures.setdefault(name, []).append(cpu_us_per_round(rounds, step))
        on.dispose()
        off.dispose()
    for name, samples in figures.items():
        each = " / ".join(f"{s:.1f}" for s in samples)
        print(f"{name:26} median {statistics.median(samples):8.1f} µs CPU per round  ({each})")


if __name__ == "__main__":
    main()
