"""Scaled out, a commit in one process wakes the relay in another at once (PostgreSQL's
LISTEN/NOTIFY), not at the relay's next poll."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from cityloop.base.db import Database
from cityloop.base.outbox import ConsumerRegistry, InProcessRelay, emit
from cityloop.base.outbox_wake import OutboxListener
from tests.base import outbox_probe as probe
from tests.support.databases import PG_URL, seeded_database
from tests.support.waiting import wait_until

POLL_SECONDS = 600.0  # far beyond the wait below: only a notification can wake the relay in time


@pytest.fixture
def postgresql_url(templates: dict[str, str], tmp_path: Path) -> Iterator[str]:
    if PG_URL is None:
        pytest.skip("CITYLOOP_TEST_DATABASE_URL names no PostgreSQL server")
    with seeded_database(templates, "postgresql", tmp_path) as url:
        yield url


@dataclass
class Layout:
    """A worker's relay and listener, and an API process's database, on one PostgreSQL."""

    api_db: Database
    relay: InProcessRelay
    listener: OutboxListener
    seen: list[int] = field(default_factory=list)

    def emit_one(self) -> int:
        with self.api_db.writing() as session:  # another engine, as another process would be
            event = emit(session, probe.ProbeRetry())
            session.flush()
            return event.id


@pytest.fixture
def layout(postgresql_url: str) -> Iterator[Layout]:
    worker_db, api_db = Database(postgresql_url), Database(postgresql_url)
    consumers = ConsumerRegistry()
    relay = InProcessRelay(worker_db, consumers, poll_seconds=POLL_SECONDS)
    running = Layout(api_db, relay, OutboxListener(worker_db, relay))
    consumers.subscribe("probe", [probe.ProbeRetry], lambda _s, e: running.seen.append(e.id))
    running.listener.RECONNECT_SECONDS = 0.2
    relay.start()
    running.listener.start()
    try:
        # Listening, and the relay's first pass (the one a new listener asks for) done.
        wait_until(lambda: _listeners(api_db), "the listener listening")
        relay.drain()
        yield running
    finally:
        running.listener.stop()
        relay.stop()
        worker_db.dispose()
        api_db.dispose()


def test_an_event_committed_elsewhere_wakes_the_relay_before_its_poll(layout: Layout) -> None:
    event_id = layout.emit_one()
    wait_until(lambda: event_id in layout.seen, "the relay woken by the other process's commit")
    assert layout.seen == [event_id]


def test_the_listener_comes_back_after_its_connection_is_cut(layout: Layout) -> None:
    with layout.api_db.writing() as session:  # as a failover or an operator would, cut it
        for pid in _listeners(layout.api_db):
            assert session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    event_id = layout.emit_one()
    wait_until(lambda: event_id in layout.seen, "the relay woken after the listener reconnected")


def _listeners(db: Database) -> list[int]:
    """The server processes of this database's LISTEN connections."""
    with db.read() as session:
        return list(
            session.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"
                    " AND datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        )
