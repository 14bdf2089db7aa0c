"""The base's own declaration: the outbox, idempotency and job schedule tables, and outbox
pruning."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.idempotency import IdempotencyRecord
from cityloop.base.modules import Module, ScheduledJob
from cityloop.base.outbox import OutboxDelivery, OutboxEvent, prune_published
from cityloop.base.scheduler import ScheduledJobRun


def _prune_outbox(ctx: AppContext) -> int:
    return prune_published(ctx.db, timedelta(hours=ctx.settings.outbox_retention_hours))


def _gauges(ctx: AppContext) -> None:
    def outbox_pending() -> dict[Any, float]:
        with ctx.reading() as session:
            count = session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None)))
        return {(): float(count or 0)}

    metrics.OUTBOX_PENDING.collector = outbox_pending


MODULE = Module(
    name="base",
    models=(IdempotencyRecord, OutboxEvent, OutboxDelivery, ScheduledJobRun),
    jobs=(ScheduledJob("outbox-prune", lambda s: s.outbox_prune_interval_seconds, _prune_outbox),),
    setup=(_gauges,),
)
