"""Services (一网通办): the service catalogue, forms, applications reviewed across departments in
sequence and in parallel, working-day time limits, fees, ratings and e-licences."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.limits import BodyLimit
from cityloop.base.modules import Module, ScheduledJob
from cityloop.domains.services import cli, consumers, datasets, deadlines
from cityloop.domains.services.definitions import MAX_MATERIAL_BYTES
from cityloop.domains.services.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationRating,
    ApplicationStep,
    Service,
    ServiceVersion,
)
from cityloop.domains.services.staff_views import router as staff_router
from cityloop.domains.services.views import router as hall_router
from cityloop.domains.services.wallet_views import router as wallet_router


def _sweep(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return deadlines.sweep_overdue(session)


MODULE = Module(
    name="services",
    models=(
        Service,
        ServiceVersion,
        Application,
        ApplicationStep,
        ApplicationMaterial,
        ApplicationEvent,
        ApplicationRating,
    ),
    routers=(hall_router, staff_router, wallet_router),
    consumers=(consumers.subscribe,),
    jobs=(ScheduledJob("application-overdue", lambda s: s.scheduler_interval_seconds, _sweep),),
    setup=(datasets.register_datasets,),
    commands=(cli.install,),
    body_limits=(
        # A material is one document plus a few form fields.
        BodyLimit(
            r"/api/v1/applications/\d+/materials",
            lambda s: MAX_MATERIAL_BYTES + 64 * 1024,
            media_type="multipart/form-data",
        ),
    ),
)
