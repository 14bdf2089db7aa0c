"""An application's timeline: every transition is an appended row, and this module writes them
and decides what the applicant sees of each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message, stored_message
from cityloop.base.outbox import emit
from cityloop.domains.services import events, messages  # noqa: F401  (registers the lines)
from cityloop.domains.services.models import Application, ApplicationEvent, ApplicationStep
from cityloop.platforms.application.identity.service import Actor


def record(
    session: Session,
    *,
    application: Application,
    action: str,
    actor: Actor,
    to_status: str,
    from_status: str | None,
    message: Message | None = None,
    note: str | None = None,
    public: bool = True,
    step: ApplicationStep | None = None,
    data: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Append a timeline row and emit its events (the applicant hears of public rows)."""
    stored = {**(data or {})}
    if message is not None:
        stored["message"] = message.as_dict()
    row = ApplicationEvent(
        application_id=application.id,
        at=utcnow(),
        action=action,
        from_status=from_status,
        to_status=to_status,
        step_id=step.id if step else None,
        department_code=step.department_code if step else application.department_code,
        actor=actor.username,
        actor_role=actor.role,
        note=note,
        public=public,
        data=stored,
    )
    session.add(row)
    session.flush()
    emit(
        session,
        events.ApplicationTransitioned(
            application_id=application.id,
            service=application.service_code,
            action=action,
            from_status=from_status,
            to_status=to_status,
            department=row.department_code,
            event_id=row.id,
        ),
    )
    if public and message is not None:
        emit(
            session,
            events.ApplicationPublicUpdate(
                application_id=application.id, event_id=row.id, action=action, status=to_status
            ),
        )
    return row


def message_of(row: ApplicationEvent) -> Message | None:
    """The row's line for people, if it has one."""
    return stored_message(row.data.get("message"))


def timeline(session: Session, *, application_id: int, public_only: bool) -> list[ApplicationEvent]:
    """An application's rows in order; only those the applicant sees when ``public_only``."""
    query = select(ApplicationEvent).where(ApplicationEvent.application_id == application_id)
    if public_only:
        query = query.where(ApplicationEvent.public.is_(True))
    return list(session.scalars(query.order_by(ApplicationEvent.id)))
