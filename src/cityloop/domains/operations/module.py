"""Operations (城市决策): the case read model and the operations centre's KPIs, league tables,
trends and hotspots. Its facts (and the KPI rollups kept with them) are written by the
``case_facts`` bridge."""

from __future__ import annotations

from cityloop.base.modules import Module
from cityloop.domains.operations.models import (
    CaseFactRow,
    ProactiveTask,
    RatingFactRow,
    ReworkFactRow,
)
from cityloop.domains.operations.rollup_tables import DayRollupRow, DueRollupRow
from cityloop.domains.operations.views import router

MODULE = Module(
    name="operations",
    models=(
        CaseFactRow,
        RatingFactRow,
        ReworkFactRow,
        ProactiveTask,
        DayRollupRow,
        DueRollupRow,
    ),
    routers=(router,),
)
