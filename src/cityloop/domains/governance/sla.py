"""The SLA sweep: overdue cases are escalated, unanswered dispatches flagged, and cases with
no public update for too long flagged to their department."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.domains.governance import events, timeline
from cityloop.domains.governance.catalogue import list_categories
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.workflow import OPEN_STATES, Status
from cityloop.platforms.application.identity.service import SYSTEM

# A category without its own interval expects a public update at least this often.
DEFAULT_UPDATE_INTERVAL_HOURS = 72


@dataclass
class SweepResult:
    overdue: list[int] = field(default_factory=list)
    response_overdue: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)


def sweep_deadlines(session: Session, *, now: datetime | None = None) -> SweepResult:
    """Flag late cases: overdue ones are escalated; silent ones are flagged to their department."""
    now = now or utcnow()
    result = SweepResult()
    active = [Status.DISPATCHED.value, Status.IN_PROGRESS.value]
    for case in session.scalars(
        select(Case).where(
            Case.status.in_(active), Case.overdue.is_(False), Case.resolution_due < now
        )
    ):
        case.overdue = True
        case.escalated = True
        timeline.record(
            session,
            case=case,
            action="overdue",
            actor=SYSTEM,
            to_status=case.status,
            note_message=Message(
                "note.overdue", {"due": f"{case.resolution_due:%Y-%m-%d %H:%M} UTC"}
            ),
            data={"due": case.resolution_due.isoformat() if case.resolution_due else None},
        )
        emit(
            session,
            events.CaseEscalated(
                case_id=case.id, department=case.department_code, by="scheduler", reason="overdue"
            ),
        )
        result.overdue.append(case.id)
    for case in session.scalars(
        select(Case).where(
            Case.status == Status.DISPATCHED.value,
            Case.response_overdue.is_(False),
            Case.response_due < now,
        )
    ):
        case.response_overdue = True
        timeline.record(
            session,
            case=case,
            action="response_overdue",
            actor=SYSTEM,
            to_status=case.status,
            note_message=Message("note.response_overdue"),
        )
        result.response_overdue.append(case.id)
    intervals = {
        c.code: c.update_interval_hours for c in list_categories(session, include_inactive=True)
    }
    open_states = [s.value for s in OPEN_STATES if s != Status.RESOLVED]
    for case in session.scalars(
        select(Case).where(Case.status.in_(open_states), Case.update_overdue.is_(False))
    ):
        interval = timedelta(hours=intervals.get(case.category_code, DEFAULT_UPDATE_INTERVAL_HOURS))
        if case.last_public_update_at + interval < now:
            case.update_overdue = True
            timeline.record(
                session,
                case=case,
                action="stale",
                actor=SYSTEM,
                to_status=case.status,
                note_message=Message(
                    "note.stale", {"hours": f"{interval.total_seconds() / 3600:g}"}
                ),
            )
            emit(session, events.CaseFlagged(case_id=case.id, department=case.department_code))
            result.stale.append(case.id)
    return result
