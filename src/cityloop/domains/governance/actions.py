"""Staff actions on a case: the workflow table decides what is allowed (roles, states, named
guards and checks); the effects here only carry an allowed action out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, conflict, forbidden
from cityloop.domains.governance import assignment, events, timeline
from cityloop.domains.governance.catalogue import sla_for
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, Dispute, Report
from cityloop.domains.governance.queries import can_see, get_case_for
from cityloop.domains.governance.routing import CODED_SUFFIX, department_params
from cityloop.domains.governance.workflow import (
    DEPARTMENT_SCOPED,
    MAX_TEXT,
    OPEN_STATES,
    TRANSITIONS,
    CaseTransition,
    Resolution,
    Status,
    allowed_actions,
)
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Caller
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.application.media import service as media


@dataclass
class ActionInput:
    action: str
    note: str | None = None
    # The system's own note as a code (auto-registration), shown to staff in their language.
    note_message: Message | None = None
    department: str | None = None
    attachments: list[str] = field(default_factory=list)
    resolution: str | None = None
    referred_to: str | None = None
    merge_into: int | None = None
    public: bool | None = None
    assignee_user_id: int | None = None
    assignee_crew_id: int | None = None


@dataclass(frozen=True)
class Step:
    """One action being applied: what a guard, a check or an effect may read."""

    session: Session
    case: Case
    actor: Actor
    data: ActionInput
    attachments: list[str]
    now: datetime


# ---------------------------------------------------------------- guards (on the case: 409)


def _open_dispute(step: Step) -> Message | None:
    return None if step.case.dispute_open else Message("governance.no_open_dispute")


def _dispute_if_closed(step: Step) -> Message | None:
    if step.case.status == Status.CLOSED and not step.case.dispute_open:
        return Message("governance.reopen_only_on_dispute")
    return None


def _other_department(step: Step) -> Message | None:
    department = step.data.department
    if department and department == step.case.department_code:
        return Message("governance.already_with_department", {"department": department})
    return None


def _content_held(step: Step) -> Message | None:
    return None if not step.case.content_public else Message("governance.report_already_public")


def _merge_target_open(step: Step) -> Message | None:
    if step.data.merge_into is None:
        return None  # no target named: the input's fault, answered by the needs check
    target = step.session.get(Case, step.data.merge_into)
    if target is not None and Status(target.status) not in OPEN_STATES:
        return Message(
            "governance.merge_target_not_open",
            {"case": str(target.id), "status": target.status},
        )
    return None


# Guards see the case; with no input (listing the actions a user may take) only the ones
# that need no input are asked.
GUARDS: dict[str, Callable[[Step], Message | None]] = {
    "open_dispute": _open_dispute,
    "dispute_if_closed": _dispute_if_closed,
    "other_department": _other_department,
    "merge_target_open": _merge_target_open,
    "content_held": _content_held,
    "assigned": assignment.is_assigned,
    "other_assignee": assignment.other_assignee,
}
NEEDS_INPUT = frozenset({"other_department", "merge_target_open", "other_assignee"})


# ---------------------------------------------------------------- checks (on the input: 400)


def _merge_target(step: Step) -> Problem | None:
    target_id = step.data.merge_into
    if target_id == step.case.id:
        return bad_request(Message("governance.case_merged_into_itself"), field="merge_into")
    target = step.session.get(Case, target_id)
    if target is None or not can_see(step.actor, target):
        return bad_request(
            Message("governance.merge_target_missing", {"target_id": str(target_id)}),
            field="merge_into",
        )
    return None


def _known_department(step: Step) -> Problem | None:
    try:
        identity.require_department(step.session, code=step.data.department or "")
    except Problem as problem:
        return problem
    return None


def _known_resolution(step: Step) -> Problem | None:
    proposed = step.data.resolution or Resolution.FIXED
    if proposed not in set(Resolution):
        return bad_request(
            Message("governance.unknown_resolution", {"proposed": repr(proposed)}),
            field="resolution",
        )
    return None


def _proof_for_fixed(step: Step) -> Problem | None:
    fixed = (step.data.resolution or Resolution.FIXED) == Resolution.FIXED
    if fixed and not step.attachments:
        return bad_request(Message("governance.resolving_fixed_proof_photo"), field="attachments")
    return None


def _complete_resolution(step: Step) -> Problem | None:
    data, case = step.data, step.case
    resolution = data.resolution or ""
    if resolution not in set(Resolution):
        return bad_request(
            Message(
                "governance.resolution_choices", {"items": ", ".join(r.value for r in Resolution)}
            ),
            field="resolution",
        )
    if resolution == Resolution.REFERRED and not (data.referred_to and data.referred_to.strip()):
        return bad_request(Message("governance.referred_case_names_outside"), "referred_to")
    if resolution == Resolution.NOT_ACTIONABLE:
        if not (data.note and data.note.strip()):
            return bad_request(Message("governance.actionable_close_gives_reason"), "note")
        if data.public is False:
            return bad_request(Message("governance.actionable_close_states_reason"), "public")
    if resolution == Resolution.DUPLICATE:
        other = data.merge_into
        if other is None or other == case.id or step.session.get(Case, other) is None:
            return bad_request(Message("governance.duplicate_close_names_other"), "merge_into")
    return None


CHECKS: dict[str, Callable[[Step], Problem | None]] = {
    "merge_target": _merge_target,
    "known_department": _known_department,
    "known_resolution": _known_resolution,
    "proof_for_fixed": _proof_for_fixed,
    "complete_resolution": _complete_resolution,
    "known_assignee": assignment.known_assignee,
}


def _needs(transition: CaseTransition, data: ActionInput) -> None:
    if "note" in transition.needs and not (data.note and data.note.strip()):
        raise bad_request(
            Message("governance.needs_note", {"transition_action": str(transition.action)}),
            field="note",
        )
    if "department" in transition.needs and not data.department:
        raise bad_request(
            Message("governance.needs_department", {"transition_action": str(transition.action)}),
            field="department",
        )
    if "resolution" in transition.needs and data.resolution is None:
        raise bad_request(
            Message(
                "governance.needs_resolution",
                {
                    "transition_action": transition.action,
                    "items": ", ".join(r.value for r in Resolution),
                },
            ),
            field="resolution",
        )
    if "assignee" in transition.needs:
        given = [data.assignee_user_id, data.assignee_crew_id]
        if given.count(None) != 1:
            raise bad_request(
                Message("governance.one_assignee", {"transition_action": transition.action}),
                field="assignee_user_id",
            )
    if "merge_into" in transition.needs and data.merge_into is None:
        raise bad_request(Message("governance.merge_merge_into_case"), field="merge_into")
    if transition.public_reason and data.public is False:
        raise bad_request(
            Message(
                "governance.note_public_reason_internal",
                {"transition_action": str(transition.action)},
            ),
            field="public",
        )
    if data.note and len(data.note) > MAX_TEXT:
        raise bad_request(
            Message("governance.note_over_characters", {"limit": str(MAX_TEXT)}), field="note"
        )


def actions_for(actor: Actor, case: Case) -> list[str]:
    """The actions this actor may take on this case now (input-free guards included)."""
    if not can_see(actor, case):
        return []
    step = Step(None, case, actor, ActionInput(""), [], utcnow())  # type: ignore[arg-type]
    return [
        name
        for name in allowed_actions(case.status, actor.role)
        if not any(GUARDS[g](step) for g in TRANSITIONS[name].guards if g not in NEEDS_INPUT)
    ]


# ---------------------------------------------------------------- applying an action


def apply_action(
    session: Session,
    *,
    case_id: int,
    actor: Actor,
    data: ActionInput,
    opened: Case | None = None,
) -> Case:
    """Check an action against the workflow table, carry it out and record it."""
    # ``opened`` is the case when this transaction opened it: no other transaction can see it
    # yet, so there is nothing to lock and no need to read it again.
    transition = TRANSITIONS.get(data.action)
    if transition is None:
        raise bad_request(
            Message(
                "governance.unknown_action_actions_are",
                {"data_action": repr(data.action), "items": ", ".join(TRANSITIONS)},
            ),
            field="action",
        )
    if opened is not None and opened.id == case_id:
        case = opened
    else:
        case = get_case_for(session, actor=actor, case_id=case_id, lock=True)
    if actor.role != Caller.SYSTEM and actor.role not in transition.roles:
        raise forbidden(
            Message(
                "governance.may_case",
                {"actor_role": str(actor.role), "data_action": str(data.action)},
            )
        )
    if actor.role in DEPARTMENT_SCOPED and case.department_code != actor.department_code:
        raise forbidden(Message("governance.case_department", {"case_id": str(case.id)}))
    if Status(case.status) not in transition.sources:
        raise conflict(
            Message(
                "governance.illegal_transition",
                {"data_action": str(data.action), "case_status": str(case.status)},
            ),
            type_="illegal-transition",
            case_status=case.status,
            allowed_actions=actions_for(actor, case),
        )
    now = utcnow()
    step = Step(session, case, actor, data, [], now)
    for name in transition.guards:
        reason = GUARDS[name](step)
        if reason:
            raise conflict(reason, type_="illegal-transition", case_status=case.status)
    _needs(transition, data)
    attachments = media.require_media(session, media_ids=data.attachments, field="attachments")
    step = Step(session, case, actor, data, attachments, now)
    for name in transition.checks:
        problem = CHECKS[name](step)
        if problem is not None:
            raise problem

    from_status = case.status
    to_status = transition.target or Status(case.status)
    note_public = transition.note_public if data.public is None else data.public
    if transition.counts_as_rework:
        case.rework_count += 1
    effect = EFFECTS.get(transition.action)
    message = effect(step) if effect else None
    case.status = to_status
    case.updated_at = now
    event = timeline.record(
        session,
        case=case,
        action=transition.action,
        actor=actor,
        to_status=to_status,
        from_status=from_status,
        message=message,
        message_public=transition.public_line,
        note=data.note.strip() if data.note else None,
        note_message=data.note_message,
        note_public=note_public,
        attachments=attachments,
        data=_event_data(data),
    )
    emit(
        session,
        events.CaseTransitioned(
            case_id=case.id,
            action=transition.action,
            from_status=from_status,
            to_status=to_status,
            department=case.department_code,
            event_id=event.id,
        ),
    )
    if actor.role != Caller.SYSTEM:
        identity.audit(
            session,
            actor=actor,
            action=f"case.{transition.action}",
            target=f"case:{case.id}",
            detail={"to": to_status, **_event_data(data)},
        )
    metrics.CASE_ACTIONS.inc(action=transition.action)
    return case


def _event_data(data: ActionInput) -> dict[str, Any]:
    given = {
        "department": data.department,
        "resolution": data.resolution,
        "referred_to": data.referred_to,
        "merge_into": data.merge_into,
        "assignee_user_id": data.assignee_user_id,
        "assignee_crew_id": data.assignee_crew_id,
    }
    return {k: v for k, v in given.items() if v is not None}


# ---------------------------------------------------------------- effects


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
