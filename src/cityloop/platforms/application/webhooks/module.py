"""Webhooks: the outbound notification queue, its dispatcher and its pruning."""

from __future__ import annotations

from typing import Any

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob, Service
from cityloop.platforms.application.webhooks.dispatcher import (
    WebhookDispatcher,
    notify_dispatcher_after_commit,
)
from cityloop.platforms.application.webhooks.models import WebhookDelivery, WebhookSourceStats
from cityloop.platforms.application.webhooks.rules import WebhookConfig
from cityloop.platforms.application.webhooks.store import prune_job, queue_depth


def _webhooks(ctx: AppContext) -> dict[str, Service]:
    # Sent from their own thread and event loop, woken by the commits that enqueue.
    dispatcher = WebhookDispatcher(
        ctx.db, WebhookConfig.from_settings(ctx.settings), outbound=ctx.outbound
    )
    notify_dispatcher_after_commit(ctx.db, dispatcher=dispatcher)

    def depth() -> dict[Any, float]:
        with ctx.reading() as session:
            counts = queue_depth(session)
        return {(("status", status),): float(count) for status, count in counts.items()}

    metrics.WEBHOOK_QUEUE.collector = depth
    return {"webhooks": dispatcher}


MODULE = Module(
    name="webhooks",
    models=(WebhookDelivery, WebhookSourceStats),
    jobs=(
        ScheduledJob(
            "webhook-prune",
            lambda s: s.webhook_prune_interval_seconds,
            lambda ctx: prune_job(ctx.db, settings=ctx.settings),
        ),
    ),
    setup=(_webhooks,),
)
