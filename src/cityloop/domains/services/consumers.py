"""What the services domain does on events: tell the applicant of every change they can see,
and link an application to the counter appointment booked for its in-person step."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.messages import Message
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.domains.services import events, timeline
from cityloop.domains.services.messages import department_names
from cityloop.domains.services.models import Application, ApplicationEvent
from cityloop.domains.services.presenters import number
from cityloop.platforms.application.appointments import events as appointment_events
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import SYSTEM
from cityloop.platforms.application.notify import service as notify

REFERENCE = "application:"


def on_public_update(session: Session, event: DeliveredEvent) -> None:
    """An inbox line for the applicant, in both languages through its message code."""
    if notify.already_sent(session, event_id=event.id):
        return
    update = event.event
    assert isinstance(update, events.ApplicationPublicUpdate)
    row = session.get(ApplicationEvent, update.event_id)
    application = session.get(Application, update.application_id)
    message = timeline.message_of(row) if row is not None else None
    if application is None or message is None:
        return
    coded = Message("application.update", {"number": number(application), **_rendered(message)})
    notify.queue(
        session, source_event_id=event.id, user_id=application.applicant_id,
        kind=f"application.{update.action}", message=coded.render("en"), coded=coded,
    )  # fmt: skip


def _rendered(message: Message) -> dict[str, str]:
    return {"line": message.render("en"), "line_zh": message.render("zh-CN")}


def on_step_overdue(session: Session, event: DeliveredEvent) -> None:
    """Escalate a late step: its department's handlers and the supervisors are told."""
    if notify.already_sent(session, event_id=event.id):
        return
    late = event.event
    assert isinstance(late, events.StepOverdue)
    application = session.get(Application, late.application_id)
    if application is None:
        return
    coded = Message(
        "application.step_overdue_staff",
        {"number": number(application), **department_names(session, late.department)},
    )
    people = identity.users_with_role(session, role=Role.HANDLER, department_code=late.department)
    people += identity.users_with_role(session, role=Role.SUPERVISOR)
    for user in {u.id: u for u in people}.values():
        notify.queue(
            session, source_event_id=event.id, user_id=user.id, kind="application.step_overdue",
            message=coded.render("en"), coded=coded,
        )  # fmt: skip


def _linked(session: Session, change: appointment_events.AppointmentChange) -> Application | None:
    if not change.reference.startswith(REFERENCE):
        return None
    ident = change.reference.removeprefix(REFERENCE)
    application = session.get(Application, int(ident)) if ident.isdigit() else None
    if application is None or application.applicant_id != change.user_id:
        return None
    return application


def on_appointment(session: Session, event: DeliveredEvent) -> None:
    """Keep the application's appointment: set on booking, cleared on cancelling."""
    change = event.event
    assert isinstance(change, appointment_events.AppointmentChange)
    application = _linked(session, change)
    if application is None:
        return
    booked = isinstance(change, appointment_events.AppointmentBooked)
    if booked:
        application.appointment_id = change.appointment_id
    elif application.appointment_id == change.appointment_id:
        application.appointment_id = None
    else:
        return
    code = "application.appointment_booked" if booked else "application.appointment_cancelled"
    timeline.record(
        session, application=application, action="appointment", actor=SYSTEM,
        to_status=application.status, from_status=application.status,
        message=Message(code, {"slot": change.slot_start[:16].replace("T", " ")}),
        data={"appointment_id": change.appointment_id},
    )  # fmt: skip


def subscribe(registry: ConsumerRegistry, ctx: AppContext | None = None) -> None:
    """Register the services domain's consumers."""
    registry.subscribe("services.notify", [events.ApplicationPublicUpdate], on_public_update)
    registry.subscribe("services.escalate", [events.StepOverdue], on_step_overdue)
    registry.subscribe(
        "services.appointments",
        [appointment_events.AppointmentBooked, appointment_events.AppointmentCancelled],
        on_appointment,
    )
