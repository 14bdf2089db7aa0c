"""The scheduler: any number of processes may schedule a job, and it runs once per period across
them; a run that outlasts its period is never overlapped on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cityloop.base.db import Database
from cityloop.base.scheduler import ScheduledJobRun, Scheduler
from tests.support.databases import BACKENDS, seeded_database


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with seeded_database(templates, request.param, tmp_path) as url:
        yield url


def schedulers(url: str, count: int) -> list[Scheduler]:
    """``count`` schedulers, each on a database connection of its own, as processes have."""
    return [Scheduler(Database(url)) for _ in range(count)]


def job_row(url: str, name: str) -> ScheduledJobRun | None:
    db = Database(url)
    try:
        with db.read() as session:
            row = session.get(ScheduledJobRun, name)
            if row is not None:
                session.expunge(row)
            return row
    finally:
        db.dispose()


def test_two_schedulers_of_one_database_run_a_job_once_per_period(url: str) -> None:
    runs: list[float] = []
    pair = schedulers(url, 2)
    for scheduler in pair:
        scheduler.every(0.5, "probe-job", lambda: runs.append(time.monotonic()))
    started = time.monotonic()
    while time.monotonic() - started < 3.0:
        for scheduler in pair:
            scheduler.run_due()
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    # Each scheduler alone would have run it about six times.
    assert 3 <= len(runs) <= int(elapsed / 0.5) + 1
    row = job_row(url, "probe-job")
    assert row is not None and row.runs == len(runs) and row.last_error is None
    for scheduler in pair:
        assert scheduler.db is not None
        scheduler.db.dispose()


def test_a_failing_run_keeps_its_error_and_the_job_runs_again_next_period(url: str) -> None:
    (scheduler,) = schedulers(url, 1)
    outcomes = iter([ValueError("the mail server said no"), None])

    def flaky() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    scheduler.every(0.2, "flaky-job", flaky)
    scheduler.run_due(time.monotonic() + 1)
    row = job_row(url, "flaky-job")
    assert row is not None and row.last_error == "ValueError: the mail server said no"
    time.sleep(0.25)
    scheduler.run_due(time.monotonic() + 2)
    row = job_row(url, "flaky-job")
    assert row is not None and (row.runs, row.last_error) == (2, None)
    assert scheduler.db is not None
    scheduler.db.dispose()


# SQLite keeps to one machine: its claim alone makes a job run once per period.
@pytest.mark.parametrize("url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_run_longer_than_its_period_is_not_started_again_by_another_process(url: str) -> None:
    first, second = schedulers(url, 2)
    inside, release = threading.Event(), threading.Event()
    second_ran: list[bool] = []
    first.every(0.1, "slow-job", lambda: (inside.set(), release.wait(10)))
    second.every(0.1, "slow-job", lambda: second_ran.append(True))
    running = threading.Thread(target=first.run_due, args=(time.monotonic() + 1,))
    running.start()
    try:
        assert inside.wait(10)
        time.sleep(0.3)  # three periods pass while the first run goes on
        second.run_due(time.monotonic() + 1)
        assert second_ran == []
    finally:
        release.set()
        running.join(10)
    second.run_due(time.monotonic() + 2)
    assert second_ran == [True]
    for scheduler in (first, second):
        assert scheduler.db is not None
        scheduler.db.dispose()
