"""Probe consumers for the outbox tests, and a child process that runs the platform's relay
with them (``python -m tests.base.outbox_probe URL MODE``).

A probe consumer writes one row per event it handles into ``probe_effects``, in the relay's
transaction and with no idempotency check of its own, so the rows count exactly how often the
relay had a consumer's work committed. In ``hang`` mode the child's last probe consumer prints
``stuck <event id>`` and then blocks inside its delivery transaction until the child is killed;
in ``finish`` mode the child delivers everything pending and exits.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cityloop.base.db import Database
from cityloop.base.events import Event
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent, OutboxDelivery, OutboxEvent

FIRST, STUCK = "probe.first", "probe.stuck"


class Probe(Event):
    """An event of the outbox tests' own: about probe number ``n``."""

    aggregate: ClassVar[str] = "probe"
    aggregate_field: ClassVar[str] = "n"

    n: int = 1


class ProbeCrash(Probe):
    type: ClassVar[str] = "probe.crash"


class ProbeRollback(Probe):
    type: ClassVar[str] = "probe.rollback"


class ProbeRetry(Probe):
    type: ClassVar[str] = "probe.retry"


class ProbePrune(Probe):
    type: ClassVar[str] = "probe.prune"


class ProbeTwice(Probe):
    type: ClassVar[str] = "probe.twice"


def create_probe_table(db: Database) -> None:
    with db.writing() as session:
        session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS probe_effects "
                "(event_id INTEGER NOT NULL, consumer VARCHAR(80) NOT NULL)"
            )
        )


def effect(name: str):  # type: ignore[no-untyped-def]
    def handle(session: Session, event: DeliveredEvent) -> None:
        session.execute(
            text("INSERT INTO probe_effects (event_id, consumer) VALUES (:event, :consumer)"),
            {"event": event.id, "consumer": name},
        )

    return handle


def subscribe_probes(
    registry: ConsumerRegistry, names: list[str], types: list[type[Event]]
) -> None:
    for name in names:
        registry.subscribe(name, types, effect(name))


def effects(db: Database) -> Counter[tuple[int, str]]:
    """(event id, consumer) -> how many times that consumer's work was committed."""
    with db.read() as session:
        rows = session.execute(text("SELECT event_id, consumer FROM probe_effects")).all()
    return Counter((int(event_id), str(consumer)) for event_id, consumer in rows)


def rows_per_event(
    db: Database, event_id: Any, other: Any, event_ids: list[int]
) -> Counter[tuple[int, str]]:
    """(event id, ``other``) -> how many rows of ``event_id``'s table have that pair, for the
    events ``event_ids``."""
    with db.read() as session:
        rows = session.execute(select(event_id, other).where(event_id.in_(event_ids))).all()
    return Counter((int(event), str(value)) for event, value in rows)


def deliveries(db: Database, event_ids: list[int]) -> Counter[tuple[int, str]]:
    """(event id, consumer) -> delivery records."""
    return rows_per_event(db, OutboxDelivery.event_id, OutboxDelivery.consumer, event_ids)


def unpublished(db: Database, event_ids: list[int]) -> list[int]:
    with db.read() as session:
        return list(
            session.scalars(
                select(OutboxEvent.id).where(
                    OutboxEvent.id.in_(event_ids), OutboxEvent.published_at.is_(None)
                )
            )
        )


def main(url: str, mode: str, data_dir: str) -> None:
    from cityloop.app import build_context
    from cityloop.settings import Settings

    settings = Settings(database_url=url, data_dir=Path(data_dir), run_background=False)
    ctx = build_context(settings)
    subscribe_probes(ctx.consumers, [FIRST], [ProbeCrash])
    if mode == "hang":

        def stuck(session: Session, event: DeliveredEvent) -> None:
            print(f"stuck {event.id}", flush=True)
            threading.Event().wait()  # until SIGKILL, inside the delivery transaction

        ctx.consumers.subscribe(STUCK, [ProbeCrash], stuck)
    else:
        ctx.consumers.subscribe(STUCK, [ProbeCrash], effect(STUCK))
    while ctx.relay.drain():
        pass
    ctx.db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
