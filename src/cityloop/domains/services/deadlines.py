"""Time limits in working days (承诺时限): the application's and each step's, counted on the
city's working-day calendar, standing still while a supplement request is open; and the sweep
that flags the steps past their limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message
from cityloop.base.outbox import emit
from cityloop.domains.services import events, timeline
from cityloop.domains.services.messages import department_names
from cityloop.domains.services.models import Application, ApplicationStep
from cityloop.domains.services.workflow import Status, StepStatus
from cityloop.platforms.application.calendar import service as calendar
from cityloop.platforms.application.identity.service import SYSTEM


@dataclass(frozen=True)
class Clock:
    """The city's time zone, in which working days are counted."""

    timezone: str


def _pauses(application: Application) -> list[tuple[datetime, datetime | None]]:
    return [
        (datetime.fromisoformat(begin), datetime.fromisoformat(end) if end else None)
        for begin, end in application.pauses or []
    ]


def due_after(
    session: Session, *, clock: Clock, start: datetime, days: int, application: Application
) -> datetime | None:
    """The end of ``days`` working days from ``start``, moved on by the application's pauses
    (None while one is open)."""
    return calendar.deadline_with_pauses(
        session, start=start, days=days, pauses=_pauses(application), timezone=clock.timezone
    )


def pause(application: Application, *, now: datetime) -> None:
    """Stop the application's clock (a supplement request is open)."""
    application.pauses = [*(application.pauses or []), [now.isoformat(), None]]


def resume(
    session: Session, *, clock: Clock, application: Application, days: int, now: datetime
) -> None:
    """Start the clock again and move every running limit on by the working days paused."""
    pauses = list(application.pauses)
    if pauses and pauses[-1][1] is None:
        pauses[-1] = [pauses[-1][0], now.isoformat()]
    application.pauses = pauses
    if application.accepted_at is not None:
        application.due_at = due_after(
            session, clock=clock, start=application.accepted_at, days=days, application=application
        )
    for step in session.scalars(
        select(ApplicationStep).where(
            ApplicationStep.application_id == application.id,
            ApplicationStep.status == StepStatus.ACTIVE,
        )
    ):
        assert step.started_at is not None
        step.due_at = due_after(
            session, clock=clock, start=step.started_at, days=step.days, application=application
        )


def sweep_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Flag every active step past its limit once, and tell its department; how many."""
    now = now or utcnow()
    query = (
        select(ApplicationStep, Application)
        .join(Application, Application.id == ApplicationStep.application_id)
        .where(
            ApplicationStep.status == StepStatus.ACTIVE,
            ApplicationStep.overdue.is_(False),
            ApplicationStep.due_at < now,
            Application.status == Status.UNDER_REVIEW,
        )
        .order_by(ApplicationStep.due_at)
        .limit(500)
    )
    flagged = 0
    for step, application in session.execute(query):
        step.overdue = True
        names = department_names(session, step.department_code)
        timeline.record(
            session, application=application, action="overdue", actor=SYSTEM,
            to_status=application.status, from_status=application.status, step=step,
            public=False,
            message=Message("application.step_overdue", names),
        )  # fmt: skip
        emit(
            session,
            events.StepOverdue(
                application_id=application.id, step_id=step.id, department=step.department_code
            ),
        )
        flagged += 1
    return flagged
