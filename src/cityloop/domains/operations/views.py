"""Operations routes: KPIs for any cut with the previous period beside them, the drill-down's
case list, trends, league tables, hotspots and proactive tasks. Thin: the rules, the scope
included, are in the service modules."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import iso
from cityloop.base.locale import ReaderLocale
from cityloop.domains.operations import hotspots, league, public_views, report, service
from cityloop.domains.operations import responses as out
from cityloop.domains.operations.cuts import period
from cityloop.domains.operations.models import ProactiveTask
from cityloop.domains.operations.schemas import TaskIn
from cityloop.platforms.application.identity.deps import staff_actor
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["operations"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
Code = Annotated[str | None, Query(max_length=40)]
Month = Annotated[str, Query(max_length=7, description="YYYY-MM (UTC)")]


class Filters:
    """The dimension filters every cut takes, as query parameters."""

    def __init__(
        self,
        department: Code = None,
        district: Code = None,
        street: Code = None,
        grid: Code = None,
        category: Code = None,
        channel: Code = None,
    ) -> None:
        self.values: dict[str, str | None] = {
            "department": department,
            "district": district,
            "street": street,
            "grid": grid,
            "category": category,
            "channel": channel,
        }


Filtered = Annotated[Filters, Depends()]


@router.get("/kpis")
def indicators(
    ctx: Ctx,
    actor: Staff,
    start: datetime | None = None,
    end: datetime | None = None,
    department: Code = None,
) -> out.KpiReport:
    """The department indicators (立案数, 结案率, 按期结案率, 返工数 …) over [start, end), the
    last 30 days by default; staff and leaders (a department's staff see their department, a
    district-scoped account its district)."""
    chosen = period(start, end)
    with ctx.reading() as session:
        report = service.department_report(
            session, actor=actor, period=chosen, department=department
        )
    return out.KpiReport.model_validate(report)


@router.get("/operations/kpis")
def kpi_cut(
    ctx: Ctx,
    actor: Staff,
    filters: Filtered,
    start: datetime | None = None,
    end: datetime | None = None,
    by: Annotated[str | None, Query(max_length=20, description="group by this dimension")] = None,
    compare: bool = True,
) -> out.KpiCut:
    """KPIs and the 三率 for a period (at most 367 days), cut by one dimension and filtered on
    any, each with the previous period of equal length beside it; staff and leaders, within
    their scope. Drill down by passing the group as a filter and ``next_by`` as ``by``."""
    chosen = period(start, end)
    with ctx.reading() as session:
        report = service.kpi_report(
            session, actor=actor, period=chosen, by=by, filters=filters.values, compare=compare
        )
    return out.KpiCut.model_validate(report)


@router.get("/operations/cases")
def fact_cases(
    ctx: Ctx,
    actor: Staff,
    filters: Filtered,
    start: datetime | None = None,
    end: datetime | None = None,
    figure: Annotated[str, Query(max_length=20)] = "registered",
) -> list[out.FactCase]:
    """The cases behind one figure of a cut (at most 500, newest first): the bottom of a
    drill-down, whose ids the console opens; staff and leaders, within their scope."""
    chosen = period(start, end)
    with ctx.reading() as session:
        rows = service.case_list(
            session, actor=actor, period=chosen, figure=figure, filters=filters.values
        )
    return [out.FactCase.model_validate(row) for row in rows]


@router.get("/operations/trends")
def trends(
    ctx: Ctx,
    actor: Staff,
    filters: Filtered,
    figure: Annotated[str, Query(max_length=40)] = "registered",
    bucket: Annotated[str, Query(max_length=10)] = "day",
    start: datetime | None = None,
    end: datetime | None = None,
) -> out.Trend:
    """One figure per day, week or month over a period (at most 62 points); staff and leaders,
    within their scope."""
    chosen = period(start, end)
    with ctx.reading() as session:
        points = service.trend(
            session,
            actor=actor,
            period=chosen,
            bucket=bucket,
            figure=figure,
            filters=filters.values,
        )
    return out.Trend.model_validate({"figure": figure, "bucket": bucket, "points": points})


@router.get("/operations/league")
def league_table(
    ctx: Ctx,
    actor: Staff,
    month: Month,
    of: Annotated[str, Query(max_length=20)] = "department",
) -> out.League:
    """The month's league of departments or streets by composite score, in four tiers
    (先进/良好/一般/较差); staff and leaders (a department's staff see their own row)."""
    with ctx.reading() as session:
        table = league.league(session, actor=actor, month=month, of=of)
    return out.League.model_validate(table)


@router.get("/operations/hotspots")
def hotspot_list(
    ctx: Ctx,
    actor: Staff,
    filters: Filtered,
    month: Month,
    level: Annotated[str, Query(max_length=10)] = "street",
    threshold: Annotated[int, Query(ge=2, le=10_000)] = hotspots.DEFAULT_THRESHOLD,
) -> list[out.Hotspot]:
    """每月一题: the categories reported at least ``threshold`` times in one street or grid in
    the month, most first, with their proactive task if one was made; staff and leaders."""
    with ctx.reading() as session:
        rows = hotspots.hotspots(
            session,
            actor=actor,
            month=month,
            level=level,
            threshold=threshold,
            filters=filters.values,
        )
    return [out.Hotspot.model_validate(row) for row in rows]


def _task_out(task: ProactiveTask, locale: str) -> out.ProactiveTask:
    body: dict[str, Any] = {
        name: getattr(task, name)
        for name in out.ProactiveTask.model_fields
        if name not in ("requested_at", "error")
    }
    return out.ProactiveTask.model_validate(
        {
            **body,
            "requested_at": iso(task.requested_at),
            "error": hotspots.task_error(task, locale),
        }
    )


@router.get(
    "/operations/reports/{month}.{extension}",
    responses={200: public_views.REPORT_ANSWER},
)
def staff_report(
    ctx: Ctx,
    actor: Staff,
    reader: ReaderLocale,
    month: Annotated[str, Path(max_length=10)],
    extension: Annotated[str, Path(max_length=10)],
    lang: Annotated[str | None, Query(max_length=10, description="en or zh-CN")] = None,
) -> Response:
    """The month's report with every figure, small counts and each department's satisfaction
    included (PDF, CSV or XLSX); city-wide staff and leaders, audited. Not for publication:
    the public edition is ``/api/v1/public/reports/{month}.*``."""
    locale = public_views.report_locale(extension, lang, reader)
    with ctx.reading() as session:
        content = report.staff_report(session, actor=actor, month=month, now=datetime.now(UTC))
    # Only the audit entry is written: figuring the month out is long work, kept off the writer.
    ctx.write_grouped(partial(report.audit_staff_report, actor=actor, month=month))
    media, headers = public_views.report_headers(month, extension, locale, "cityloop-staff-report")
    headers["Cache-Control"] = "private, no-store"
    body = public_views.report_bytes(content, extension, locale)
    return Response(body, media_type=media, headers=headers)


@router.post("/operations/hotspots/tasks", status_code=202)
def hotspot_task(ctx: Ctx, actor: Staff, body: TaskIn, locale: ReaderLocale) -> out.ProactiveTask:
    """Turn a hotspot into a proactive task (未诉先办): governance opens a case on the inspector
    channel shortly after (``case_id`` then appears). Supervisors, dispatchers and admins."""

    def write(session: Session) -> out.ProactiveTask:
        task = hotspots.request_task(
            session,
            actor=actor,
            month=body.month,
            level=body.level,
            area=body.area,
            category=body.category,
        )
        return _task_out(task, locale)

    return ctx.write_grouped(write)


@router.get("/operations/tasks")
def task_list(
    ctx: Ctx,
    actor: Staff,
    locale: ReaderLocale,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> list[out.ProactiveTask]:
    """The proactive tasks made from hotspots, newest first; staff and leaders, within scope."""
    with ctx.reading() as session:
        return [_task_out(t, locale) for t in hotspots.tasks(session, actor=actor, month=month)]
