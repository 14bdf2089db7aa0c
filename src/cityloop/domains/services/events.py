"""The events the services domain emits. Payloads carry ids and codes, never personal data."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cityloop.base.events import Event


class ApplicationChange(Event):
    aggregate: ClassVar[str] = "application"
    aggregate_field: ClassVar[str] = "application_id"

    application_id: int


class ApplicationTransitioned(ApplicationChange):
    """The application moved (or a step within it decided)."""

    type: ClassVar[str] = "application.transitioned"

    service: str
    action: str
    from_status: str | None = Field(alias="from")
    to_status: str = Field(alias="to")
    department: str | None
    event_id: int


class ApplicationPublicUpdate(ApplicationChange):
    """A change the applicant sees on their timeline: they are told of it."""

    type: ClassVar[str] = "application.public_update"

    event_id: int
    action: str
    status: str


class ApplicationRated(ApplicationChange):
    """The applicant rated a finished application (好差评): the department's KPIs count it."""

    type: ClassVar[str] = "application.rated"

    department: str
    score: int


class StepOverdue(ApplicationChange):
    """A department's review step ran past its time limit."""

    type: ClassVar[str] = "application.step_overdue"

    step_id: int
    department: str


class ServiceChanged(Event):
    """A new version of a service's definition was saved."""

    type: ClassVar[str] = "service.changed"
    aggregate: ClassVar[str] = "service"
    aggregate_field: ClassVar[str] = "service"

    service: str
    version: int
