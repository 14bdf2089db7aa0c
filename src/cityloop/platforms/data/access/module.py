"""The access log: every read of a person's data, and the citizen's view of it."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module
from cityloop.base.outbox import ConsumerRegistry
from cityloop.platforms.application.identity.events import PersonalDataRead
from cityloop.platforms.data.access.consumers import on_personal_data_read
from cityloop.platforms.data.access.models import DataAccess
from cityloop.platforms.data.access.views import router


def _consumers(registry: ConsumerRegistry, ctx: AppContext) -> None:
    registry.subscribe("access-log", [PersonalDataRead], on_personal_data_read)


MODULE = Module(
    name="access",
    models=(DataAccess,),
    routers=(router,),
    consumers=(_consumers,),
)
