"""Transactional outbox and the event relay.

A domain writes its state change and its event row in one transaction (:func:`emit`). A relay
then hands each event to every consumer subscribed to its type. The in-process relay runs the
consumers and marks the events published in one transaction, so a crash between the two redoes
no consumer's work and a committed event is never lost; an event some consumer failed keeps a
delivery record for each consumer that handled it, so its retry runs only the others. The NATS
JetStream relay
(:mod:`cityloop.base.nats_relay`) replaces it when scaled out; another relay implements
:class:`EventRelay` and registers under the ``cityloop.relays`` entry-point group. Domains only
call :func:`emit` and :meth:`ConsumerRegistry.subscribe`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import ForeignKey, Index, String, delete, literal, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityloop.base import metrics
from cityloop.base.background import LoopThread
from cityloop.base.commit_hooks import on_commit
from cityloop.base.db import Base, Database, utcnow
from cityloop.base.events import Event, event_class

if TYPE_CHECKING:
    from cityloop.settings import Settings

log = logging.getLogger(__name__)

# session.info key: the types of the events a transaction emitted (``base.lookups`` drops the
# caches they invalidate when it commits).
EMITTED_TYPES = "outbox_emitted_types"


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(80))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))

    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)


class OutboxDelivery(Base):
    """One consumer has handled one event: the consumer's idempotency record."""

    __tablename__ = "outbox_deliveries"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_events.id", ondelete="CASCADE"), primary_key=True
    )
    consumer: Mapped[str] = mapped_column(String(80), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)


# PostgreSQL's notification channel for "events were committed" (:mod:`cityloop.base.outbox_wake`).
OUTBOX_CHANNEL = "cityloop_outbox"


def emit(session: Session, event: Event) -> OutboxEvent:
    """Add an event to the caller's transaction; it is delivered only if that commits."""
    row = OutboxEvent(
        type=event.type,
        aggregate_type=event.aggregate,
        aggregate_id=event.aggregate_id(),
        payload=event.payload(),
        created_at=utcnow(),
    )
    session.add(row)
    session.info["outbox_dirty"] = True
    session.info.setdefault(EMITTED_TYPES, set()).add(event.type)
    if session.get_bind().dialect.name == "postgresql":
        # Sent at commit only, and once per transaction (PostgreSQL folds identical ones), so
        # a relay in another process wakes at once (see outbox_wake). Without an autoflush: the
        # caller may still be filling in rows it added before emitting.
        with session.no_autoflush:
            session.execute(text(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')"))
    return row


@dataclass(frozen=True)
class DeliveredEvent:
    """An outbox row on its way to a consumer: its id (for idempotency) and its event."""

    id: int
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime

    @property
    def event(self) -> Event:
        """The typed event, validated from the stored payload."""
        cls = event_class(self.type)
        if cls is None:
            raise LookupError(f"no package declares the event type {self.type!r}")
        return cls.model_validate(self.payload)


Handler = Callable[[Session, DeliveredEvent], None]
BatchHandler = Callable[[Session, list[DeliveredEvent]], None]


@dataclass
class Consumer:
    name: str
    types: frozenset[str]
    handler: Handler
    # Takes a relay batch's events at once, where one pass over many costs less than one
    # pass each (a case's facts refreshed once for its several events).
    batch_handler: BatchHandler | None = None

    def wants(self, event_type: str) -> bool:
        return "*" in self.types or event_type in self.types


@dataclass
class ConsumerRegistry:
    consumers: list[Consumer] = field(default_factory=list)

    def subscribe(
        self, name: str, types: Iterable[type[Event]] | Literal["*"], handler: Handler
    ) -> None:
        """Deliver events of these types (or every event, for ``"*"``) to ``handler``."""
        if any(c.name == name for c in self.consumers):
            raise ValueError(f"consumer {name} is already subscribed")
        names = frozenset({"*"}) if types == "*" else frozenset(t.type for t in types)
        self.consumers.append(Consumer(name, names, handler))

    def subscribe_batch(
        self, name: str, types: Iterable[type[Event]] | Literal["*"], handler: BatchHandler
    ) -> None:
        """Deliver events of these types to ``handler`` a batch at a time; an event that makes
        its batch fail is then retried alone, so it fails alone."""
        self.subscribe(name, types, lambda session, event: handler(session, [event]))
        self.consumers[-1].batch_handler = handler

    def for_type(self, event_type: str) -> list[Consumer]:
        return [c for c in self.consumers if c.wants(event_type)]


class EventRelay(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def notify(self) -> None: ...
    def drain(self) -> int: ...


class InProcessRelay:
    """Polls the outbox in a background thread, woken early by commits that emitted events."""

    MAX_ATTEMPTS = 10

    # After a wake-up, how long to let more events arrive so they share one batch.
    GATHER_SECONDS = 0.005

    def __init__(self, db: Database, registry: ConsumerRegistry, poll_seconds: float = 1.0):
        self.db = db
        self.registry = registry
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._runner = LoopThread("outbox-relay", self._loop, on_stop=self._wake.set)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, db: Database, registry: ConsumerRegistry, settings: Settings
    ) -> InProcessRelay:
        """The relay a deployment's settings describe."""
        return cls(db, registry, settings.relay_poll_seconds)

    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._runner.stop()

    def notify(self) -> None:
        self._wake.set()

    def _loop(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            if self._wake.wait(self.poll_seconds):
                stopping.wait(self.GATHER_SECONDS)
            self._wake.clear()
            try:
                while self.drain() and not stopping.is_set():
                    pass
            except Exception:  # the relay must outlive a bad consumer or a lost connection
                log.exception("outbox relay pass failed")

    def drain(self, batch: int = 200) -> int:
        """Deliver one batch of pending events; returns how many were completed.

        Every consumer takes the batch in one transaction, which also marks it published, so a
        batch costs one write transaction, not one per event or per consumer; the published
        mark is the record that every consumer handled it. The batch first runs with no
        savepoints; if a consumer fails, that transaction is rolled back and the batch runs
        again with each (consumer, event) in its own savepoint, so a failing event rolls back
        only its own work and delivery records note who handled the events that failed
        (:func:`_mark_delivered`). A batch holding a retried event goes straight to that."""
        with self._lock:
            pending, retried = self._pending(batch)
            if not pending:
                return 0
            if not retried:
                try:
                    with self.db.writing() as session:
                        delivered = self._run_at_once(session, pending)
                except Exception as exc:  # nothing of it kept: run it again, isolated
                    log.info("outbox batch failed at once (%s); in savepoints", exc)
                else:
                    for name, count in delivered.items():
                        metrics.EVENTS_DELIVERED.inc(count, consumer=name)
                    return len(pending)
            try:
                with self.db.writing() as session:
                    failures = self._run_isolated(session, pending)
            except Exception:  # the batch's one commit failed: each consumer commits alone
                log.exception(
                    "outbox batch of %d events failed; consumer by consumer", len(pending)
                )
                failures = {}
                for consumer in self.registry.consumers:
                    if wanted := [e for e in pending if consumer.wants(e.type)]:
                        lost = deliver_batch(self.db, consumer, wanted, published_is_done=True)
                        for event_id, error in lost.items():
                            failures.setdefault(event_id, error)
                with self.db.writing() as session:
                    _mark_delivered(session, pending, failures, {})
            return len(pending) - len(failures)

    def _pending(self, batch: int) -> tuple[list[DeliveredEvent], bool]:
        """The next batch of pending events, and whether any of them was tried before."""
        with self.db.read() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(
                    OutboxEvent.published_at.is_(None),
                    OutboxEvent.attempts < self.MAX_ATTEMPTS,
                )
                .order_by(OutboxEvent.id)
                .limit(batch)
            ).all()
            events = [
                DeliveredEvent(
                    e.id, e.type, e.aggregate_type, e.aggregate_id, dict(e.payload), e.created_at
                )
                for e in rows
            ]
            return events, any(e.attempts for e in rows)

    def _todo(
        self, session: Session, pending: list[DeliveredEvent]
    ) -> list[tuple[Consumer, list[DeliveredEvent]]]:
        """Each consumer with the batch's events it wants and has not handled yet, its turn
        taken (:func:`_one_relay_per_consumer`)."""
        wanted = [
            (consumer, events)
            for consumer in self.registry.consumers
            if (events := [e for e in pending if consumer.wants(e.type)])
        ]
        _one_relay_per_consumer(session, [consumer.name for consumer, _ in wanted])
        done = _handled(session, pending, published_is_done=True)
        return [
            (consumer, todo)
            for consumer, events in wanted
            if (todo := [e for e in events if not done.includes(e.id, consumer.name)])
        ]

    def _run_at_once(self, session: Session, pending: list[DeliveredEvent]) -> dict[str, int]:
        """Every consumer on the batch with no savepoints, then the published mark; raises at
        the first failure. Returns how many events each consumer handled."""
        delivered: dict[str, int] = {}
        for consumer, todo in self._todo(session, pending):
            if consumer.batch_handler is not None:
                consumer.batch_handler(session, todo)
            else:
                for event in todo:
                    consumer.handler(session, event)
            delivered[consumer.name] = len(todo)
        _mark_delivered(session, pending, {}, {})
        return delivered

    def _run_isolated(self, session: Session, pending: list[DeliveredEvent]) -> dict[int, str]:
        """Every consumer on the batch, each event in its savepoint (:func:`_run`), then the
        published mark and the records of the failed events; returns the failures."""
        failures: dict[int, str] = {}
        handled: dict[int, list[str]] = {}
        for consumer, todo in self._todo(session, pending):
            succeeded, failed = _run(session, consumer, todo)
            for event_id in succeeded:
                handled.setdefault(event_id, []).append(consumer.name)
            for event_id, error in failed.items():
                failures.setdefault(event_id, error)
        _mark_delivered(session, pending, failures, handled)
        return failures


def _mark_delivered(
    session: Session,
    pending: list[DeliveredEvent],
    failures: dict[int, str],
    handled: dict[int, list[str]],
) -> None:
    """Mark the events every consumer handled as published; count an attempt on the others
    and record which consumers ``handled`` them, so a retry runs only the ones that failed."""
    if done := [e.id for e in pending if e.id not in failures]:
        session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(done)).values(published_at=utcnow())
        )
    for event_id, error in failures.items():
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(attempts=OutboxEvent.attempts + 1, last_error=error[:2000])
        )
    session.add_all(
        OutboxDelivery(event_id=event_id, consumer=name)
        for event_id in failures
        for name in handled.get(event_id, ())
    )


@dataclass(frozen=True)
class _Handled:
    """What a batch's earlier runs left done: delivery records, and published events."""

    delivered: frozenset[tuple[int, str]]
    published: frozenset[int]

    def includes(self, event_id: int, consumer: str) -> bool:
        return event_id in self.published or (event_id, consumer) in self.delivered


def _handled(
    session: Session, events: list[DeliveredEvent], *, published_is_done: bool
) -> _Handled:
    """One read of which (event, consumer) pairs are done. Where the relay publishes an event
    only once every consumer handled it (in-process), a published event is done for all: a
    relay in another process may have delivered it since this one read it."""
    ids = [e.id for e in events]
    query = select(OutboxDelivery.event_id, OutboxDelivery.consumer).where(
        OutboxDelivery.event_id.in_(ids)
    )
    if published_is_done:
        query = query.union_all(
            select(OutboxEvent.id, literal("", String)).where(
                OutboxEvent.id.in_(ids), OutboxEvent.published_at.is_not(None)
            )
        )
    rows = session.execute(query).all()
    return _Handled(
        frozenset((int(e), str(c)) for e, c in rows if c),
        frozenset(int(e) for e, c in rows if not c),
    )


def _run(
    session: Session, consumer: Consumer, todo: list[DeliveredEvent]
) -> tuple[list[int], dict[int, str]]:
    """Run ``consumer`` on ``todo`` in the caller's transaction, each event in its own
    savepoint (a batch consumer's events in one, and one each if that fails); returns the
    events it handled and its failures (event id -> error)."""
    if consumer.batch_handler is not None and len(todo) > 1:
        try:
            with session.begin_nested():
                consumer.batch_handler(session, todo)
        except Exception:
            log.warning("consumer %s failed on a batch; event by event", consumer.name)
        else:
            metrics.EVENTS_DELIVERED.inc(len(todo), consumer=consumer.name)
            return [e.id for e in todo], {}
    succeeded: list[int] = []
    failures: dict[int, str] = {}
    for event in todo:
        try:
            with session.begin_nested():
                consumer.handler(session, event)
        except Exception as exc:
            log.exception("consumer %s failed on event %s", consumer.name, event.id)
            metrics.EVENTS_FAILED.inc(consumer=consumer.name)
            failures[event.id] = f"{consumer.name}: {exc}"
        else:
            metrics.EVENTS_DELIVERED.inc(consumer=consumer.name)
            succeeded.append(event.id)
    return succeeded, failures


def run_consumer(
    session: Session, consumer: Consumer, events: list[DeliveredEvent], *, published_is_done: bool
) -> dict[int, str]:
    """Run ``consumer`` in the caller's transaction on the events it has not yet handled
    (:func:`_run`), with a delivery record for each it handles; returns the failures (event
    id -> error). An event already delivered to it counts as done without running it again,
    and so does a published one if ``published_is_done`` (the in-process relay's meaning of
    published; the NATS relay's is "on the stream")."""
    _one_relay_per_consumer(session, [consumer.name])
    done = _handled(session, events, published_is_done=published_is_done)
    todo = [event for event in events if not done.includes(event.id, consumer.name)]
    succeeded, failures = _run(session, consumer, todo)
    session.add_all(OutboxDelivery(event_id=e, consumer=consumer.name) for e in succeeded)
    return failures


def deliver_batch(
    db: Database, consumer: Consumer, events: list[DeliveredEvent], *, published_is_done: bool
) -> dict[int, str]:
    """Run ``consumer`` on the events in a transaction of its own (:func:`run_consumer`);
    returns the failures, all of them if that transaction failed."""
    try:
        with db.writing() as session:
            return run_consumer(session, consumer, events, published_is_done=published_is_done)
    except Exception as exc:  # the batch's commit itself failed: nothing of it counts
        log.exception("consumer %s lost a batch", consumer.name)
        return {event.id: f"{consumer.name}: {exc}" for event in events}


def _one_relay_per_consumer(session: Session, consumers: list[str]) -> None:
    """On PostgreSQL, relays in several processes (the workers of ``serve --workers N``, or
    several hosts) take turns on each consumer: the second waits for the first's batch to
    commit and then finds those events published or delivered. Without it both ran the
    consumer, and the loser's work was rolled back (or, with no delivery record to collide on,
    kept twice). One statement locks them all, in the registry's order, the same in every
    process, so two relays never wait on each other crosswise. SQLite's single writer already
    takes turns."""
    if consumers and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext(key)) FROM unnest(CAST(:keys AS text[]))"
                " WITH ORDINALITY AS locks(key, n) ORDER BY n"
            ),
            {"keys": [f"outbox:{name}" for name in consumers]},
        )


def prune_published(db: Database, older_than: timedelta, batch: int = 5000) -> int:
    """Delete events published longer ago than ``older_than``, with their delivery records,
    a chunk per transaction so ingest never waits long for the writer. Events that never
    published (a consumer kept failing) stay for an operator to inspect."""
    cutoff = utcnow() - older_than
    total = 0
    while True:
        with db.writing() as session:
            ids = session.scalars(
                select(OutboxEvent.id)
                .where(OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < cutoff)
                .order_by(OutboxEvent.id)
                .limit(batch)
            ).all()
            if ids:
                # Explicit, so no engine depends on ON DELETE CASCADE being enforced.
                session.execute(delete(OutboxDelivery).where(OutboxDelivery.event_id.in_(ids)))
                session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total


def notify_relay_after_commit(db: Database, relay: EventRelay) -> None:
    """Wake the relay when a transaction that emitted events commits."""

    def after_commit(session: Session) -> None:  # the outermost commit (``on_commit``)
        if session.info.pop("outbox_dirty", False):
            relay.notify()

    for factory in (db.write, db.read):
        on_commit(factory, after_commit)


RelayFactory = Callable[[Database, ConsumerRegistry, "Settings"], EventRelay]


def load_relay(name: str) -> RelayFactory:
    """The relay named ``name``: one of the two that ship, or one registered in the
    ``cityloop.relays`` entry-point group, as a factory of (database, consumers, settings)."""
    if name == "inprocess":
        return InProcessRelay.from_settings
    if name == "nats":  # imported only when chosen: the embedded default never loads nats-py
        from cityloop.base.nats_relay import NatsRelay

        return NatsRelay.from_settings
    from importlib.metadata import entry_points

    for entry in entry_points(group="cityloop.relays"):
        if entry.name == name:
            return entry.load()  # type: ignore[no-any-return]
    raise ValueError(f"no event relay named {name!r} is installed")
