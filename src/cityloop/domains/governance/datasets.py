"""Governance's built-in open datasets: the cases people reported, de-identified by the catalogue
(one point per case, and counts per grid cell). The departments' monthly indicators are the
operations domain's (``cityloop.domains.operations.datasets``).

A case is handed to the catalogue as a PointRecord: its public number, category, place, day,
status and description. The catalogue snaps the place to a grid cell, publishes only groups of at
least k cases, and keeps the description only when ``text_moderated`` says a person accepted it in
moderation: the case's category is moderated, its content is public, and a person (not the
platform) registered or published it. Reporters, contacts and devices are never read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.domains.governance.events import CaseCreated, CaseTransitioned
from cityloop.domains.governance.models import Case, CaseEvent, Category
from cityloop.domains.governance.workflow import Status
from cityloop.platforms.application.identity.roles import Caller
from cityloop.platforms.data.catalogue import deidentify
from cityloop.platforms.data.catalogue.deidentify import PointRecord
from cityloop.platforms.data.catalogue.producers import DatasetSpec, FunctionProducer, register
from cityloop.settings import Settings

OWNER = "command"
# The actions by which a person at the city accepts a moderated report for the public.
ACCEPTING_ACTIONS = ("register", "publish")
CASE_TRIGGERS = (CaseCreated, CaseTransitioned)
_KEYWORDS = ("cases", "reports", "city management", "案件", "城市管理")

CASES = DatasetSpec(
    name="cases",
    owner_department=OWNER,
    title="Reported city problems",
    title_zh="城市管理问题上报",
    description=(
        "The problems people reported to the city, one row per case: its number, category, "
        "status, day and the grid cell it lies in. A case is published only when at least k "
        "cases of its category were reported in its cell on the same day; a description only "
        "when the city accepted it in moderation. No reporter or contact is published."
    ),
    description_zh=(
        "市民上报的城市管理问题，每个案件一行：编号、类别、状态、日期及所在网格。"
        "同一天同一网格同类案件不少于k件时才发布；描述仅在经人工审核通过后发布。不发布上报人及联系方式。"
    ),
    theme="GOVE",
    frequency="DAILY",
    sensitivity="open",
    keywords=_KEYWORDS,
    spatial="city",
    table_schema=deidentify.POINTS_SCHEMA,  # the platform's columns, whatever is declared
    triggers=CASE_TRIGGERS,
    shape="points",
)

CASES_BY_CELL = DatasetSpec(
    name="cases-by-cell",
    owner_department=OWNER,
    title="Reported city problems per grid cell and day",
    title_zh="城市管理问题上报（按网格和日期统计）",
    description=(
        "How many cases of each category were reported in each grid cell on each day, for the "
        "cells and days with at least k of them."
    ),
    description_zh="各网格每日各类案件的上报数量，仅列出不少于k件的网格和日期。",
    theme="GOVE",
    frequency="DAILY",
    sensitivity="open",
    keywords=_KEYWORDS,
    spatial="city",
    table_schema=deidentify.CELLS_SCHEMA,
    triggers=CASE_TRIGGERS,
    shape="cells",
)


def _accepted_by_a_person(session: Session) -> set[int]:
    query = select(CaseEvent.case_id).where(
        CaseEvent.action.in_(ACCEPTING_ACTIONS), CaseEvent.actor_role != Caller.SYSTEM
    )
    return set(session.scalars(query.distinct()))


def case_points(session: Session, *, settings: Settings) -> list[PointRecord]:
    """Every case but the merged ones, as the catalogue's PointRecords to de-identify."""
    query = (
        select(
            Case.id, Case.category_code, Case.lat, Case.lon, Case.created_at, Case.status,
            Case.description, Case.content_public, Category.moderated,
        )
        .join(Category, Category.code == Case.category_code)
        .where(Case.status != Status.MERGED)
        .order_by(Case.id)
    )  # fmt: skip
    accepted = _accepted_by_a_person(session)
    return [
        PointRecord(
            ref=str(case_id),  # the number the public already sees (Open311's request id)
            category=category,
            lat=lat,
            lon=lon,
            at=created_at,
            status=status,
            text=description or "",
            text_moderated=bool(moderated and public and case_id in accepted),
        )
        for case_id, category, lat, lon, created_at, status, description, public, moderated in (
            session.execute(query)
        )
    ]


def register_datasets(ctx: AppContext) -> None:
    """Declare governance's built-in datasets to the catalogue."""
    register(ctx, FunctionProducer(CASES, case_points))
    register(ctx, FunctionProducer(CASES_BY_CELL, case_points))
