"""Operations' built-in open dataset: the departments' monthly indicators, from the case facts.

Its triggers are governance's case events, which operations may not import: the ``case_facts``
bridge registers it with them (``bridges/case_facts.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.domains.operations import kpis
from cityloop.domains.operations.cuts import Cut, Period
from cityloop.domains.operations.models import CaseFactRow
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.catalogue.producers import DatasetSpec
from cityloop.settings import Settings

OWNER = "command"

CASE_KPIS = DatasetSpec(
    name="case-kpis",
    owner_department=OWNER,
    title="Case handling indicators per department and month",
    title_zh="各部门案件处置月度指标",
    description=(
        "Per department and month (UTC): cases registered, cases due, closed, closed on time, "
        "overdue and reopened (rework), and the median hours from report to close, as defined "
        "by CJ/T 292."
    ),
    description_zh=(
        "按部门和月份（UTC）统计：立案数、应结案数、结案数、按期结案数、超期数、返工数"
        "及从上报到结案的中位小时数（依据CJ/T 292）。"
    ),
    theme="GOVE",
    frequency="DAILY",
    sensitivity="open",
    keywords=("KPI", "performance", "departments", "绩效考核", "部门"),
    spatial="city",
    table_schema={
        "fields": [
            {
                "name": "month",
                "type": "string",
                "title": "Month (YYYY-MM)",
                "constraints": {"required": True},
            },
            {
                "name": "department",
                "type": "string",
                "title": "Department code",
                "constraints": {"required": True},
            },
            {"name": "department_name", "type": "string", "title": "Department"},
            {"name": "department_name_zh", "type": "string", "title": "部门"},
            {"name": "registered", "type": "integer", "title": "Registered"},
            {"name": "due", "type": "integer", "title": "Due"},
            {"name": "closed", "type": "integer", "title": "Closed"},
            {"name": "closed_on_time", "type": "integer", "title": "Closed on time"},
            {"name": "overdue", "type": "integer", "title": "Overdue"},
            {"name": "rework", "type": "integer", "title": "Reopened (rework)"},
            {"name": "median_hours_to_close", "type": "number", "title": "Median hours to close"},
        ],
        "primaryKey": ["month", "department"],
    },
)


def _months(first: datetime, last: datetime) -> list[Period]:
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    months = []
    while start <= last:
        following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
        months.append(Period(start, following))
        start = following
    return months


def kpi_rows(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
    """The indicators per department, for every month since the first case."""
    first = session.scalar(select(func.min(CaseFactRow.created_at)))
    if first is None:
        return []
    names = {d.code: (d.name, d.name_zh) for d in session.scalars(select(Department))}
    rows = []
    for month in _months(first.astimezone(UTC), utcnow()):
        figures = kpis.figures(session, cut=Cut(month, "department"))
        for code, values in figures.items():
            if code == kpis.CITY:
                continue
            name, name_zh = names.get(code, ("Unassigned", "未分派"))
            rows.append(
                {
                    "month": month.start.strftime("%Y-%m"),
                    "department": code,
                    "department_name": name,
                    "department_name_zh": name_zh or name,
                    **{
                        key: values[key]
                        for key in (
                            "registered",
                            "due",
                            "closed",
                            "closed_on_time",
                            "overdue",
                            "rework",
                            "median_hours_to_close",
                        )
                    },
                }
            )
    return rows
