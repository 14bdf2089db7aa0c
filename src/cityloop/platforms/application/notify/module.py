"""Notify: inboxes, e-mail, and the outbound webhook queue."""

from __future__ import annotations

from typing import Any

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob, Service
from cityloop.platforms.application.notify import service
from cityloop.platforms.application.notify.channels import channel_from_url
from cityloop.platforms.application.notify.models import (
    Notification,
    WebhookDelivery,
    WebhookSourceStats,
)
from cityloop.platforms.application.notify.views import router
from cityloop.platforms.application.notify.webhooks import (
    WebhookConfig,
    WebhookDispatcher,
    notify_dispatcher_after_commit,
    prune_job,
    queue_depth,
)


def _email(ctx: AppContext) -> None:
    if ctx.settings.smtp_url:
        ctx.extras["email"] = channel_from_url(ctx.settings.smtp_url)


def _send_email(ctx: AppContext) -> int:
    return service.send_pending(ctx.db, ctx.extras["email"])


def _webhooks(ctx: AppContext) -> dict[str, Service]:
    # Sent from their own thread and event loop, woken by the commits that enqueue.
    dispatcher = WebhookDispatcher(ctx.db, WebhookConfig.from_settings(ctx.settings))
    notify_dispatcher_after_commit(ctx.db, dispatcher)

    def depth() -> dict[Any, float]:
        with ctx.reading() as session:
            counts = queue_depth(session)
        return {(("status", status),): float(count) for status, count in counts.items()}

    metrics.WEBHOOK_QUEUE.collector = depth
    return {"webhooks": dispatcher}


MODULE = Module(
    name="notify",
    models=(Notification, WebhookDelivery, WebhookSourceStats),
    routers=(router,),
    jobs=(
        ScheduledJob(
            "email",
            lambda s: s.email_interval_seconds,
            _send_email,
            when=lambda s: bool(s.smtp_url),
        ),
        ScheduledJob(
            "webhook-prune",
            lambda s: s.webhook_prune_interval_seconds,
            lambda ctx: prune_job(ctx.db, ctx.settings),
        ),
    ),
    setup=(_email, _webhooks),
)
