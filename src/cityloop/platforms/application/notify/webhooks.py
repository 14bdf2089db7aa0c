"""Outbound webhooks: a queue of HTTP notifications with a timeout and retries per endpoint.

A caller (an NGSI-LD subscription, later other domains) calls :func:`enqueue` inside its own
write transaction, so a notification exists if and only if the change committed. The
:class:`WebhookDispatcher` sends queued rows from its own thread and event loop, never on a
request path and never with a database transaction open.

Isolation is per endpoint *origin* (scheme, host, port): each origin has its own in-flight limit
and its own circuit (after a failure no new request goes there until its backoff passes), so a
slow or dead endpoint only ever holds its own slots. Claimed rows carry a lease; a crashed
process's rows become due again when it expires (at-least-once delivery). Rows for one
(endpoint, source_id) go out one at a time in id order, so a subscription's notifications arrive
in order even across retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from cityloop.base import metrics
from cityloop.base.db import Database, utcnow
from cityloop.base.problems import Problem
from cityloop.platforms.application.notify.models import WebhookDelivery, WebhookSourceStats
from cityloop.settings import Settings

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Outcome of one attempt -> the row's next status. A retryable outcome on the last allowed
# attempt becomes "exhausted", which fails the row too.
TRANSITIONS: dict[tuple[str, str], str] = {
    (PENDING, "success"): DELIVERED,
    (PENDING, "retryable"): PENDING,
    (PENDING, "exhausted"): FAILED,
    (PENDING, "permanent"): FAILED,
}
# Statuses worth another try: timeouts, rate limits and server errors. Any other 4xx (and 3xx,
# since redirects are not followed) means the request itself is wrong; resending cannot help.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Set by the HTTP client, or meaningless on a stored request.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade"}
)
MAX_ENDPOINT_LENGTH = 2000


class WebhookInputError(Problem, ValueError):
    """A notification that cannot be queued as given (a 400 naming the field)."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(400, "invalid-webhook", detail, field=field)


@dataclass(frozen=True)
class WebhookConfig:
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 600.0
    endpoint_concurrency: int = 4
    global_concurrency: int = 64
    batch_size: int = 50
    lease_seconds: float = 120.0
    poll_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        return cls(
            timeout_seconds=settings.webhook_timeout_seconds,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_seconds=settings.webhook_backoff_base_seconds,
            backoff_cap_seconds=settings.webhook_backoff_cap_seconds,
            endpoint_concurrency=settings.webhook_endpoint_concurrency,
            global_concurrency=settings.webhook_global_concurrency,
            batch_size=settings.webhook_batch_size,
            lease_seconds=settings.webhook_lease_seconds,
            poll_seconds=settings.webhook_poll_seconds,
        )

    @property
    def effective_lease_seconds(self) -> float:
        # A lease shorter than a request would let a second process resend a live attempt.
        return max(self.lease_seconds, self.timeout_seconds * 2 + 30)


# --- enqueueing -------------------------------------------------------------------------------


def endpoint_origin(endpoint: str) -> str:
    """Validate a notification endpoint and return its origin, ``scheme://host:port``."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise WebhookInputError("the endpoint must be a non-empty URL", "endpoint")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise WebhookInputError(
            f"the endpoint is longer than {MAX_ENDPOINT_LENGTH} characters", "endpoint"
        )
    if any(c.isspace() or ord(c) < 0x20 for c in endpoint):
        raise WebhookInputError(
            "the endpoint contains whitespace or control characters", "endpoint"
        )
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookInputError(
            f"the endpoint scheme must be http or https, not {parts.scheme or 'missing'!r}",
            "endpoint",
        )
    if parts.username is not None or parts.password is not None:
        raise WebhookInputError(
            "the endpoint must not carry credentials; send them as a header instead", "endpoint"
        )
    if not parts.hostname:
        raise WebhookInputError("the endpoint has no host", "endpoint")
    try:
        port = parts.port
    except ValueError:
        raise WebhookInputError("the endpoint has an invalid port", "endpoint") from None
    if port == 0:
        raise WebhookInputError("the endpoint has an invalid port", "endpoint")
    if parts.fragment:
        raise WebhookInputError("the endpoint must not have a #fragment", "endpoint")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    if not isinstance(headers, dict):
        raise WebhookInputError("headers must be an object of names to values", "headers")
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise WebhookInputError("header names and values must be strings", "headers")
        # RFC 9110 token characters only; CR/LF in a value would split the request.
        if not name or not all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name):
            raise WebhookInputError(f"invalid header name {name!r}", "headers")
        if any(c in "\r\n\0" for c in value):
            raise WebhookInputError(f"header {name} has a line break in its value", "headers")
        if name.lower() in RESERVED_HEADERS:
            raise WebhookInputError(f"header {name} is set by the sender", "headers")
        clean[name] = value
    return clean


def enqueue(
    session: Session,
    *,
    endpoint: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    source: str,
    source_id: str,
) -> int:
    """Queue one notification in the caller's transaction and return its id. It is sent only if
    that transaction commits; the dispatcher is woken right after the commit."""
    origin = endpoint_origin(endpoint)
    if not isinstance(body, bytes | bytearray):
        raise WebhookInputError("the body must be bytes", "body")
    if (
        not isinstance(content_type, str)
        or not content_type.strip()
        or any(c in "\r\n\0" for c in content_type)
        or len(content_type) > 200
    ):
        raise WebhookInputError("the content type must be a single-line media type", "content_type")
    clean_headers = _check_headers(headers)
    if not isinstance(source, str) or not 0 < len(source) <= 80:
        raise WebhookInputError("source must be 1 to 80 characters", "source")
    if not isinstance(source_id, str) or not 0 < len(source_id) <= 300:
        raise WebhookInputError("source_id must be 1 to 300 characters", "source_id")
    now = utcnow()
    row = WebhookDelivery(
        endpoint=endpoint,
        origin=origin,
        content_type=content_type,
        headers=clean_headers,
        body=bytes(body),
        source=source,
        source_id=source_id,
        status=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    session.info["webhooks_dirty"] = True
    return row.id


# --- claiming and recording (service functions; the dispatcher calls them) ------------------


@dataclass(frozen=True)
class Job:
    id: int
    endpoint: str
    origin: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    source: str
    source_id: str
    attempt: int


def claim_due(
    session: Session,
    *,
    worker: str,
    limit: int,
    lease_seconds: float,
    per_origin_free: Callable[[str], int] | None = None,
    exclude_origins: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> list[Job]:
    """Lease up to ``limit`` due notifications to ``worker`` and return them.

    A row is due when it is pending, its next attempt time has come, nobody holds a live lease
    on it, and no earlier pending row for the same (endpoint, source_id) exists (per-key order).
    ``per_origin_free`` says how many more rows each origin may take now."""
    now = now or utcnow()
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.endpoint == WebhookDelivery.endpoint,
        earlier.source_id == WebhookDelivery.source_id,
        earlier.status == PENDING,
        earlier.id < WebhookDelivery.id,
    )
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            ~blocked,
        )
        .order_by(WebhookDelivery.id)
        .limit(max(limit * 4, limit))
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    if exclude_origins:
        query = query.where(WebhookDelivery.origin.not_in(sorted(exclude_origins)))
    taken: list[WebhookDelivery] = []
    counts: dict[str, int] = {}
    for row in session.scalars(query):
        if len(taken) >= limit:
            break
        allowed = per_origin_free(row.origin) if per_origin_free else limit
        if counts.get(row.origin, 0) >= allowed:
            continue
        counts[row.origin] = counts.get(row.origin, 0) + 1
        taken.append(row)
    if not taken:
        return []
    # Built before the update: an ORM update also refreshes the loaded rows' attributes.
    jobs = [
        Job(
            r.id,
            r.endpoint,
            r.origin,
            r.content_type,
            dict(r.headers),
            bytes(r.body),
            r.source,
            r.source_id,
            r.attempts + 1,
        )
        for r in taken
    ]
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_([job.id for job in jobs]))
        .values(
            lease_until=now + timedelta(seconds=lease_seconds),
            claimed_by=worker,
            attempts=WebhookDelivery.attempts + 1,
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return jobs


def has_due(session: Session, now: datetime | None = None) -> bool:
    """Whether any notification might be claimable now (a cheap read before claiming)."""
    now = now or utcnow()
    found = session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class Outcome:
    """What one HTTP attempt came to."""

    kind: str  # success | retryable | permanent
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None


def classify_response(status_code: int, retry_after: str | None = None) -> Outcome:
    if 200 <= status_code < 300:
        return Outcome("success", status_code)
    delay: float | None = None
    if retry_after and retry_after.strip().isdigit():
        delay = float(retry_after.strip())
    if status_code >= 500 or status_code in RETRYABLE_STATUSES:
        return Outcome("retryable", status_code, f"HTTP {status_code}", delay)
    return Outcome("permanent", status_code, f"HTTP {status_code}")


def backoff_seconds(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter for the ``attempt``-th failure (1-based): half of
    min(cap, base * 2^(attempt-1)) fixed, half random, so retries of many rows spread out."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def record_outcome(
    session: Session,
    job: Job,
    outcome: Outcome,
    *,
    worker: str,
    config: WebhookConfig,
    now: datetime | None = None,
) -> str | None:
    """Record one attempt's outcome on its row and its source's stats; returns the row's new
    status, or None when this worker no longer holds the row (its lease expired and another
    dispatcher took it over, whose record wins)."""
    now = now or utcnow()
    kind = outcome.kind
    if kind == "retryable" and job.attempt >= config.max_attempts:
        kind = "exhausted"
    status = TRANSITIONS[(PENDING, kind)]
    values: dict[str, Any] = {
        "status": status,
        "lease_until": None,
        "claimed_by": None,
        "last_status": outcome.status_code,
        "last_error": outcome.error[:2000] if outcome.error else None,
    }
    if status == PENDING:
        delay = backoff_seconds(
            job.attempt, config.backoff_base_seconds, config.backoff_cap_seconds
        )
        if outcome.retry_after_seconds is not None:
            delay = max(delay, min(outcome.retry_after_seconds, config.backoff_cap_seconds))
        values["next_attempt_at"] = now + timedelta(seconds=delay)
    else:
        values["finished_at"] = now
    changed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == job.id,
            WebhookDelivery.claimed_by == worker,
            WebhookDelivery.status == PENDING,
        )
        .values(**values)
    ).rowcount
    if not changed:
        return None
    session.execute(
        _insert(session)(WebhookSourceStats)
        .values(source=job.source, source_id=job.source_id, times_sent=0, consecutive_failures=0)
        .on_conflict_do_nothing()
    )
    stats: dict[str, Any] = {
        "times_sent": WebhookSourceStats.times_sent + 1,
        "last_notification_at": now,
        "last_status": outcome.status_code,
    }
    if kind == "success":
        stats.update(consecutive_failures=0, last_success_at=now)
    else:
        stats.update(
            consecutive_failures=WebhookSourceStats.consecutive_failures + 1,
            last_failure_at=now,
            last_error=values["last_error"],
        )
    session.execute(
        update(WebhookSourceStats)
        .where(
            WebhookSourceStats.source == job.source,
            WebhookSourceStats.source_id == job.source_id,
        )
        .values(**stats)
    )
    return status


# --- status and housekeeping ------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    """Delivery status of one source, in the terms NGSI-LD subscriptions show."""

    source: str
    source_id: str
    times_sent: int
    consecutive_failures: int
    last_notification_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_status: int | None
    last_error: str | None
    pending: int
    failed: int

    @property
    def status(self) -> str:
        """NGSI-LD ``notification.status``: "failed" while the latest attempt failed."""
        return "failed" if self.consecutive_failures else "ok"


def source_statuses(
    session: Session, source: str, source_ids: list[str]
) -> dict[str, SourceStatus]:
    """Status of each given source id, in two queries. An id with queued notifications but no
    attempt yet has zero counts; an id with neither is absent."""
    if not source_ids:
        return {}
    queued: dict[tuple[str, str], int] = {
        (sid, status): int(count)
        for sid, status, count in session.execute(
            select(WebhookDelivery.source_id, WebhookDelivery.status, func.count())
            .where(
                WebhookDelivery.source == source,
                WebhookDelivery.source_id.in_(source_ids),
                WebhookDelivery.status.in_([PENDING, FAILED]),
            )
            .group_by(WebhookDelivery.source_id, WebhookDelivery.status)
        )
    }
    result: dict[str, SourceStatus] = {}
    for row in session.scalars(
        select(WebhookSourceStats).where(
            WebhookSourceStats.source == source, WebhookSourceStats.source_id.in_(source_ids)
        )
    ):
        result[row.source_id] = SourceStatus(
            source=row.source,
            source_id=row.source_id,
            times_sent=row.times_sent,
            consecutive_failures=row.consecutive_failures,
            last_notification_at=row.last_notification_at,
            last_success_at=row.last_success_at,
            last_failure_at=row.last_failure_at,
            last_status=row.last_status,
            last_error=row.last_error,
            pending=queued.get((row.source_id, PENDING), 0),
            failed=queued.get((row.source_id, FAILED), 0),
        )
    for sid in sorted({sid for sid, _ in queued} - result.keys()):
        result[sid] = SourceStatus(
            source=source,
            source_id=sid,
            times_sent=0,
            consecutive_failures=0,
            last_notification_at=None,
            last_success_at=None,
            last_failure_at=None,
            last_status=None,
            last_error=None,
            pending=queued.get((sid, PENDING), 0),
            failed=queued.get((sid, FAILED), 0),
        )
    return result


def source_status(session: Session, source: str, source_id: str) -> SourceStatus | None:
    return source_statuses(session, source, [source_id]).get(source_id)


def forget_source(session: Session, source: str, source_id: str) -> int:
    """Drop a source's queued notifications and stats (e.g. its subscription was deleted);
    returns how many unsent notifications were dropped."""
    dropped = session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.source == source,
            WebhookDelivery.source_id == source_id,
            WebhookDelivery.status == PENDING,
        )
    ).rowcount
    session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.source == source, WebhookDelivery.source_id == source_id
        )
    )
    session.execute(
        delete(WebhookSourceStats).where(
            WebhookSourceStats.source == source, WebhookSourceStats.source_id == source_id
        )
    )
    return int(dropped or 0)


def prune(
    session: Session,
    *,
    delivered_older_than: timedelta,
    failed_older_than: timedelta,
    now: datetime | None = None,
) -> int:
    """Delete finished notifications past their retention; returns how many went."""
    now = now or utcnow()
    result = session.execute(
        delete(WebhookDelivery).where(
            or_(
                and_(
                    WebhookDelivery.status == DELIVERED,
                    WebhookDelivery.finished_at < now - delivered_older_than,
                ),
                and_(
                    WebhookDelivery.status == FAILED,
                    WebhookDelivery.finished_at < now - failed_older_than,
                ),
            )
        )
    )
    return int(result.rowcount or 0)


def queue_depth(session: Session) -> dict[str, int]:
    """Unfinished and failed notifications, by status (the queue gauge)."""
    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.status.in_([PENDING, FAILED]))
        .group_by(WebhookDelivery.status)
    ).all()
    depth = {PENDING: 0, FAILED: 0}
    depth.update({status: int(count) for status, count in rows})
    return depth


# --- the dispatcher ---------------------------------------------------------------------------


@dataclass
class _OriginState:
    in_flight: int = 0
    failures: int = 0
    open_until: float = 0.0  # monotonic time before which no new request goes out


class WebhookDispatcher:
    """Sends queued notifications from a background thread running its own asyncio loop."""

    def __init__(self, db: Database, config: WebhookConfig) -> None:
        self.db = db
        self.config = config
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._origins: dict[str, _OriginState] = {}
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._started = threading.Event()

    # Thread-side control.

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._started.clear()
        self._thread = threading.Thread(target=self._run_thread, name="webhooks", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def stop(self) -> None:
        self._stopping = True
        self.notify()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_seconds + 10)
            self._thread = None

    def notify(self) -> None:
        """Wake the dispatcher (from any thread), e.g. right after a commit that enqueued."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            self._loop = None
            loop.close()

    # Loop-side work.

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        self._started.set()
        timeout = httpx.Timeout(self.config.timeout_seconds)
        limits = httpx.Limits(
            max_connections=self.config.global_concurrency,
            max_keepalive_connections=self.config.global_concurrency,
        )
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:
            while not self._stopping:
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

    async def _deliver(self, client: httpx.AsyncClient, job: Job) -> None:
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

    async def _send(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        headers = {**job.headers, "Content-Type": job.content_type}
        try:
            # One deadline for the whole exchange: httpx's timeouts are per read, so an endpoint
            # trickling a byte at a time would otherwise outlive the lease and be sent twice.
            status, retry_after = await asyncio.wait_for(
                self._post(client, job, headers), timeout=self.config.timeout_seconds
            )
        except (TimeoutError, httpx.TimeoutException):
            return Outcome("retryable", None, f"timed out after {self.config.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return Outcome("retryable", None, f"{type(exc).__name__}: {exc}"[:2000])
        except Exception as exc:  # e.g. an endpoint the client cannot even parse
            return Outcome("permanent", None, f"{type(exc).__name__}: {exc}"[:2000])
        return classify_response(status, retry_after)

    @staticmethod
    async def _post(
        client: httpx.AsyncClient, job: Job, headers: dict[str, str]
    ) -> tuple[int, str | None]:
        # Streamed and never read: only the status and headers matter, so a receiver cannot
        # make us buffer a body of any size.
        async with client.stream("POST", job.endpoint, content=job.body, headers=headers) as reply:
            return reply.status_code, reply.headers.get("retry-after")

    def _record(self, job: Job, outcome: Outcome) -> str | None:
        with self.db.writing() as session:
            return record_outcome(session, job, outcome, worker=self.worker, config=self.config)


def notify_dispatcher_after_commit(
    db: Database, dispatcher: WebhookDispatcher
) -> Callable[[], None]:
    """Wake the dispatcher when a transaction that enqueued commits; returns an undo."""
    from sqlalchemy import event as sa_event

    def after_commit(session: Session) -> None:
        if session.info.pop("webhooks_dirty", False):
            dispatcher.notify()

    factories = (db.write, db.read)
    for factory in factories:
        sa_event.listen(factory, "after_commit", after_commit)

    def undo() -> None:
        for factory in factories:
            sa_event.remove(factory, "after_commit", after_commit)

    return undo


def prune_job(db: Database, settings: Settings) -> int:
    with db.writing() as session:
        return prune(
            session,
            delivered_older_than=timedelta(hours=settings.webhook_retention_hours),
            failed_older_than=timedelta(hours=settings.webhook_failed_retention_hours),
        )
