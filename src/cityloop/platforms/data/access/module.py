"""The access log: every read of a person's or an enterprise's data; their view of it, and the
console's."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.base.outbox import ConsumerRegistry
from cityloop.platforms.application.credentials.runtime import authority_of
from cityloop.platforms.application.identity.events import PersonalDataRead
from cityloop.platforms.data.access import chain, cli
from cityloop.platforms.data.access.consumers import on_personal_data_read
from cityloop.platforms.data.access.models import (
    ChainCheckpoint,
    ChainHead,
    DataAccess,
    PlatformKey,
)
from cityloop.platforms.data.access.staff_views import router as staff_router
from cityloop.platforms.data.access.views import router


def _consumers(registry: ConsumerRegistry, ctx: AppContext) -> None:
    registry.subscribe("access-log", [PersonalDataRead], on_personal_data_read)


def _checkpoint(ctx: AppContext) -> object:
    with ctx.writing() as session:
        return chain.checkpoint(session, vault=authority_of(ctx).vault)


MODULE = Module(
    name="access",
    models=(DataAccess, ChainHead, ChainCheckpoint, PlatformKey),
    routers=(router, staff_router),
    consumers=(_consumers,),
    jobs=(
        ScheduledJob(
            "access-log-checkpoint", lambda s: s.access_log_checkpoint_seconds, _checkpoint
        ),
    ),
    commands=(cli.install,),
)
