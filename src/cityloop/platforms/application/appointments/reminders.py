"""The day-before reminder: a scheduled job marks each booking of tomorrow once and emits an
event; a consumer writes the holder's inbox line (and e-mail) through the notify platform."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from datetime import time as clock

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent, emit
from cityloop.platforms.application.appointments import events, messages
from cityloop.platforms.application.appointments.bookings import event_for
from cityloop.platforms.application.appointments.models import Appointment, Counter
from cityloop.platforms.application.appointments.workflow import Status
from cityloop.platforms.application.calendar import service as calendar
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.notify import service as notify


def mark_due_reminders(
    session: Session, *, timezone: str | tzinfo, now: datetime | None = None, limit: int = 500
) -> int:
    """Mark every booking of tomorrow (or sooner) not yet reminded, and emit its event."""
    # Idempotent: reminded_at is set in the transaction that emits, so a booking is reminded
    # once however often the job runs, and a job that missed a day still reminds of today's.
    now = now or utcnow()
    zone = calendar.city_zone(timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    until = datetime.combine(tomorrow + timedelta(days=1), clock.min, tzinfo=zone)
    due = session.scalars(
        select(Appointment)
        .where(
            Appointment.status == Status.BOOKED,
            Appointment.reminded_at.is_(None),
            Appointment.slot_start > now,
            Appointment.slot_start < until,
        )
        .order_by(Appointment.slot_start, Appointment.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for booking in due:
        booking.reminded_at = now
        emit(session, event_for(events.AppointmentReminderDue, booking))
    return len(due)


def on_reminder_due(session: Session, delivered: DeliveredEvent, *, timezone: str) -> None:
    """Write the holder's inbox line, and an e-mail when the account has an address."""
    if notify.already_sent(session, event_id=delivered.id):
        return
    due = delivered.event
    assert isinstance(due, events.AppointmentReminderDue)
    booking = session.get(Appointment, due.appointment_id)
    if booking is None or booking.status != Status.BOOKED:
        return  # cancelled since: nothing to remind of
    counter = session.get(Counter, booking.counter_id)
    user = session.get(User, booking.user_id)
    if counter is None or user is None:
        return
    local = booking.slot_start.astimezone(calendar.city_zone(timezone))
    params = {
        "counter": counter.name,
        "counter_zh": counter.name_zh,
        "location": counter.location or counter.name,
        "location_zh": counter.location_zh,
        "day": local.date().isoformat(),
        "time": f"{local:%H:%M}",
    }
    reminder = messages.coded("appointment.reminder", **params)
    kind = "appointment.reminder"
    # The inbox shows the line in its reader's language (its code is kept); the e-mail, which
    # has no reader's locale, carries both.
    notify.queue(
        session,
        source_event_id=delivered.id,
        user_id=user.id,
        kind=kind,
        message=reminder.render("en"),
        coded=reminder,
    )
    text = messages.both("appointment.reminder", **params)
    if user.email:
        subject = " / ".join(
            messages.render("appointment.reminder.subject", locale, **params)
            for locale in messages.LOCALES
        )
        notify.queue(
            session,
            source_event_id=delivered.id,
            user_id=user.id,
            kind=kind,
            message=text,
            email=(user.email, subject),
        )


def subscribe(registry: ConsumerRegistry, timezone: str) -> None:
    """Register the reminder consumer."""

    def handler(session: Session, delivered: DeliveredEvent) -> None:
        on_reminder_due(session, delivered, timezone=timezone)

    registry.subscribe("appointments.reminder", [events.AppointmentReminderDue], handler)
