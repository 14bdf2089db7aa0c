"""The operations read model: one fact row per case, one per rating, one per rework.

Operations never reads governance's tables (domains own their data). A bridge
(``cityloop.bridges.case_facts``) writes these rows from governance's events, and a nightly job
reconciles them with the cases. They hold codes, times and figures: no description, no reporter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow

# The dimensions of a cut, in the order the covering indexes hold them.
DIMENSIONS = ("department", "district", "street", "grid", "category", "channel")


class CaseFactRow(Base):
    """What the KPIs need of one case, as it is now."""

    __tablename__ = "ops_case_facts"

    case_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(40))
    grid: Mapped[str | None] = mapped_column(String(40))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    on_time: Mapped[bool | None]
    handled_on_time: Mapped[bool | None]
    rework_count: Mapped[int] = mapped_column(default=0)
    ratings: Mapped[int] = mapped_column(default=0)
    stars_total: Mapped[int] = mapped_column(default=0)
    resolution: Mapped[str | None] = mapped_column(String(20))
    # Report to close, kept so that median and p90 are one ordered scan, not a computation per row.
    hours_to_close: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    # One covering index per period column: each figure is a range scan of one of them that
    # never visits the table (the dimensions to cut and filter by, then what the figure reads).
    __table_args__ = (
        Index("ix_ops_case_facts_registered", "registered_at", *DIMENSIONS),
        Index(
            "ix_ops_case_facts_due",
            "resolution_due",
            *DIMENSIONS,
            "status",
            "closed_at",
            "on_time",
        ),
        Index("ix_ops_case_facts_response_due", "response_due", *DIMENSIONS, "started_at"),
        Index("ix_ops_case_facts_resolved", "resolved_at", *DIMENSIONS, "handled_on_time"),
        Index(
            "ix_ops_case_facts_closed",
            "closed_at",
            *DIMENSIONS,
            "status",
            "resolution",
            "hours_to_close",
        ),
        Index("ix_ops_case_facts_created", "created_at", *DIMENSIONS, "status"),
    )


class RatingFactRow(Base):
    """One citizen rating of a case, with the case's dimensions."""

    __tablename__ = "ops_rating_facts"

    rating_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(index=True)
    stars: Mapped[int]
    at: Mapped[datetime] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(40))
    grid: Mapped[str | None] = mapped_column(String(40))


class ReworkFactRow(Base):
    """One rework (返工): a case sent back, charged to the department that had it then."""

    __tablename__ = "ops_rework_facts"

    event_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(40))
    grid: Mapped[str | None] = mapped_column(String(40))


class ApplicationFactRow(Base):
    """What the KPIs need of one application for a city service (licence, permit), as it is
    now: written by ``cityloop.bridges.application_facts`` from the services domain's events.
    Codes, times and the stars given; no applicant, no form."""

    __tablename__ = "ops_application_facts"

    application_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    service: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40))
    # Applications are filed with a department, not a place; kept for services that ask one.
    district: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    submitted_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(30))  # approved | denied
    on_time: Mapped[bool | None]  # decided by due_at; None without a decision or a deadline
    stars: Mapped[int | None]
    rated_at: Mapped[datetime | None]
    hours_to_decide: Mapped[float | None] = mapped_column(Float)  # submitted to decided
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    # One index per period column, leading with the time and then the department (the only
    # scope these figures are cut by); at the services' volume the table is read directly.
    __table_args__ = (
        Index("ix_ops_application_facts_submitted", "submitted_at", "department"),
        Index("ix_ops_application_facts_decided", "decided_at", "department", "on_time"),
        Index("ix_ops_application_facts_rated", "rated_at", "department", "stars"),
    )


class ProactiveTask(Base):
    """A hotspot a supervisor turned into a proactive task (未诉先办); the case comes later."""

    __tablename__ = "ops_proactive_tasks"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    level: Mapped[str] = mapped_column(String(10))  # street | grid
    district: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))
    cases: Mapped[int]
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    case_id: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("month", "level", "area", "category", name="uq_ops_proactive_task"),
    )


class LiveChange(Base):
    """One change the operations centre's live feed sends: a case's fact, an alarm, a worker's
    position. Appended in order (the id is the feed's cursor and its events' ids) and pruned
    after a day: a screen away longer than that reloads the map instead of resuming."""

    __tablename__ = "ops_live_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # case | alarm | position
    ref: Mapped[str] = mapped_column(String(100))  # the case id, alarm id or account id
    # The scope a viewer must have to see it (cuts.within_scope); None is outside every area.
    district: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
