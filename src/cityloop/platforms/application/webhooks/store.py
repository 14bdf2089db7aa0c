"""The webhook queue's database side: enqueue (in the caller's transaction), lease due rows
to a dispatcher, record outcomes, report per-source status, prune and count.

A caller (an NGSI-LD subscription, later other domains) calls :func:`enqueue` inside its own
write transaction, so a notification exists if and only if the change committed. Claimed rows
carry a lease; a crashed process's rows become due again when it expires (at-least-once
delivery). Rows for one (endpoint, source_id) are claimed one at a time in id order, so a
subscription's notifications arrive in order even across retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from cityloop.base.db import Database, utcnow
from cityloop.platforms.application.webhooks.messages import Message
from cityloop.platforms.application.webhooks.models import WebhookDelivery, WebhookSourceStats
from cityloop.platforms.application.webhooks.rules import (
    DELIVERED,
    DELIVERY_WORKFLOW,
    FAILED,
    PENDING,
    Outcome,
    WebhookConfig,
    WebhookInputError,
    backoff_seconds,
    check_headers,
    endpoint_origin,
)
from cityloop.settings import Settings


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
    """Queue one notification in the caller's transaction and return its id."""
    # It is sent only if that transaction commits; the dispatcher is woken right after the
    # commit.
    origin = endpoint_origin(endpoint)
    if not isinstance(body, bytes | bytearray):
        raise WebhookInputError(Message("webhooks.body_not_bytes"), "body")
    if (
        not isinstance(content_type, str)
        or not content_type.strip()
        or any(c in "\r\n\0" for c in content_type)
        or len(content_type) > 200
    ):
        raise WebhookInputError(Message("webhooks.content_type_invalid"), "content_type")
    clean_headers = check_headers(headers)
    if not isinstance(source, str) or not 0 < len(source) <= 80:
        raise WebhookInputError(Message("webhooks.source_length"), "source")
    if not isinstance(source_id, str) or not 0 < len(source_id) <= 300:
        raise WebhookInputError(Message("webhooks.source_id_length"), "source_id")
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
    """Lease up to ``limit`` due notifications to ``worker`` and return them."""
    # A row is due when it is pending, its next attempt time has come, nobody holds a live lease
    # on it, and no earlier pending row for the same (endpoint, source_id) exists (per-key
    # order). ``per_origin_free`` says how many more rows each origin may take now.
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


def has_due(session: Session, *, now: datetime | None = None) -> bool:
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


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def record_outcome(
    session: Session,
    *,
    job: Job,
    outcome: Outcome,
    worker: str,
    config: WebhookConfig,
    now: datetime | None = None,
) -> str | None:
    """Record one attempt's outcome on its row and its source's stats; the row's new status."""
    # None when this worker no longer holds the row: its lease expired and another dispatcher
    # took it over, whose record wins.
    now = now or utcnow()
    kind = outcome.kind
    if kind == "retryable" and job.attempt >= config.max_attempts:
        kind = "exhausted"
    status = DELIVERY_WORKFLOW.target(PENDING, kind)
    assert status is not None, kind  # every outcome has a row from pending
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
    session: Session, *, source: str, source_ids: list[str]
) -> dict[str, SourceStatus]:
    """Status of each given source id, in two queries."""
    # An id with queued notifications but no attempt yet has zero counts; an id with neither is
    # absent.
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


def source_status(session: Session, *, source: str, source_id: str) -> SourceStatus | None:
    """Status of one source id, or None when it has neither queued notifications nor attempts."""
    return source_statuses(session, source=source, source_ids=[source_id]).get(source_id)


def forget_source(session: Session, *, source: str, source_id: str) -> int:
    """Drop a source's notifications and stats; how many unsent ones were dropped."""
    # For instance when its subscription was deleted.
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


def prune_job(db: Database, *, settings: Settings) -> int:
    """The scheduled prune: delete finished notifications past the configured retention."""
    with db.writing() as session:
        return prune(
            session,
            delivered_older_than=timedelta(hours=settings.webhook_retention_hours),
            failed_older_than=timedelta(hours=settings.webhook_failed_retention_hours),
        )
