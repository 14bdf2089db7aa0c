"""Moving an application through its workflow table, and what follows by itself: the next stage
starting when one is approved, the decision when the last stage ends, the licence when the
application is approved and its fee is paid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.messages import Message
from cityloop.base.problems import Problem
from cityloop.domains.services import deadlines, timeline
from cityloop.domains.services.catalogue import definition_at
from cityloop.domains.services.deadlines import Clock
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.messages import department_names
from cityloop.domains.services.models import Application, ApplicationEvent, ApplicationStep
from cityloop.domains.services.workflow import (
    APPLICATION_WORKFLOW,
    PAYABLE,
    STEP_WORKFLOW,
    Status,
    StepStatus,
)
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import SYSTEM, Actor

# Issues the licence of an approved application (the module builds it on the credentials
# platform); returns the licence's id and the holder's token.
LicenceIssuer = Callable[[Session, Application, ServiceDefinition], tuple[str, str]]


@dataclass(frozen=True)
class Setting:
    """What the workflow needs from the running city: its clock and its licence issuer."""

    clock: Clock
    issuer: LicenceIssuer | None = None


def not_allowed(application: Application, action: str) -> Problem:
    """The 409 for an action the table does not allow in the application's state."""
    allowed = APPLICATION_WORKFLOW.actions_from(application.status)
    return Problem(
        409, "application-action-not-allowed",
        Message(
            "services.allowed_while_application",
            {
                "action": str(action),
                "application_status": str(application.status),
            },
        ),
        extra={"status": application.status, "allowed": allowed},
    )  # fmt: skip


def move(
    session: Session,
    *,
    application: Application,
    action: str,
    actor: Actor,
    message: Message | None = None,
    note: str | None = None,
    step: ApplicationStep | None = None,
    data: dict[str, object] | None = None,
) -> ApplicationEvent:
    """Take an action the table allows (409 otherwise) and append its timeline row."""
    row = APPLICATION_WORKFLOW.find(application.status, action)
    if row is None:
        raise not_allowed(application, action)
    before = application.status
    application.status = str(row.target) if row.target is not None else before
    application.updated_at = utcnow()
    return timeline.record(
        session, application=application, action=action, actor=actor, to_status=application.status,
        from_status=before, message=message, note=note, public=row.public, step=step, data=data,
    )  # fmt: skip


def move_step(step: ApplicationStep, action: str) -> None:
    """Change a step's state as its table allows (409 otherwise)."""
    target = STEP_WORKFLOW.target(step.status, action)
    if target is None:
        raise Problem(
            409, "step-action-not-allowed",
            Message(
                "services.allowed_while_step",
                {
                    "action": str(action),
                    "status": str(step.status),
                },
            ),
            extra={"status": step.status, "allowed": STEP_WORKFLOW.actions_from(step.status)},
        )  # fmt: skip
    step.status = target


def steps_of(session: Session, *, application_id: int) -> list[ApplicationStep]:
    """The application's steps, by stage then department."""
    query = select(ApplicationStep).where(ApplicationStep.application_id == application_id)
    return list(session.scalars(query.order_by(ApplicationStep.stage, ApplicationStep.id)))


def start_stage(
    session: Session,
    *,
    application: Application,
    stage: int,
    setting: Setting,
    now: datetime,
) -> None:
    """Activate every step of a stage, each with its own time limit."""
    application.stage = stage
    for step in steps_of(session, application_id=application.id):
        if step.stage != stage:
            continue
        move_step(step, "activate")
        step.started_at = now
        step.due_at = deadlines.due_after(
            session, clock=setting.clock, start=now, days=step.days, application=application
        )
        started = Message(
            "application.step_started", department_names(session, step.department_code)
        )
        timeline.record(
            session, application=application, action="step_started", actor=SYSTEM,
            to_status=application.status, from_status=application.status, step=step,
            message=started,
        )  # fmt: skip


def end_open_steps(session: Session, *, application: Application) -> None:
    """Cancel the steps that have not decided (the application ended without them)."""
    for step in steps_of(session, application_id=application.id):
        if step.status in (StepStatus.WAITING, StepStatus.ACTIVE):
            move_step(step, "cancel")


def after_step(
    session: Session,
    *,
    application: Application,
    definition: ServiceDefinition,
    setting: Setting,
) -> None:
    """Once every step of the current stage approved: start the next stage, or approve."""
    current = [
        s for s in steps_of(session, application_id=application.id) if s.stage == application.stage
    ]
    if any(s.status != StepStatus.APPROVED for s in current):
        return
    now = utcnow()
    if application.stage + 1 < len(definition.workflow):
        start_stage(
            session, application=application, stage=application.stage + 1, setting=setting, now=now
        )
        return
    application.decided_at = now
    move(
        session,
        application=application,
        action="approve",
        actor=SYSTEM,
        message=Message("application.approved"),
    )
    issue_if_due(session, application=application, definition=definition, setting=setting)


def issue_if_due(
    session: Session,
    *,
    application: Application,
    definition: ServiceDefinition,
    setting: Setting,
) -> None:
    """Issue the licence of an approved application whose fee is settled, if it has one."""
    if (
        application.status != Status.APPROVED
        or definition.licence is None
        or setting.issuer is None
    ):
        return
    if application.fee_cents and application.fee_paid_at is None:
        return
    licence_id, token = setting.issuer(session, application, definition)
    licence = {"licence": definition.licence.name, "licence_zh": definition.licence.name_zh}
    application.licence_id = licence_id
    application.licence_token = token
    move(
        session, application=application, action="issue", actor=SYSTEM,
        message=Message("application.issued", licence),
        data={"licence_id": licence_id},
    )  # fmt: skip


def amount(application: Application) -> str:
    """The application's fee as people read it (¥12.50)."""
    return f"¥{application.fee_cents / 100:.2f}"


def settle_fee(
    session: Session,
    *,
    application: Application,
    actor: Actor,
    receipt: str,
    setting: Setting,
    message: Message,
) -> Application:
    """Record an application's fee as paid (at the counter or online); an approved application
    then gets its licence."""
    if application.fee_cents == 0:
        raise Problem(
            409,
            "no-fee",
            Message("services.application_fee_pay", {"application_id": str(application.id)}),
        )
    if application.fee_paid_at is not None:
        raise Problem(
            409,
            "fee-already-paid",
            Message("services.fee_application_paid", {"application_id": str(application.id)}),
        )
    if application.status not in PAYABLE:
        raise not_allowed(application, "record_fee")
    application.fee_paid_at = utcnow()
    application.fee_receipt = receipt
    move(
        session, application=application, action="record_fee", actor=actor, message=message,
        data={"receipt": receipt},
    )  # fmt: skip
    identity.audit(
        session, actor=actor, action="application.fee", target=f"application:{application.id}",
        detail={"receipt": receipt, "cents": application.fee_cents},
    )  # fmt: skip
    definition = definition_at(
        session, code=application.service_code, version=application.service_version
    )
    issue_if_due(session, application=application, definition=definition, setting=setting)
    return application
