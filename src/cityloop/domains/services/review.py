"""The departments' side of an application: accept it (受理) or not, decide their steps (approve,
deny, ask for a supplement), let a supervisor allow another supplement, record the fee paid at
the counter. Staff act only on their own department's steps; admins on any."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message
from cityloop.base.problems import Problem, bad_request, forbidden, not_found
from cityloop.domains.services import deadlines, lifecycle, timeline
from cityloop.domains.services.applications import definition_of
from cityloop.domains.services.lifecycle import Setting
from cityloop.domains.services.messages import department_names
from cityloop.domains.services.models import Application, ApplicationStep
from cityloop.domains.services.workflow import (
    COUNTER_ROLES,
    STEP_DECISIONS,
    SUPERVISING_ROLES,
    Status,
    StepStatus,
    require_department_staff,
)
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access.service import record_access

MAX_TEXT = 4000
MAX_ITEMS = 20


def involves(session: Session, *, application: Application, actor: Actor) -> bool:
    """Whether a staff member may see the application: city-wide roles, the responsible
    department and every department with a step in it."""
    if actor.role in CITY_WIDE_ROLES:
        return True
    if actor.department_code is None:
        return False
    if actor.department_code == application.department_code:
        return True
    steps = lifecycle.steps_of(session, application_id=application.id)
    return any(s.department_code == actor.department_code for s in steps)


def staff_application(session: Session, *, application_id: int, actor: Actor) -> Application:
    """An application a staff member may see (404 otherwise); the read is audited."""
    application = session.get(Application, application_id)
    if (
        application is None
        or application.status == Status.DRAFT
        or not actor.is_staff
        or not involves(session, application=application, actor=actor)
    ):
        raise not_found("application", application_id)
    reference = f"application:{application.id}"
    identity.audit(session, actor=actor, action="application.read", target=reference)
    # The form and materials are the applicant's data: the applicant sees who read them, and
    # so does the enterprise an application was filed for.
    record_access(
        session, user_id=application.applicant_id, actor=actor, fields=["application"],
        purpose="review", reference=reference,
    )  # fmt: skip
    if application.enterprise_uscc is not None:
        record_access(
            session, enterprise_uscc=application.enterprise_uscc, actor=actor,
            fields=["application"], purpose="review", reference=reference,
        )  # fmt: skip
    return application


def _text(value: str | None, field: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise bad_request(Message("services.text_required", {"field": str(field)}), field=field)
    if len(text) > MAX_TEXT:
        raise bad_request(
            Message(
                "services.longer_than_characters", {"field": str(field), "limit": str(MAX_TEXT)}
            ),
            field=field,
        )
    return text


def accept(session: Session, *, application_id: int, actor: Actor, setting: Setting) -> Application:
    """Accept a submitted application (受理): its time limit starts, and its first stage."""
    application = staff_application(session, application_id=application_id, actor=actor)
    require_department_staff(actor, application.department_code)
    if application.status != Status.SUBMITTED:
        raise lifecycle.not_allowed(application, "accept")
    definition = definition_of(session, application)
    now = utcnow()
    application.accepted_at = now
    application.due_at = deadlines.due_after(
        session,
        clock=setting.clock,
        start=now,
        days=definition.time_limit_days,
        application=application,
    )
    for index, stage in enumerate(definition.workflow):
        for department in stage.departments:
            session.add(
                ApplicationStep(
                    application_id=application.id, stage=index, department_code=department,
                    status=StepStatus.WAITING, days=stage.days,
                    supplements_allowed=definition.supplements_per_step,
                )
            )  # fmt: skip
    session.flush()
    due = application.due_at.date().isoformat() if application.due_at else ""
    names = department_names(session, application.department_code)
    lifecycle.move(
        session, application=application, action="accept", actor=actor,
        message=Message("application.accepted", {**names, "due": due}),
    )  # fmt: skip
    lifecycle.start_stage(session, application=application, stage=0, setting=setting, now=now)
    identity.audit(
        session, actor=actor, action="application.accept", target=f"application:{application.id}"
    )
    return application


def not_accept(session: Session, *, application_id: int, actor: Actor, reason: str) -> Application:
    """Refuse to accept a submitted application (不予受理), with the reason the applicant reads."""
    application = staff_application(session, application_id=application_id, actor=actor)
    require_department_staff(actor, application.department_code)
    text = _text(reason, "reason", required=True)
    application.decided_at = utcnow()
    lifecycle.move(
        session, application=application, action="not_accept", actor=actor, note=text,
        message=Message("application.not_accepted", {"reason": text}),
    )  # fmt: skip
    identity.audit(
        session,
        actor=actor,
        action="application.not_accept",
        target=f"application:{application.id}",
    )
    return application


def _step(session: Session, application: Application, step_id: int) -> ApplicationStep:
    step = session.get(ApplicationStep, step_id)
    if step is None or step.application_id != application.id:
        raise not_found("step", step_id)
    return step


def decide_step(
    session: Session,
    *,
    application_id: int,
    step_id: int,
    action: str,
    actor: Actor,
    setting: Setting,
    reason: str | None = None,
    legal_basis: str | None = None,
    items: list[str] | None = None,
) -> Application:
    """A department's decision on its step: approve, deny (with reason and legal basis) or ask
    for a supplement (naming what is missing; once per step unless a supervisor allows more)."""
    if action not in STEP_DECISIONS:
        raise bad_request(
            Message(
                "services.unknown_step_action_use",
                {"action": str(action), "items": ", ".join(STEP_DECISIONS)},
            ),
            field="action",
        )
    application = staff_application(session, application_id=application_id, actor=actor)
    step = _step(session, application, step_id)
    require_department_staff(actor, step.department_code)
    if application.status != Status.UNDER_REVIEW:
        raise lifecycle.not_allowed(
            application, action if action == "request_supplement" else "review"
        )
    names = department_names(session, step.department_code)
    if action == "request_supplement":
        wanted = [_text(i, "items", required=True) for i in (items or [])]
        if not wanted or len(wanted) > MAX_ITEMS:
            raise bad_request(
                Message("services.items_list_from_things", {"limit": str(MAX_ITEMS)}), field="items"
            )
        if step.supplements_used >= step.supplements_allowed:
            raise Problem(
                409, "supplement-limit",
                Message(
                    "services.step_asked_supplement_s",
                    {
                        "supplements_used": str(step.supplements_used),
                    },
                ),
                extra={"used": step.supplements_used, "allowed": step.supplements_allowed},
            )  # fmt: skip
        lifecycle.move_step(step, action)
        step.supplements_used += 1
        deadlines.pause(application, now=utcnow())
        listed = "; ".join(wanted)
        lifecycle.move(
            session, application=application, action="request_supplement", actor=actor, step=step,
            message=Message("application.supplement_requested", {**names, "items": listed}),
            data={"items": wanted},
        )  # fmt: skip
    elif action == "approve":
        lifecycle.move_step(step, "approve")
        _decided(step, actor)
        note = _text(reason, "reason", required=False) or None
        approved = Message("application.step_approved", names)
        _record_step(session, application, step, actor, "step_approve", approved, note)
        definition = definition_of(session, application)
        lifecycle.after_step(
            session, application=application, definition=definition, setting=setting
        )
    else:
        text = _text(reason, "reason", required=True)
        basis = _text(legal_basis, "legal_basis", required=True)
        lifecycle.move_step(step, "deny")
        _decided(step, actor)
        params = {**names, "reason": text, "legal_basis": basis}
        denied = Message("application.step_denied", params)
        _record_step(session, application, step, actor, "step_deny", denied, text)
        application.decided_at = utcnow()
        lifecycle.move(
            session, application=application, action="deny", actor=actor, step=step,
            message=Message("application.denied", {"reason": text, "legal_basis": basis}),
            data={"legal_basis": basis},
        )  # fmt: skip
        lifecycle.end_open_steps(session, application=application)
    identity.audit(
        session, actor=actor, action=f"application.step.{action}",
        target=f"application:{application.id}", detail={"step": step.id},
    )  # fmt: skip
    return application


def _decided(step: ApplicationStep, actor: Actor) -> None:
    step.decided_at = utcnow()
    step.decided_by = actor.username


def _record_step(
    session: Session,
    application: Application,
    step: ApplicationStep,
    actor: Actor,
    action: str,
    message: Message,
    note: str | None,
) -> None:
    timeline.record(
        session, application=application, action=action, actor=actor, step=step,
        to_status=application.status, from_status=application.status, message=message, note=note,
    )  # fmt: skip


def allow_supplement(
    session: Session, *, application_id: int, step_id: int, actor: Actor
) -> Application:
    """Let a step ask for one more supplement than the service allows (a supervisor's call)."""
    if actor.role not in SUPERVISING_ROLES:
        raise forbidden(Message("services.only_supervisor_may_allow"))
    application = staff_application(session, application_id=application_id, actor=actor)
    step = _step(session, application, step_id)
    if step.status != StepStatus.ACTIVE:
        raise Problem(
            409,
            "step-action-not-allowed",
            Message("services.step_active", {"status": str(step.status)}),
        )
    step.supplements_allowed += 1
    lifecycle.move(
        session, application=application, action="allow_supplement", actor=actor, step=step,
        data={"allowed": step.supplements_allowed},
    )  # fmt: skip
    identity.audit(
        session, actor=actor, action="application.allow_supplement",
        target=f"application:{application.id}", detail={"step": step.id},
    )  # fmt: skip
    return application


def record_fee(
    session: Session, *, application_id: int, actor: Actor, receipt: str, setting: Setting
) -> Application:
    """Record the fee as paid at the counter (with its receipt number); an approved application
    then gets its licence."""
    if actor.role not in COUNTER_ROLES:
        raise forbidden(Message("services.role_does_take_fees", {"actor_role": str(actor.role)}))
    application = staff_application(session, application_id=application_id, actor=actor)
    number = _text(receipt, "receipt", required=True)
    if len(number) > 80:
        raise bad_request(Message("services.receipt_longer_than_characters"), field="receipt")
    return lifecycle.settle_fee(
        session, application=application, actor=actor, receipt=number, setting=setting,
        message=Message("application.fee_paid", {"amount": lifecycle.amount(application)}),
    )  # fmt: skip
