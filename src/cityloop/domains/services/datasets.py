"""The services domain's built-in open dataset: what became of the applications for each service,
per month of submission. Counts and rates only: no applicant, form or material is read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.domains.services import catalogue, stats
from cityloop.domains.services.events import (
    ApplicationRated,
    ApplicationTransitioned,
    ServiceChanged,
)
from cityloop.domains.services.models import Service
from cityloop.platforms.data.catalogue.producers import DatasetSpec, FunctionProducer, register
from cityloop.settings import Settings

APPLICATION_STATS = DatasetSpec(
    name="service-applications-stats",
    owner_department="command",
    title="Government service applications per service and month",
    title_zh="政务服务办件月度统计",
    description=(
        "For each government service and month of submission (UTC): applications submitted, "
        "and of them how many were approved, denied, not accepted and withdrawn so far; the "
        "share of decisions made within the promised time limit; and the applicants' mean "
        "rating (1 to 5)."
    ),
    description_zh=(
        "按政务服务事项和提交月份（UTC）统计：提交件数，其中已批准、不予批准、不予受理和撤回的件数；"
        "按承诺时限办结率；申请人评价平均分（1至5分）。"
    ),
    theme="GOVE",
    frequency="DAILY",
    sensitivity="open",
    keywords=("government services", "applications", "政务服务", "办件", "好差评"),
    spatial="city",
    table_schema={
        "fields": [
            {
                "name": "service",
                "type": "string",
                "title": "Service code",
                "constraints": {"required": True},
            },
            {"name": "service_name", "type": "string", "title": "Service"},
            {"name": "service_name_zh", "type": "string", "title": "事项名称"},
            {
                "name": "month",
                "type": "string",
                "title": "Month of submission (YYYY-MM)",
                "constraints": {"required": True},
            },
            {"name": "submitted", "type": "integer", "title": "Submitted"},
            {"name": "approved", "type": "integer", "title": "Approved"},
            {"name": "denied", "type": "integer", "title": "Denied"},
            {"name": "not_accepted", "type": "integer", "title": "Not accepted"},
            {"name": "withdrawn", "type": "integer", "title": "Withdrawn"},
            {"name": "on_time_rate", "type": "number", "title": "Decided on time (share)"},
            {"name": "average_rating", "type": "number", "title": "Mean rating (1-5)"},
        ],
        "primaryKey": ["service", "month"],
    },
    triggers=(ApplicationTransitioned, ApplicationRated, ServiceChanged),
)


def application_stat_rows(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
    """The rows of service-applications-stats, with each service's current name."""
    names = {
        code: catalogue.current_definition(session, code=code)
        for code in session.scalars(select(Service.code))
    }
    rows = []
    for month in stats.service_month_stats(session):
        definition = names.get(month.service)
        rows.append(
            {
                "service": month.service,
                "service_name": definition.name if definition else "",
                "service_name_zh": definition.name_zh if definition else "",
                "month": month.month,
                "submitted": month.submitted,
                "approved": month.approved,
                "denied": month.denied,
                "not_accepted": month.not_accepted,
                "withdrawn": month.withdrawn,
                "on_time_rate": month.on_time_rate,
                "average_rating": month.average_rating,
            }
        )
    return rows


def register_datasets(ctx: AppContext) -> None:
    """Declare the services domain's built-in datasets to the catalogue."""
    register(ctx, FunctionProducer(APPLICATION_STATS, application_stat_rows))
