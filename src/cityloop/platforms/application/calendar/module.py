"""Calendar: the working-day calendar (工作日) every deadline in working days is counted on."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.platforms.application.calendar import cli, service
from cityloop.platforms.application.calendar.events import CalendarChanged
from cityloop.platforms.application.calendar.models import CalendarDay
from cityloop.platforms.application.calendar.views import router


def _forget(_session: object, _event: DeliveredEvent) -> None:
    # The process that changed the table has cleared its cache already; this reaches the
    # process running the relay. Others notice within RECHECK_SECONDS (the table's fingerprint).
    service.forget_cache()


def _subscribe(registry: ConsumerRegistry, _ctx: AppContext) -> None:
    registry.subscribe("calendar.cache", [CalendarChanged], _forget)  # type: ignore[arg-type]


MODULE = Module(
    name="calendar",
    models=(CalendarDay,),
    routers=(router,),
    consumers=(_subscribe,),
    commands=(cli.install,),
)
