"""Governance (一网统管): cases from report to close, routing, SLA, disputes, KPIs, Open311."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.limits import BodyLimit
from cityloop.base.modules import Module, ScheduledJob
from cityloop.domains.governance import cli, datasets, notifications, sla, staffing
from cityloop.domains.governance.config.rules import department_in_use
from cityloop.domains.governance.config.views import router as config_router
from cityloop.domains.governance.live import router as live_router
from cityloop.domains.governance.models import (
    Case,
    CaseEvent,
    Category,
    Dispute,
    Rating,
    Report,
    RoutingRule,
    SlaTarget,
)
from cityloop.domains.governance.open311.views import (
    FIELDS_MAX_BYTES,
    MAX_MEDIA_FILES,
    PREFIX,
    install_open311,
)
from cityloop.domains.governance.public_views import router as public_router
from cityloop.domains.governance.views import router as cases_router
from cityloop.platforms.application.identity.departments import register_deactivation_guard

# A department still routed to, or with open cases, must not be deactivated.
register_deactivation_guard(department_in_use)


def _sla_sweep(ctx: AppContext) -> sla.SweepResult:
    with ctx.writing() as session:
        return sla.sweep_deadlines(session)


def _gauges(ctx: AppContext) -> None:
    def cases_by_status() -> dict[Any, float]:
        with ctx.reading() as session:
            rows = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
        return {(("status", status),): float(count) for status, count in rows}

    metrics.CASES_BY_STATUS.collector = cases_by_status


MODULE = Module(
    name="governance",
    models=(Category, RoutingRule, SlaTarget, Case, Report, CaseEvent, Rating, Dispute),
    routers=(cases_router, public_router, live_router, config_router),
    mounts=(install_open311,),
    consumers=(notifications.subscribe, staffing.subscribe),
    jobs=(ScheduledJob("sla-sweep", lambda s: s.scheduler_interval_seconds, _sla_sweep),),
    setup=(_gauges, datasets.register_datasets),
    commands=(cli.install,),
    body_limits=(
        # Photos only in multipart; a form of text fields is small (see open311/views.py).
        BodyLimit(
            PREFIX + r"/requests\.\w+",
            lambda s: s.media_max_bytes * MAX_MEDIA_FILES + FIELDS_MAX_BYTES,
            media_type="multipart/form-data",
        ),
        BodyLimit(PREFIX + r"/requests\.\w+", lambda s: FIELDS_MAX_BYTES),
    ),
)
