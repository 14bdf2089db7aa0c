"""Notify: inboxes and e-mail."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.platforms.application.notify import service
from cityloop.platforms.application.notify.channels import channel_from_url
from cityloop.platforms.application.notify.models import Notification
from cityloop.platforms.application.notify.views import router


def _email(ctx: AppContext) -> None:
    if ctx.settings.smtp_url:
        ctx.extras["email"] = channel_from_url(ctx.settings.smtp_url)
    if ctx.settings.sms_url:
        ctx.extras["sms"] = channel_from_url(ctx.settings.sms_url)


def _send_email(ctx: AppContext) -> int:
    return service.send_pending(ctx.db, channel=ctx.extras["email"])


def _send_sms(ctx: AppContext) -> int:
    return service.send_pending(ctx.db, channel=ctx.extras["sms"])


MODULE = Module(
    name="notify",
    models=(Notification,),
    routers=(router,),
    jobs=(
        ScheduledJob(
            "email",
            lambda s: s.email_interval_seconds,
            _send_email,
            when=lambda s: bool(s.smtp_url),
        ),
        ScheduledJob(
            "sms",
            lambda s: s.email_interval_seconds,
            _send_sms,
            when=lambda s: bool(s.sms_url),
        ),
    ),
    setup=(_email,),
)
