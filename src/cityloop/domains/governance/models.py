"""Cases, the reports that support them, their append-only history, ratings and disputes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Category(Base):
    """A category of the component (部件) / event (事件) classification."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # component | event
    major_class: Mapped[str] = mapped_column(String(4))
    major_name: Mapped[str] = mapped_column(String(100))
    major_name_zh: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    icon: Mapped[str] = mapped_column(String(40), default="")
    default_department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    auto_dispatch: Mapped[bool] = mapped_column(default=False)
    dedupe_radius_m: Mapped[int] = mapped_column(default=50)
    dedupe_window_hours: Mapped[int] = mapped_column(default=72)
    update_interval_hours: Mapped[int] = mapped_column(default=72)
    attributes: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Reports' descriptions and photos stay off public answers until a person accepts them.
    moderated: Mapped[bool] = mapped_column(default=False)
    # The edit counter of optimistic concurrency (identity's ``versions``).
    version: Mapped[int] = mapped_column(default=1)


class RoutingRule(Base):
    """(category, district) → department. A rule with no district is the category's fallback."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(String(40))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    version: Mapped[int] = mapped_column(default=1)

    # A rule's versions are kept under its id, so SQLite must never hand a deleted rule's id to
    # a new one (without AUTOINCREMENT it reuses the highest).
    __table_args__ = (
        UniqueConstraint("category_code", "district_code", name="uq_routing_rule"),
        {"sqlite_autoincrement": True},
    )


class SlaTarget(Base):
    __tablename__ = "sla_targets"

    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    priority: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(400))
    district_code: Mapped[str] = mapped_column(String(40), index=True)
    street_code: Mapped[str | None] = mapped_column(String(40))
    grid_code: Mapped[str | None] = mapped_column(String(40))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), index=True)
    # Why the case went where it did: the rule that matched and the department it named.
    routing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_ref: Mapped[dict[str, Any]] = mapped_column(default=dict)

    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    last_public_update_at: Mapped[datetime] = mapped_column(default=utcnow)

    response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None] = mapped_column(index=True)
    response_overdue: Mapped[bool] = mapped_column(default=False)
    overdue: Mapped[bool] = mapped_column(default=False)
    update_overdue: Mapped[bool] = mapped_column(default=False)
    escalated: Mapped[bool] = mapped_column(default=False)
    # Whether the public may read the description and see the reporters' photos: false while
    # a moderated category's case awaits acceptance, and for good once rejected.
    content_public: Mapped[bool] = mapped_column(default=True)
    rework_count: Mapped[int] = mapped_column(default=0)
    handled_on_time: Mapped[bool | None]
    on_time: Mapped[bool | None]

    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    referred_to: Mapped[str | None] = mapped_column(String(200))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    dispute_open: Mapped[bool] = mapped_column(default=False)
    supporters: Mapped[int] = mapped_column(default=0)
    # Who in the department works on it: one worker or one crew (or nobody yet).
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id"), index=True)

    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_cases_dedupe", "category_code", "status", "lat", "lon"),
        # The staff queue: a department's cases of one state in deadline order, read a page
        # at a time (queries.list_cases); its prefix counts them.
        Index("ix_cases_department_queue", "department_code", "status", "resolution_due", "id"),
        # The public map: the newest cases of one state (queries.public_map_cases).
        Index("ix_cases_status_id", "status", "id"),
    )


class Report(Base):
    """One submission from one channel. The first report opens a case; later ones support it."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    is_origin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(400))
    media_ids: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Private: never in a public response.
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_by: Mapped[str | None] = mapped_column(String(80))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    device_id: Mapped[str | None] = mapped_column(String(200))
    tracking_token: Mapped[str] = mapped_column(String(40), unique=True)
    # Six characters a caller can write down and read back: with the case number it tracks the
    # report like the token does (rows older than migration 0027 were given one by it).
    short_code: Mapped[str | None] = mapped_column(String(6), unique=True)
    # The language the reporter wrote in (their browser's), for updates to a reporter without
    # an account setting: 'en' or 'zh-CN'.
    locale: Mapped[str | None] = mapped_column(String(10), default=None)


class CaseEvent(Base):
    """Append-only history: the audit trail and, filtered to public rows, the citizen timeline."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(String(40))
    # A status line every citizen may read, written by the platform, never by a person.
    public_message: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    note_public: Mapped[bool] = mapped_column(default=False)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Dispute(Base):
    """A reporter or supporter says a closed case is still not fixed."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    note: Mapped[str] = mapped_column(Text)
    media_ids: Mapped[list[Any]] = mapped_column(default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(20))  # reopened | upheld
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answer_note: Mapped[str | None] = mapped_column(Text)
