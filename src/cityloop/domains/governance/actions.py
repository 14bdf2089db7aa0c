"""Staff actions on a case: the workflow table decides what is allowed (roles, states, named
guards and checks); the effects (:mod:`~cityloop.domains.governance.effects`) only carry an
allowed action out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, conflict, forbidden
from cityloop.domains.governance import assignment, effects, events, timeline
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.queries import can_see, get_case_for
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
    effect = effects.EFFECTS.get(transition.action)
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
    metrics.CASE_ACTIONS.inc_on_commit(session, action=transition.action)
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
