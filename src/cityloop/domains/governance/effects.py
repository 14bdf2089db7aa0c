"""What each staff action does to a case beyond moving its state (the workflow table's effects).

Whether an action is allowed is decided before, by ``actions.apply_action`` reading the table;
an effect only carries an allowed action out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.outbox import emit
from cityloop.domains.governance import assignment, events, timeline
from cityloop.domains.governance.catalogue import sla_for
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, Dispute, Report
from cityloop.domains.governance.routing import CODED_SUFFIX, department_params
from cityloop.domains.governance.workflow import Resolution
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Caller

if TYPE_CHECKING:
    from cityloop.domains.governance.actions import Step


def _department_params(department: Any) -> dict[str, str]:
    return {"department": department.name, "department_zh": department.name_zh or department.name}


def _set_deadlines(session: Session, case: Case, now: datetime) -> None:
    # Without an autoflush: the case's changes so far go in the one UPDATE its timeline row's
    # flush writes, not in one of their own.
    with session.no_autoflush:
        sla = sla_for(session, category_code=case.category_code, priority=case.priority)
    if sla is None:
        return
    case.response_due = now + timedelta(minutes=sla.response_minutes)
    case.resolution_due = now + timedelta(minutes=sla.resolution_minutes)


def _register(step: Step) -> Message:
    step.case.registered_at = step.now
    # A person accepting the case has read the report: a moderated one may now be public.
    # The automatic registration of an auto-dispatch category accepts nothing.
    if step.actor.role != Caller.SYSTEM:
        step.case.content_public = True
    return Message("registered")


def _reject(step: Step) -> Message:
    step.case.closed_at = step.now
    step.case.content_public = False  # a report the city did not accept is never public
    return Message("rejected", {"reason": step.data.note or ""})


def _publish(step: Step) -> None:
    step.case.content_public = True


def _merge(step: Step) -> Message:
    case, session = step.case, step.session
    target = session.get(Case, step.data.merge_into)
    assert target is not None  # the merge_target check found it
    # The merged case's reporters become supporters of the target and follow it from now on.
    moved = session.scalars(select(Report).where(Report.case_id == case.id)).all()
    for report in moved:
        report.case_id = target.id
        report.is_origin = False
    target.supporters += len(moved)
    target.updated_at = step.now
    case.merged_into = target.id
    case.closed_at = step.now
    timeline.record(
        session,
        case=target,
        action="absorb",
        actor=step.actor,
        to_status=target.status,
        message=Message("absorbed", {"case": str(case.id)}),
        data={"merged_case": case.id, "reports": [r.id for r in moved]},
    )
    return Message("merged", {"case": str(target.id)})


def _dispatch(step: Step) -> Message:
    case = step.case
    department = identity.require_department(step.session, code=step.data.department or "")
    routed = case.routing.get("department")
    if department.code != routed:
        was = department_params(step.session, routed)
        override = Message(
            "routing.override",
            {
                **_department_params(department),
                "actor": step.actor.username,
                "routed": was["department"],
                "routed_zh": was["department_zh"],
            },
        )
        case.routing = {
            **case.routing,
            "override": override.render(),
            "override" + CODED_SUFFIX: override.as_dict(),
        }
    case.department_code = department.code
    case.dispatched_at = step.now
    _set_deadlines(step.session, case, step.now)
    return Message("assigned", _department_params(department))


def _start(step: Step) -> Message:
    step.case.started_at = step.case.started_at or step.now
    return Message("started")


def _resolve(step: Step) -> Message:
    case = step.case
    case.resolved_at = step.now
    case.resolution = step.data.resolution or Resolution.FIXED
    case.handled_on_time = case.resolution_due is None or step.now <= case.resolution_due
    return Message("resolved")


def _verify(step: Step) -> Message:
    case, data = step.case, step.data
    resolution = Resolution(data.resolution)
    duplicate_of = data.merge_into if resolution == Resolution.DUPLICATE else None
    case.resolution = resolution
    case.resolution_note = data.note
    case.referred_to = data.referred_to.strip() if data.referred_to else None
    case.duplicate_of = duplicate_of
    case.closed_at = step.now
    case.on_time = case.resolution_due is None or step.now <= case.resolution_due
    case.dispute_open = False
    params = {
        Resolution.FIXED: {},
        Resolution.REFERRED: {"body": case.referred_to or ""},
        Resolution.NOT_ACTIONABLE: {"reason": data.note or ""},
        Resolution.DUPLICATE: {"case": str(duplicate_of)},
    }
    return Message(f"closed_{resolution}", params[resolution])


def _reopen(step: Step) -> Message:
    case = step.case
    if case.dispute_open:
        _answer_disputes(step, "reopened")
    case.dispute_open = False
    # Rework goes back to the department, not to a worker whose account is deactivated.
    if case.assignee_user_id is not None:
        worker = step.session.get(User, case.assignee_user_id)
        if worker is None or not worker.active:
            assignment.set_assignee(step, None, None)
    case.resolved_at = case.closed_at = case.started_at = None
    case.resolution = case.resolution_note = None
    case.on_time = case.handled_on_time = None
    # Rework gets a fresh deadline; on-time figures still count the rework against the department.
    _set_deadlines(step.session, case, step.now)
    case.overdue = case.response_overdue = False
    return Message("reopened")


def _uphold(step: Step) -> Message:
    _answer_disputes(step, "upheld")
    step.case.dispute_open = False
    return Message("upheld", {"reason": step.data.note or ""})


def _reassign(step: Step) -> Message:
    case = step.case
    department = identity.require_department(step.session, code=step.data.department or "")
    previous = case.department_code
    case.department_code = department.code
    case.started_at = None
    # Whoever worked on it in the old department does not in the new one.
    if case.assignee_user_id is not None or case.assignee_crew_id is not None:
        assignment.set_assignee(step, None, None)
    # The SLA clock keeps running: handing a case on does not buy time.
    was = department_params(step.session, previous)
    handed = Message(
        "routing.reassigned",
        {
            **_department_params(department),
            "previous": was["department"],
            "previous_zh": was["department_zh"],
        },
    )
    case.routing = {
        **case.routing,
        "reassigned": handed.render(),
        "reassigned" + CODED_SUFFIX: handed.as_dict(),
    }
    return Message("handed_over", _department_params(department))


def _escalate(step: Step) -> None:
    step.case.escalated = True
    emit(
        step.session,
        events.CaseEscalated(
            case_id=step.case.id,
            department=step.case.department_code,
            by=step.actor.username,
            reason="manual",
        ),
    )


def _answer_disputes(step: Step, outcome: str) -> None:
    for dispute in step.session.scalars(
        select(Dispute).where(Dispute.case_id == step.case.id, Dispute.outcome.is_(None))
    ):
        dispute.outcome = outcome
        dispute.answered_at = step.now
        dispute.answered_by = step.actor.username
        dispute.answer_note = step.data.note


# What each action does beyond moving the state; whether it is allowed is the table's business.
EFFECTS: dict[str, Callable[[Step], Message | None]] = {
    "register": _register,
    "reject": _reject,
    "merge": _merge,
    "dispatch": _dispatch,
    "start": _start,
    "resolve": _resolve,
    "verify": _verify,
    "reopen": _reopen,
    "uphold": _uphold,
    "reassign": _reassign,
    "escalate": _escalate,
    "publish": _publish,
    "assign": assignment.assign,
    "unassign": assignment.unassign,
}
