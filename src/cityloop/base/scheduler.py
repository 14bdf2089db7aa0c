"""Periodic jobs in a background thread (the SLA sweep, outbox pruning, dataset refreshes).

Any number of processes may run the scheduler (several ``cityloop worker`` processes, or the
workers of ``serve --workers N``): each job still runs once per period across all of them.
A process that finds a job due first *claims* the period on the job's row in
``scheduled_job_runs`` (an UPDATE that only succeeds once the row's ``due_at`` has passed, and
moves it one period on); the others find it claimed and wait for the new ``due_at``. On
PostgreSQL a transaction-scoped advisory lock is held on a connection of its own for the length
of a run, so a run longer than its period never overlaps the next one; it is released however
the process ends. SQLite serialises the claim through its single writer.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, text, update
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.background import LoopThread
from cityloop.base.db import Base, Database, utcnow

log = logging.getLogger(__name__)

# Who ran a job last, for an operator reading the table: host and process id.
RUNNER = f"{socket.gethostname()}:{os.getpid()}"


class ScheduledJobRun(Base):
    """One periodic job's shared schedule: when it is next due, and how its last run went."""

    __tablename__ = "scheduled_job_runs"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    due_at: Mapped[datetime]
    runs: Mapped[int] = mapped_column(default=0)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_runner: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(2000))


@dataclass
class Job:
    name: str
    every_seconds: float
    run: Callable[[], object]
    next_at: float = 0.0


def claim_period(db: Database, *, name: str, every_seconds: float) -> datetime | None:
    """Claim this period of job ``name`` for this process; None if another process has it, or
    else the time the job is next due (one period from now)."""
    now = utcnow()
    due = now + timedelta(seconds=every_seconds)
    with db.writing() as session:
        claimed = session.execute(
            update(ScheduledJobRun)
            .where(ScheduledJobRun.name == name, ScheduledJobRun.due_at <= now)
            .values(
                due_at=due,
                runs=ScheduledJobRun.runs + 1,
                last_started_at=now,
                last_runner=RUNNER,
            )
        ).rowcount
        if claimed:
            return due
        if session.get(ScheduledJobRun, name) is not None:
            return None
        # The job's first run anywhere. On PostgreSQL the caller holds the job's advisory lock
        # and on SQLite the writer lock is held: no other process inserts the row meanwhile.
        session.add(
            ScheduledJobRun(name=name, due_at=due, runs=1, last_started_at=now, last_runner=RUNNER)
        )
    return due


def next_due(db: Database, *, name: str) -> datetime | None:
    """When job ``name`` is next due, as the last claim set it (None if it never ran)."""
    with db.read() as session:
        row = session.get(ScheduledJobRun, name)
        return row.due_at if row is not None else None


def record_finish(db: Database, *, name: str, error: str | None) -> None:
    """Note the end of this process's run of job ``name``, and its error if it failed."""
    with db.writing() as session:
        session.execute(
            update(ScheduledJobRun)
            .where(ScheduledJobRun.name == name)
            .values(last_finished_at=utcnow(), last_error=error[:2000] if error else None)
        )


@contextmanager
def alone(db: Database, name: str) -> Iterator[bool]:
    """Whether no other process is running job ``name`` now; on PostgreSQL it stays so until the
    block ends (an advisory lock on a connection of its own, in a transaction that writes
    nothing, so it holds no snapshot back from vacuum)."""
    if db.is_sqlite:
        yield True
        return
    with db.engine.connect() as conn:
        got = conn.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), {"key": f"job:{name}"}
        ).scalar()
        try:
            yield bool(got)
        finally:
            conn.rollback()


class Scheduler:
    """Runs each job once per period; with a database, once per period across every process."""

    def __init__(self, db: Database | None = None) -> None:
        self.db = db
        self.jobs: list[Job] = []
        self._runner = LoopThread("scheduler", self._loop)

    def every(self, seconds: float, name: str, run: Callable[[], object]) -> None:
        self.jobs.append(Job(name, seconds, run, time.monotonic() + seconds))

    def start(self) -> None:
        if self.jobs:
            self._runner.start()

    def stop(self) -> None:
        self._runner.stop()

    def run_due(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for job in self.jobs:
            if now >= job.next_at:
                job.next_at = now + job.every_seconds
                try:
                    self._run(job)
                except Exception:  # one failing job (or a lost database) must not stop the others
                    log.exception("scheduled job %s failed", job.name)

    def _run(self, job: Job) -> None:
        if self.db is None:
            job.run()
            return
        with alone(self.db, job.name) as free:
            due = None
            if free:
                due = claim_period(self.db, name=job.name, every_seconds=job.every_seconds)
            if due is None:
                # Another process has this period: look again when the shared schedule says.
                shared = next_due(self.db, name=job.name)
                if shared is not None:
                    wait = (shared - utcnow()).total_seconds()
                    job.next_at = time.monotonic() + min(max(wait, 0.0), job.every_seconds)
                return
            error = None
            try:
                job.run()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                raise
            finally:
                record_finish(self.db, name=job.name, error=error)

    def _loop(self, stopping: threading.Event) -> None:
        while not stopping.wait(0.5):
            self.run_due()
