"""Sharing between departments (一网共享): grants, reads of shared datasets, live lookups."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.base.outbox import ConsumerRegistry
from cityloop.platforms.data.sharing import builtin, events, notifications, service
from cityloop.platforms.data.sharing.models import DataGrant, GrantEvent
from cityloop.platforms.data.sharing.views import router


def _install_lookups(ctx: AppContext) -> None:
    builtin.install()


def _consumers(registry: ConsumerRegistry, ctx: AppContext) -> None:
    registry.subscribe(
        "grant-notices", list(events.BY_ACTION.values()), notifications.on_grant_change
    )


def _expire(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return service.expire_due(session)


MODULE = Module(
    name="sharing",
    models=(DataGrant, GrantEvent),
    routers=(router,),
    consumers=(_consumers,),
    jobs=(ScheduledJob("grants-expire", lambda s: s.scheduler_interval_seconds, _expire),),
    setup=(_install_lookups,),
)
