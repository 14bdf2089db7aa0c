"""The services domain's tables: the versioned catalogue, applications, their review steps, their
materials, their timeline and their rating."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Service(Base):
    """One service of the catalogue; its rules live in its versions."""

    __tablename__ = "services"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    current_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceVersion(Base):
    """A service's definition as it stood from ``created_at``: never changed once written."""

    __tablename__ = "service_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    version: Mapped[int] = mapped_column()
    definition: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (UniqueConstraint("service_code", "version", name="uq_service_version"),)


class Application(Base):
    """One application (办件) for a service, under the version it was filed with."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    service_version: Mapped[int] = mapped_column()
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Filed for an enterprise (by its representative or an agent), or for the applicant.
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18), default=None)
    status: Mapped[str] = mapped_column(String(30), default="draft")
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The fields filled from data the city holds, with the consent that allowed it.
    prefilled: Mapped[dict[str, Any]] = mapped_column(default=dict)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    # The clock stands still while a supplement request is open: [begin, end or null] in ISO.
    pauses: Mapped[list[Any]] = mapped_column(default=list)
    stage: Mapped[int] = mapped_column(default=0)
    fee_cents: Mapped[int] = mapped_column(default=0)
    fee_paid_at: Mapped[datetime | None] = mapped_column(default=None)
    fee_receipt: Mapped[str | None] = mapped_column(String(80), default=None)
    licence_id: Mapped[str | None] = mapped_column(String(80), default=None)
    # The holder's copy of the licence (an SD-JWT with every disclosure): the wallet's.
    licence_token: Mapped[str | None] = mapped_column(Text, default=None)
    appointment_id: Mapped[int | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_applications_applicant", "applicant_id", "id"),
        Index("ix_applications_status", "status", "due_at"),
    )


class ApplicationStep(Base):
    """One department's review of an application within a stage."""

    __tablename__ = "application_steps"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    stage: Mapped[int] = mapped_column()
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    days: Mapped[int] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(80), default=None)
    supplements_used: Mapped[int] = mapped_column(default=0)
    supplements_allowed: Mapped[int] = mapped_column(default=1)
    overdue: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_application_steps_queue", "department_code", "status", "due_at"),
        Index("ix_application_steps_application", "application_id", "stage"),
    )


class ApplicationMaterial(Base):
    """A document handed in for one of the service's required materials."""

    __tablename__ = "application_materials"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    material_code: Mapped[str] = mapped_column(String(40))
    media_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A material replaced in answer to a supplement request stays on record, superseded.
    superseded: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_application_materials", "application_id", "material_code"),)


class ApplicationEvent(Base):
    """Append-only: one row per transition, the audit trail and the applicant's timeline."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    step_id: Mapped[int | None] = mapped_column(default=None)
    department_code: Mapped[str | None] = mapped_column(String(40), default=None)
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    public: Mapped[bool] = mapped_column(default=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_application_events", "application_id", "id"),)


class ApplicationRating(Base):
    """The applicant's rating of a finished application (好差评)."""

    __tablename__ = "application_ratings"

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    score: Mapped[int] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    department_code: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
