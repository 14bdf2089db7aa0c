"""The departments' work queue: submitted applications to accept, and active steps to decide,
soonest deadline first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import iso
from cityloop.base.problems import forbidden
from cityloop.domains.services import responses as out
from cityloop.domains.services.catalogue import definition_at
from cityloop.domains.services.messages import Message
from cityloop.domains.services.models import Application, ApplicationStep
from cityloop.domains.services.presenters import number
from cityloop.domains.services.workflow import Status, StepStatus
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES
from cityloop.platforms.application.identity.service import Actor

MAX_QUEUE = 500


def _item(
    session: Session, application: Application, step: ApplicationStep | None
) -> out.QueueItem:
    definition = definition_at(
        session, code=application.service_code, version=application.service_version
    )
    return out.QueueItem(
        kind="review" if step else "accept",
        application_id=application.id, number=number(application),
        service=application.service_code, service_name=definition.name,
        service_name_zh=definition.name_zh, status=application.status,
        step_id=step.id if step else None, stage=step.stage if step else None,
        department=step.department_code if step else application.department_code,
        submitted_at=iso(application.submitted_at),
        due_at=iso(step.due_at if step else application.due_at),
        overdue=bool(step and step.overdue), enterprise=application.enterprise_uscc is not None,
    )  # fmt: skip


def work_queue(
    session: Session, *, actor: Actor, department: str | None = None, overdue_only: bool = False
) -> list[out.QueueItem]:
    """What a department must do now, soonest deadline first: its own department's, or any
    department's for city-wide roles (optionally one)."""
    if actor.role in CITY_WIDE_ROLES:
        scope = department
    elif actor.department_code is None:
        raise forbidden(Message("services.work_queue_staff_department"))
    else:
        scope = actor.department_code
    steps = (
        select(ApplicationStep, Application)
        .join(Application, Application.id == ApplicationStep.application_id)
        .where(ApplicationStep.status == StepStatus.ACTIVE)
        .where(Application.status.in_([Status.UNDER_REVIEW, Status.SUPPLEMENT]))
    )
    if scope:
        steps = steps.where(ApplicationStep.department_code == scope)
    if overdue_only:
        steps = steps.where(ApplicationStep.overdue.is_(True))
    items = [
        _item(session, application, step)
        for step, application in session.execute(
            steps.order_by(ApplicationStep.due_at, ApplicationStep.id).limit(MAX_QUEUE)
        )
    ]
    if not overdue_only:
        waiting = select(Application).where(Application.status == Status.SUBMITTED)
        if scope:
            waiting = waiting.where(Application.department_code == scope)
        items += [
            _item(session, application, None)
            for application in session.scalars(
                waiting.order_by(Application.submitted_at, Application.id).limit(MAX_QUEUE)
            )
        ]
    # Applications waiting for acceptance come first, oldest first; then steps by deadline.
    return sorted(
        items,
        key=lambda i: (i.kind != "accept", i.due_at or i.submitted_at or "", i.application_id),
    )
