"""Holding the group committer's writer while other threads queue their units, so those units
are committed together in one group (tests of the domains that write through it)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session

from cityloop.base.db import Database
from tests.support.waiting import HANG_GUARD_SECONDS, wait_until

T = TypeVar("T")


@contextmanager
def writer_held(db: Database, *, until_queued: int) -> Iterator[None]:
    """Hold the writer in a unit of its own while the block starts ``until_queued`` units on
    other threads; let go once they are all queued, so they commit as one group. Where the
    engine writes alone (PostgreSQL) there is no writer to hold and the block just runs."""
    group = db._group
    if group is None:
        yield
        return
    holding, release = threading.Event(), threading.Event()

    def hold(session: Session) -> None:
        holding.set()
        release.wait(HANG_GUARD_SECONDS)

    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(db.write_grouped, hold)
        assert holding.wait(HANG_GUARD_SECONDS), "the writer never took the holding unit"
        try:
            yield
            wait_until(lambda: group.pending() >= until_queued, "every unit queued")
        finally:
            release.set()
        held.result()


def all_at_once(db: Database, calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls from as many threads, their units committed together in one group where
    the engine groups commits; answer each call's result in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        with writer_held(db, until_queued=len(calls)):
            futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]
