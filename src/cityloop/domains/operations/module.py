"""Operations (城市决策): the case read model and the operations centre's KPIs, league tables,
trends, hotspots, city map and live feed. Its facts are written by the ``case_facts`` bridge."""

from __future__ import annotations

from cityloop.base.modules import Module, ScheduledJob
from cityloop.domains.operations import live
from cityloop.domains.operations.centre_views import router as centre_router
from cityloop.domains.operations.models import (
    CaseFactRow,
    LiveChange,
    ProactiveTask,
    RatingFactRow,
    ReworkFactRow,
)
from cityloop.domains.operations.views import router

MODULE = Module(
    name="operations",
    models=(CaseFactRow, RatingFactRow, ReworkFactRow, ProactiveTask, LiveChange),
    routers=(router, centre_router),
    consumers=(live.subscribe,),
    jobs=(ScheduledJob("ops-live-changes-prune", lambda settings: 3600.0, live.prune_job),),
)
