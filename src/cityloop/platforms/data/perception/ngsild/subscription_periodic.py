"""Periodic subscriptions (clause 5.8.6, ``timeInterval``): every timeInterval seconds one
notification carries every entity the subscription selects (entities, q, geoQ, scopeQ), whether
it changed or not. A scheduled job calls :func:`send_periodic`; a subscription is due when its
interval has passed since its last notification (or it never had one)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.application.webhooks.rules import WebhookInputError
from cityloop.platforms.data.perception.ngsild import rows
from cityloop.platforms.data.perception.ngsild.errors import NgsiError
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity, NgsiSubscription
from cityloop.platforms.data.perception.ngsild.notifier import (
    Delivery,
    compile_subscription,
    selector_types,
    send,
    state_of,
)
from cityloop.platforms.data.perception.ngsild.subscription_payload import Notified

log = logging.getLogger(__name__)

# One notification carries at most this many entities; more wait for the next period.
MAX_ENTITIES = 1000


def _due(row: NgsiSubscription, now: datetime) -> bool:
    assert row.time_interval is not None
    if state_of(row, now) != "active":
        return False
    last = row.last_notified_at
    return last is None or (now - last).total_seconds() >= row.time_interval


def _selected(session: Session, row: NgsiSubscription) -> list[NgsiEntity]:
    compiled = compile_subscription(row, session)
    statement = select(NgsiEntity).where(NgsiEntity.tenant == row.tenant)
    types = {t for selector in row.spec.get("entities") or [] for t in selector_types(selector)}
    if types:
        statement = statement.where(NgsiEntity.type.in_(types))
    found: list[NgsiEntity] = []
    for entity in session.scalars(statement.order_by(NgsiEntity.id)):
        if compiled.selects(entity.type, entity.entity_id) and compiled.filters(
            entity.attrs or {}, entity.scope
        ):
            found.append(entity)
            if len(found) >= MAX_ENTITIES:
                break
    return found


def has_periodic(session: Session) -> bool:
    """Whether any subscription is periodic (the job's check before it takes the write lock)."""
    periodic = select(NgsiSubscription.id).where(NgsiSubscription.time_interval.is_not(None))
    return session.scalar(periodic.limit(1)) is not None


def send_periodic(session: Session, *, delivery: Delivery, now: datetime | None = None) -> int:
    """Send each due periodic subscription its notification; returns how many were sent."""
    now = now or utcnow()
    sent = 0
    periodic = select(NgsiSubscription).where(NgsiSubscription.time_interval.is_not(None))
    for row in session.scalars(periodic):
        if not _due(row, now):
            continue
        try:
            with session.begin_nested():
                entities = _selected(session, row)
                if entities:
                    notified = [Notified(rows.view_of(entity)) for entity in entities]
                    send(session, delivery=delivery, row=row, entities=notified)
                    sent += 1
                row.last_notified_at = now  # the period runs even when nothing matched
        except (NgsiError, WebhookInputError) as exc:
            log.warning("subscription %s: no periodic notification: %s", row.subscription_id, exc)
    return sent
