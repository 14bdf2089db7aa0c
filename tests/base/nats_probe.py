"""A child process that runs the NATS relay with the outbox tests' probe consumers
(``python -m tests.base.nats_probe DB_URL NATS_URL STREAM MODE``).

In ``hang`` mode the second probe consumer prints ``stuck <event id>`` and then blocks inside
its delivery transaction until the child is killed; in ``finish`` mode both consumers write
their effects, and the child exits once every probe event has both.
"""

from __future__ import annotations

import sys
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import Database
from cityloop.base.nats_relay import NatsRelay
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent, OutboxEvent
from tests.base import outbox_probe as probe

# Short, so a message the killed child held comes back to the next one quickly.
ACK_WAIT_SECONDS = 2.0


def relay_for(db: Database, registry: ConsumerRegistry, url: str, stream: str) -> NatsRelay:
    """The relay the tests run: quick polls and retries, a short ack wait."""
    return NatsRelay(
        db,
        registry,
        0.1,
        url=url,
        stream=stream,
        batch=50,
        ack_wait_seconds=ACK_WAIT_SECONDS,
        max_deliver=4,
        retry_base_seconds=0.1,
        retry_cap_seconds=1.0,
    )


def main(db_url: str, nats_url: str, stream: str, mode: str) -> None:
    db = Database(db_url)
    registry = ConsumerRegistry()
    registry.subscribe(probe.FIRST, [probe.ProbeCrash], probe.effect(probe.FIRST))
    if mode == "hang":

        def stuck(session: Session, event: DeliveredEvent) -> None:
            print(f"stuck {event.id}", flush=True)
            threading.Event().wait()  # until SIGKILL, inside the delivery transaction

        registry.subscribe(probe.STUCK, [probe.ProbeCrash], stuck)
    else:
        registry.subscribe(probe.STUCK, [probe.ProbeCrash], probe.effect(probe.STUCK))
    with db.read() as session:
        events = session.scalar(
            select(func.count(OutboxEvent.id)).where(OutboxEvent.type == probe.ProbeCrash.type)
        )
    relay = relay_for(db, registry, nats_url, stream)
    relay.start()
    deadline = time.monotonic() + 90  # a hang guard, inside the test's own
    while time.monotonic() < deadline:
        if len(probe.effects(db)) >= 2 * int(events or 0):
            break
        time.sleep(0.05)
    relay.stop()
    db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:5])
