"""The outbox relay over NATS JetStream, for deployments of several processes or hosts.

Two halves, both in one background thread running an asyncio loop:

- the **publisher** reads unpublished outbox rows in batches, publishes each to the stream
  (subject ``<stream>.<event type>``) with ``Nats-Msg-Id`` = the event's id, waits for every
  acknowledgement and then marks the acknowledged rows published in one transaction. A crash
  between the two publishes the batch again: JetStream drops the copies inside its duplicate
  window, and the delivery records below catch any that arrive later.
- one **durable pull consumer per registered Consumer** fetches batches and runs them through
  :func:`~cityloop.base.outbox.deliver_batch`: the consumer's work and its delivery record
  (event id + consumer name) commit together, and only then is the message acknowledged. A
  redelivered message whose delivery is already recorded is acknowledged without running again.
  A failing event is negatively acknowledged with a growing delay, and given up on (recorded on
  its outbox row) after ``max_deliver`` runs of the relay's own; each consumer has its own
  durable, so one that keeps failing never holds up the others. While a batch runs the relay
  tells the server it is in progress, so a slow batch is not sent again meanwhile.

When NATS is unreachable the publisher leaves the rows unpublished and tries again: the outbox
is the buffer, so nothing committed is lost while NATS restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError
from sqlalchemy import select, update

from cityloop.base.background import AsyncLoopThread, LoopSignals
from cityloop.base.db import Database, utcnow
from cityloop.base.outbox import (
    Consumer,
    ConsumerRegistry,
    DeliveredEvent,
    OutboxEvent,
    deliver_batch,
)

if TYPE_CHECKING:
    from cityloop.settings import Settings

log = logging.getLogger(__name__)

_NOT_A_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_for(stream: str, event_type: str) -> str:
    """The subject an event type is published on: one subject token per dotted part."""
    parts = [_NOT_A_TOKEN.sub("_", part) or "_" for part in event_type.split(".")]
    return ".".join([stream, *parts])


def durable_for(consumer: str) -> str:
    """A valid durable name for a consumer ("notify.public", "dataset:x"), still unique after
    the characters NATS refuses are replaced."""
    digest = hashlib.sha1(consumer.encode()).hexdigest()[:8]
    return f"{_NOT_A_TOKEN.sub('_', consumer)[:100]}-{digest}"


def encode(event: DeliveredEvent) -> bytes:
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            "payload": event.payload,
            "created_at": event.created_at.isoformat(),
        },
        separators=(",", ":"),
        default=str,
    ).encode()


def decode(data: bytes) -> DeliveredEvent:
    raw = json.loads(data)
    return DeliveredEvent(
        int(raw["id"]),
        str(raw["type"]),
        str(raw["aggregate_type"]),
        str(raw["aggregate_id"]),
        dict(raw["payload"]),
        datetime.fromisoformat(raw["created_at"]),
    )


class NatsRelay:
    """Publishes the outbox to a JetStream stream and runs every consumer from its own durable."""

    # Failed-run counts kept per process; the oldest are forgotten beyond this many.
    TRIES_KEPT = 100_000

    def __init__(
        self,
        db: Database,
        registry: ConsumerRegistry,
        poll_seconds: float = 1.0,
        *,
        url: str = "nats://127.0.0.1:4222",
        stream: str = "CITYLOOP_EVENTS",
        batch: int = 200,
        ack_wait_seconds: float = 30.0,
        max_deliver: int = 10,
        retry_base_seconds: float = 1.0,
        retry_cap_seconds: float = 300.0,
        duplicate_window_seconds: float = 600.0,
        max_age_seconds: float = 72 * 3600.0,
    ):
        self.db = db
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.url = url
        self.stream = stream
        self.batch = batch
        self.ack_wait_seconds = ack_wait_seconds
        self.max_deliver = max_deliver
        self.retry_base_seconds = retry_base_seconds
        self.retry_cap_seconds = retry_cap_seconds
        self.duplicate_window_seconds = duplicate_window_seconds
        self.max_age_seconds = max_age_seconds
        self._runner = AsyncLoopThread("nats-relay", self._main)
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        # (consumer, event id) -> failed runs so far in this process.
        self._tries: dict[tuple[str, int], int] = {}

    @classmethod
    def from_settings(
        cls, db: Database, registry: ConsumerRegistry, settings: Settings
    ) -> NatsRelay:
        """The relay a deployment's settings describe."""
        return cls(
            db,
            registry,
            settings.relay_poll_seconds,
            url=settings.nats_url,
            stream=settings.nats_stream,
            ack_wait_seconds=settings.nats_ack_wait_seconds,
            max_deliver=settings.nats_max_deliver,
            max_age_seconds=settings.outbox_retention_hours * 3600,
        )

    # ------------------------------------------------------------------ the thread and its loop

    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._runner.stop()

    def notify(self) -> None:
        self._runner.wake()

    def drain(self) -> int:
        """Publish one batch of pending events now; returns how many JetStream acknowledged.
        Delivery to the consumers follows from their durables while the relay runs."""
        return self._runner.call(self._publish_batch())

    async def _main(self, signals: LoopSignals) -> None:
        self._wake, self._stopping = signals.wake, signals.stopping
        try:
            await self._connect()
            if not self._stopping.is_set():
                await self._serve(self._stopping)
        finally:
            if self._nc is not None:
                # Closed, not drained: a message fetched and not yet acknowledged simply comes
                # back to another fetch after the ack wait.
                try:
                    await self._nc.close()
                except Exception:  # closing a connection that is already gone
                    log.debug("closing the NATS connection failed", exc_info=True)
                self._nc = self._js = None

    async def _serve(self, stopping: asyncio.Event) -> None:
        # Every durable exists before anything is published: a durable starts at the messages
        # published after its creation, so a publisher that went first could leave one out.
        subs = []
        for consumer in self.registry.consumers:
            sub = await self._bind(consumer)
            if sub is None:  # stopped meanwhile
                return
            subs.append(sub)
        tasks = [asyncio.create_task(self._publisher(), name="nats-publisher")]
        tasks += [
            asyncio.create_task(self._consume(c, sub), name=f"nats-consumer-{c.name}")
            for c, sub in zip(self.registry.consumers, subs, strict=True)
        ]
        await stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connect(self) -> None:
        """Connect and declare the stream, retrying until NATS answers (or the relay stops);
        the client reconnects by itself after that."""
        assert self._stopping is not None
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._nc = await nats.connect(
                    self.url,
                    name="cityloop-relay",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=self._on_error,
                )
                self._js = self._nc.jetstream(timeout=5)
                await self._declare_stream()
                return
            except Exception as exc:
                log.warning("NATS at %s not ready (%s); retrying in %.1f s", self.url, exc, delay)
                if self._nc is not None:
                    await self._nc.close()
                    self._nc = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, 10.0)

    async def _on_error(self, exc: Exception) -> None:
        # The client reconnects by itself; one line per error, not a traceback each time.
        log.warning("NATS connection: %s", exc or type(exc).__name__)

    async def _declare_stream(self) -> None:
        """Create the stream, or bring an existing one to this configuration: each process
        declares it at start, so this must be idempotent."""
        assert self._js is not None
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.stream}.>"],
            storage=StorageType.FILE,
            duplicate_window=self.duplicate_window_seconds,
            # The outbox is the record; the stream need only hold what is still in flight.
            max_age=self.max_age_seconds,
        )
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(config)
        else:
            await self._js.update_stream(config)

    # ------------------------------------------------------------------------- the publisher

    async def _publisher(self) -> None:
        assert self._wake is not None
        delay = self.retry_base_seconds
        while True:
            try:
                while await self._publish_batch() >= self.batch:
                    pass
                delay = self.retry_base_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()
            except asyncio.CancelledError:
                raise
            except (ConnectionError, nats.errors.Error) as exc:  # NATS away: rows wait
                log.warning("publishing to NATS failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:  # the database busy or gone: the rows wait in the outbox
                log.exception("publishing the outbox failed; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _publish_batch(self) -> int:
        js, nc = self._js, self._nc
        if js is None or nc is None:
            return 0
        if not nc.is_connected:  # reconnecting: publishing now would only wait for a timeout
            raise ConnectionError(f"not connected to NATS at {self.url}")
        pending = await asyncio.to_thread(self._read_pending)
        if not pending:
            return 0
        results = await asyncio.gather(
            *(
                js.publish(
                    subject_for(self.stream, event.type),
                    encode(event),
                    stream=self.stream,
                    headers={"Nats-Msg-Id": str(event.id)},
                )
                for event in pending
            ),
            return_exceptions=True,
        )
        acked = [
            e.id for e, r in zip(pending, results, strict=True) if not isinstance(r, BaseException)
        ]
        if acked:
            await asyncio.to_thread(self._mark_published, acked)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        return len(acked)

    def _read_pending(self) -> list[DeliveredEvent]:
        with self.db.read() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self.batch)
            ).all()
            return [
                DeliveredEvent(
                    e.id, e.type, e.aggregate_type, e.aggregate_id, dict(e.payload), e.created_at
                )
                for e in rows
            ]

    def _mark_published(self, ids: list[int]) -> None:
        with self.db.writing() as session:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(ids), OutboxEvent.published_at.is_(None))
                .values(published_at=utcnow())
            )

    # ------------------------------------------------------------------------- the consumers

    @property
    def _server_max_deliver(self) -> int:
        return 2 * self.max_deliver

    def _consumer_config(self, consumer: Consumer) -> ConsumerConfig:
        # One filter subject per durable is what NATS 2.9 offers: a consumer of one type reads
        # only that subject, one of several types reads the stream and skips the others.
        wanted = sorted(consumer.types)
        only = subject_for(self.stream, wanted[0]) if wanted != ["*"] and len(wanted) == 1 else None
        # The server redelivers a message nobody acknowledged (its process died mid-batch)
        # after the first wait, then after doubling waits: a crash loop slows down.
        backoff = [
            min(self.ack_wait_seconds * 2**n, max(self.ack_wait_seconds, self.retry_cap_seconds))
            for n in range(self.max_deliver - 1)
        ]
        return ConsumerConfig(
            durable_name=durable_for(consumer.name),
            description=f"cityloop consumer {consumer.name}",
            # A consumer added in a new release starts with the events published from then on,
            # as with the in-process relay: it never replays the stream's history.
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            # The relay gives an event up after max_deliver runs of its own (see _handle);
            # the server's cap is a backstop for a process that dies on an event each time.
            max_deliver=self._server_max_deliver,
            backoff=backoff or None,
            filter_subject=only or f"{self.stream}.>",
        )

    async def _bind(self, consumer: Consumer) -> JetStreamContext.PullSubscription | None:
        """Create (or update) the consumer's durable and subscribe to it, retrying until NATS
        answers; None if the relay stops first."""
        assert self._js is not None and self._stopping is not None
        js = self._js
        durable = durable_for(consumer.name)
        while not self._stopping.is_set():
            try:
                try:
                    await js.add_consumer(self.stream, self._consumer_config(consumer))
                except APIError as exc:  # an older configuration stands: use it as it is
                    log.warning("durable %s kept its configuration: %s", durable, exc)
                return await js.pull_subscribe_bind(durable=durable, stream=self.stream)
            except Exception:
                log.exception("binding durable %s failed; retrying", durable)
                await asyncio.sleep(1.0)
        return None

    async def _consume(self, consumer: Consumer, sub: JetStreamContext.PullSubscription) -> None:
        durable = durable_for(consumer.name)
        while True:
            try:
                msgs = await sub.fetch(self.batch, timeout=self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except TimeoutError:  # nothing to fetch (nats-py's own TimeoutError derives from it)
                continue
            except Exception:  # NATS away: the client reconnects, the durable remembers
                log.warning("fetching for %s failed; retrying", durable)
                await asyncio.sleep(self.retry_base_seconds)
                continue
            try:
                await self._handle(consumer, msgs)
            except asyncio.CancelledError:
                raise
            except Exception:  # unacknowledged messages come back after the ack wait
                log.exception("consumer %s could not settle a batch", consumer.name)

    async def _handle(self, consumer: Consumer, msgs: list[Msg]) -> None:
        # Event id -> its messages in this batch (a redelivery can arrive beside the copy whose
        # ack wait ran out, or a late republication beside the first): each event runs once,
        # and every one of its messages is settled alike.
        copies: dict[int, list[Msg]] = {}
        events: dict[int, DeliveredEvent] = {}
        for msg in msgs:
            try:
                event = decode(msg.data)
            except (ValueError, KeyError, TypeError):
                log.error("dropping an unreadable message on %s", msg.subject)
                await msg.term()
                continue
            if consumer.wants(event.type):
                copies.setdefault(event.id, []).append(msg)
                events[event.id] = event
            else:
                await msg.ack()
        if not events:
            return
        working = [msg for held in copies.values() for msg in held]
        keepalive = asyncio.create_task(self._keep_in_progress(working))
        try:
            failures = await asyncio.to_thread(
                deliver_batch, self.db, consumer, list(events.values()), published_is_done=False
            )
        finally:
            keepalive.cancel()
        given_up: dict[int, str] = {}
        for event_id, held in copies.items():
            key = (consumer.name, event_id)
            if event_id not in failures:
                self._tries.pop(key, None)
                for msg in held:
                    await msg.ack()
                continue
            # The relay's own runs decide, not the server's delivery count: that also counts
            # deliveries whose ack wait ran out while they queued behind a slow batch, which
            # gave an event up after fewer runs than max_deliver (and only sometimes).
            tries = self._tries.pop(key, 0) + 1
            delivered = max(msg.metadata.num_delivered or 1 for msg in held)
            if tries >= self.max_deliver or delivered >= self._server_max_deliver:
                given_up[event_id] = failures[event_id]
                for msg in held:
                    await msg.term()
                continue
            self._tries[key] = tries
            while len(self._tries) > self.TRIES_KEPT:  # events another process took over
                self._tries.pop(next(iter(self._tries)))
            delay = min(self.retry_base_seconds * 2 ** (tries - 1), self.retry_cap_seconds)
            for msg in held:
                await msg.nak(delay=delay)
        if given_up:
            await asyncio.to_thread(self._record_given_up, given_up)

    async def _keep_in_progress(self, msgs: list[Msg]) -> None:
        """Tell the server, every half ack wait, that a batch is still being worked on, so a
        slow batch is not sent again (to this process or another) while it runs."""
        while True:
            await asyncio.sleep(self.ack_wait_seconds / 2)
            for msg in msgs:
                with contextlib.suppress(Exception):  # settled below, or the link is down
                    await msg.in_progress()

    def _record_given_up(self, failures: dict[int, str]) -> None:
        """An operator finds a dead letter on its outbox row: attempts and the last error."""
        with self.db.writing() as session:
            for event_id, error in failures.items():
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == event_id)
                    .values(attempts=OutboxEvent.attempts + 1, last_error=error[:2000])
                )
