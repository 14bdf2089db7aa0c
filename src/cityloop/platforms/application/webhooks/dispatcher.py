"""The webhook dispatcher: sends queued notifications from its own thread and event loop,
through the outbound client (so every request passes the address policy at send time), never
on a request path and never with a database transaction open.

Isolation is per endpoint *origin* (scheme, host, port): each origin has its own in-flight limit
and its own circuit (after a failure no new request goes there until its backoff passes), so a
slow or dead endpoint only ever holds its own slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.background import AsyncLoopThread, LoopSignals
from cityloop.base.commit_hooks import on_commit
from cityloop.base.db import Database
from cityloop.base.outbound import Outbound, OutboundError, OutboundSession
from cityloop.platforms.application.webhooks.rules import (
    DELIVERED,
    FAILED,
    PENDING,
    Outcome,
    WebhookConfig,
    backoff_seconds,
    classify_response,
)
from cityloop.platforms.application.webhooks.store import Job, claim_due, has_due, record_outcome

log = logging.getLogger(__name__)


@dataclass
class _OriginState:
    in_flight: int = 0
    failures: int = 0
    open_until: float = 0.0  # monotonic time before which no new request goes out


class WebhookDispatcher:
    """Sends queued notifications from a background thread running its own asyncio loop."""

    def __init__(self, db: Database, config: WebhookConfig, *, outbound: Outbound) -> None:
        self.db = db
        self.config = config
        self.outbound = outbound
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._origins: dict[str, _OriginState] = {}
        self._in_flight = 0
        self._runner = AsyncLoopThread(
            "webhooks", self._main, join_seconds=config.timeout_seconds + 10
        )
        self._wake: asyncio.Event | None = None

    # Thread-side control.

    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._runner.stop()

    def notify(self) -> None:
        """Wake the dispatcher (from any thread), e.g. right after a commit that enqueued."""
        self._runner.wake()

    # Loop-side work.

    async def _main(self, signals: LoopSignals) -> None:
        self._wake = signals.wake
        tasks: set[asyncio.Task[None]] = set()
        async with self.outbound.session(self.config.global_concurrency) as client:
            while not signals.stopping.is_set():
                self._wake.clear()
                jobs: list[Job] = []
                try:
                    jobs = await self._claim()
                except Exception:  # the database is briefly away: poll again later
                    log.exception("webhook claim failed")
                for job in jobs:
                    task = asyncio.create_task(self._deliver(client, job))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if jobs:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_wait())
            # Let open requests finish (each is bounded by the timeout) so their outcome is
            # recorded; anything cut off is sent again after its lease expires.
            if tasks:
                await asyncio.wait(tasks, timeout=self.config.timeout_seconds + 5)

    def _idle_wait(self) -> float:
        now = time.monotonic()
        reopen = [s.open_until - now for s in self._origins.values() if s.open_until > now]
        return max(0.01, min([self.config.poll_seconds, *reopen]))

    async def _claim(self) -> list[Job]:
        # The in-flight counts belong to the loop thread: snapshot them here, claim in a worker
        # thread (the database call blocks), and count the claimed jobs back on the loop.
        free = self.config.global_concurrency - self._in_flight
        if free <= 0:
            return []
        now = time.monotonic()
        per_origin = self.config.endpoint_concurrency
        busy = frozenset(
            origin
            for origin, state in self._origins.items()
            if state.open_until > now or state.in_flight >= per_origin
        )
        room = {origin: per_origin - state.in_flight for origin, state in self._origins.items()}

        def claim() -> list[Job]:
            # An idle poll only reads: the write lock (BEGIN IMMEDIATE on SQLite) is taken only
            # when something is due.
            with self.db.read() as session:
                if not has_due(session):
                    return []
            with self.db.writing() as session:
                return claim_due(
                    session,
                    worker=self.worker,
                    limit=min(free, self.config.batch_size),
                    lease_seconds=self.config.effective_lease_seconds,
                    per_origin_free=lambda origin: room.get(origin, per_origin),
                    exclude_origins=busy,
                )

        jobs = await asyncio.to_thread(claim)
        for job in jobs:
            self._origins.setdefault(job.origin, _OriginState()).in_flight += 1
            self._in_flight += 1
        return jobs

    async def _deliver(self, client: OutboundSession, job: Job) -> None:
        state = self._origins.setdefault(job.origin, _OriginState())
        started = time.perf_counter()
        try:
            outcome = await self._send(client, job)
            elapsed = time.perf_counter() - started
            metrics.WEBHOOK_LATENCY.observe(elapsed, outcome=outcome.kind)
            if outcome.kind == "retryable":
                state.failures += 1
                pause = backoff_seconds(
                    state.failures,
                    self.config.backoff_base_seconds,
                    self.config.backoff_cap_seconds,
                )
                state.open_until = max(state.open_until, time.monotonic() + pause)
            else:
                # The endpoint answered sensibly (even a 4xx): it is alive, close its circuit.
                state.failures = 0
                state.open_until = 0.0
            try:
                status = await asyncio.to_thread(self._record, job, outcome)
            except Exception:  # the lease expires and the row is sent again: at-least-once
                log.exception("recording webhook %s failed", job.id)
                return
            if status == DELIVERED:
                metrics.WEBHOOKS_DELIVERED.inc()
            elif status == PENDING:
                metrics.WEBHOOKS_RETRIED.inc()
            elif status == FAILED:
                metrics.WEBHOOKS_FAILED.inc()
                log.warning("webhook %s to %s failed: %s", job.id, job.endpoint, outcome.error)
        finally:
            state.in_flight -= 1
            self._in_flight -= 1
            if self._wake is not None:
                self._wake.set()

    async def _send(self, client: OutboundSession, job: Job) -> Outcome:
        headers = {**job.headers, "Content-Type": job.content_type}
        try:
            # One deadline for the whole exchange (an endpoint trickling its answer a byte at a
            # time would otherwise outlive the lease and be sent twice). The body is never
            # read: only the status and headers matter, so a receiver cannot make us buffer it.
            reply = await client.request(
                "POST",
                job.endpoint,
                content=job.body,
                headers=headers,
                timeout=self.config.timeout_seconds,
            )
        except OutboundError as exc:
            if exc.kind in ("refused", "invalid"):
                # Resending cannot help: the endpoint resolves where the policy forbids.
                log.warning("webhook %s to %s refused: %s", job.id, job.endpoint, exc.reason)
                return Outcome("permanent", None, f"refused: {exc.reason}"[:2000])
            return Outcome("retryable", None, exc.reason[:2000])
        return classify_response(reply.status_code, reply.headers.get("retry-after"))

    def _record(self, job: Job, outcome: Outcome) -> str | None:
        with self.db.writing() as session:
            return record_outcome(
                session, job=job, outcome=outcome, worker=self.worker, config=self.config
            )


def notify_dispatcher_after_commit(
    db: Database, *, dispatcher: WebhookDispatcher
) -> Callable[[], None]:
    """Wake the dispatcher when a transaction that enqueued commits; returns an undo."""

    def after_commit(session: Session) -> None:
        if session.info.pop("webhooks_dirty", False):
            dispatcher.notify()

    undos = [on_commit(factory, after_commit) for factory in (db.write, db.read)]

    def undo() -> None:
        for remove in undos:
            remove()

    return undo
