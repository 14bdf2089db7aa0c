"""When a worker's account is deactivated, the cases assigned to them in person go back to their
department: identity says so by ``UserDeactivated`` (a platform cannot import a domain), and
this consumer withdraws each open assignment through the workflow's ``unassign``, with a staff
line naming the worker in the reader's language."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.domains.governance.actions import TRANSITIONS, ActionInput, apply_action
from cityloop.domains.governance.assignment import worker_names
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case
from cityloop.platforms.application.identity.events import UserDeactivated
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.service import SYSTEM

CONSUMER = "governance.deactivated-workers"


def withdraw_assignments(session: Session, *, user_id: int) -> list[int]:
    """Unassign a deactivated account's cases still at work; the ids of the cases withdrawn."""
    # Only the states ``unassign`` starts from: a resolved case waits for verification, and a
    # reopen hands it back to the department when its worker is no longer active (actions).
    worker = session.get(User, user_id)
    if worker is None or worker.active:  # reactivated before this ran: nothing to withdraw
        return []
    at_work = [status.value for status in TRANSITIONS["unassign"].sources]
    case_ids = session.scalars(
        select(Case.id)
        .where(Case.assignee_user_id == user_id, Case.status.in_(at_work))
        .order_by(Case.id)
    ).all()
    why = Message("worker_deactivated", worker_names(worker))
    for case_id in case_ids:
        apply_action(
            session,
            case_id=case_id,
            actor=SYSTEM,
            data=ActionInput(action="unassign", note_message=why),
        )
    return list(case_ids)


def _on_deactivated(session: Session, delivered: DeliveredEvent) -> None:
    event = delivered.event
    if isinstance(event, UserDeactivated):
        withdraw_assignments(session, user_id=event.user_id)


def subscribe(consumers: ConsumerRegistry, ctx: AppContext | None = None) -> None:
    """Register the consumer that withdraws a deactivated worker's assignments."""
    consumers.subscribe(CONSUMER, [UserDeactivated], _on_deactivated)
