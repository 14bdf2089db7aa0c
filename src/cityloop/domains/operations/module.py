"""Operations (城市决策): the case read model and the operations centre's KPIs, league tables,
trends, hotspots, the city's vital signs, the city map and its live feed. Its facts (and the KPI
rollups kept with them) are written by the ``case_facts`` bridge."""

from __future__ import annotations

from cityloop.base.modules import Module, ScheduledJob
from cityloop.domains.operations import live
from cityloop.domains.operations.centre_views import router as centre_router
from cityloop.domains.operations.models import (
    ApplicationFactRow,
    CaseFactRow,
    LiveChange,
    ProactiveTask,
    RatingFactRow,
    ReworkFactRow,
)
from cityloop.domains.operations.public_views import router as public_router
from cityloop.domains.operations.rollup_tables import DayRollupRow, DueRollupRow
from cityloop.domains.operations.views import router
from cityloop.domains.operations.vital_models import VitalSign
from cityloop.domains.operations.vital_views import router as vitals_router

MODULE = Module(
    name="operations",
    models=(
        CaseFactRow,
        RatingFactRow,
        ReworkFactRow,
        ProactiveTask,
        DayRollupRow,
        DueRollupRow,
        VitalSign,
        LiveChange,
        ApplicationFactRow,
    ),
    routers=(router, vitals_router, public_router, centre_router),
    consumers=(live.subscribe,),
    jobs=(ScheduledJob("ops-live-changes-prune", lambda settings: 3600.0, live.prune_job),),
)
