"""Booking a slot, cancelling it, marking it attended or missed, and the lists people read."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as clock

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, conflict, forbidden, not_found
from cityloop.platforms.application.appointments import events
from cityloop.platforms.application.appointments.counters import slot_starts
from cityloop.platforms.application.appointments.messages import Message
from cityloop.platforms.application.appointments.models import Appointment, Counter
from cityloop.platforms.application.appointments.workflow import (
    APPOINTMENT_WORKFLOW,
    CITY_WIDE,
    DEPARTMENT_STAFF,
    HOLDS_A_PLACE,
    Status,
)
from cityloop.platforms.application.calendar import service as calendar
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

# What the calling domain passes: ``application:42``; a purpose code such as ``identity-check``.
REFERENCE = re.compile(r"^[a-z][a-z0-9_-]{0,39}:[A-Za-z0-9._-]{1,39}$")
PURPOSE = re.compile(r"^[a-z][a-z0-9._-]{0,39}$")

_EVENTS: dict[str, type[events.AppointmentChange]] = {
    "attend": events.AppointmentAttended,
    "no_show": events.AppointmentMissed,
}


def event_for(
    cls: type[events.AppointmentChange], booking: Appointment, **extra: object
) -> events.AppointmentChange:
    """The event of this kind about this booking."""
    return cls(
        appointment_id=booking.id,
        counter_id=booking.counter_id,
        department=booking.department_code,
        user_id=booking.user_id,
        slot_start=booking.slot_start.isoformat(),
        reference=booking.reference,
        purpose=booking.purpose,
        **extra,
    )


def _locked_counter(session: Session, counter_id: int) -> Counter | None:
    # Every booking of a counter takes its row lock first (PostgreSQL), so counting the places
    # taken and adding one is never interleaved with another booking; SQLite's single writer
    # already serialises them (BEGIN IMMEDIATE).
    return session.scalar(select(Counter).where(Counter.id == counter_id).with_for_update())


def book(
    session: Session,
    *,
    user_id: int,
    counter_id: int,
    start: datetime,
    reference: str,
    purpose: str,
    timezone: str | tzinfo,
    horizon_days: int,
    now: datetime | None = None,
) -> Appointment:
    """Book the slot of ``counter_id`` starting at ``start`` for a signed-in person."""
    now = now or utcnow()
    zone = calendar.city_zone(timezone)
    if not REFERENCE.match(reference):
        raise bad_request(
            Message("appointments.reference_look_like_application"), field="reference"
        )
    if not PURPOSE.match(purpose):
        raise bad_request(Message("appointments.purpose_code_z"), field="purpose")
    if start.tzinfo is None:
        raise bad_request(Message("appointments.start_time_zone_e"), field="start")
    counter = _locked_counter(session, counter_id)
    if counter is None or not counter.active:
        raise bad_request(
            Message("appointments.unknown_counter", {"counter_id": str(counter_id)}),
            field="counter_id",
        )
    if start <= now:
        raise Problem(
            400, "slot-in-past", Message("appointments.slot_already_begun_passed"), field="start"
        )
    if start > now + timedelta(days=horizon_days):
        raise Problem(
            400,
            "too-far-ahead",
            Message("appointments.slots_open_days_ahead", {"horizon_days": str(horizon_days)}),
            field="start",
        )
    day = start.astimezone(zone).date()
    starts = slot_starts(session, counter=counter, day=day, zone=zone)
    if not starts:
        reason = "not a working day" if not calendar.is_working_day(session, day=day) else "closed"
        raise Problem(
            400,
            "counter-closed",
            Message(
                "appointments.counter_closed",
                {
                    "date": str(day.isoformat()),
                    "reason": str(reason),
                },
            ),
            field="start",
        )
    if start not in starts:
        raise Problem(
            400,
            "not-a-slot",
            Message(
                "appointments.slot_counter_starts",
                {
                    "time": format(start.astimezone(zone), "%H:%M"),
                    "day": str(day),
                },
            ),
            field="start",
        )
    mine = session.scalar(
        select(Appointment.id).where(
            Appointment.user_id == user_id,
            Appointment.slot_start == start,
            Appointment.status == Status.BOOKED,
        )
    )
    if mine is not None:
        raise conflict(
            Message("appointments.already_appointment_time", {"mine": str(mine)}),
            type_="already-booked",
        )
    held = session.scalar(
        select(func.count()).where(
            Appointment.counter_id == counter.id,
            Appointment.slot_start == start,
            Appointment.status.in_(list(HOLDS_A_PLACE)),
        )
    )
    if held >= counter.capacity:
        raise conflict(Message("appointments.slot_full_choose_another"), type_="slot-full")
    booking = Appointment(
        counter_id=counter.id,
        department_code=counter.department_code,
        user_id=user_id,
        slot_start=start,
        slot_end=start + timedelta(minutes=counter.slot_minutes),
        reference=reference,
        purpose=purpose,
        status=Status.BOOKED,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    session.flush()
    emit(session, event_for(events.AppointmentBooked, booking))
    return booking


def _visible(actor: Actor, booking: Appointment) -> bool:
    """Whether this actor may see the booking: its holder, its department's staff, or the
    city-wide roles."""
    if actor.role == Role.CITIZEN:
        return actor.user_id == booking.user_id
    if actor.role in DEPARTMENT_STAFF:
        return actor.department_code == booking.department_code
    return actor.role in CITY_WIDE


def _guard(
    name: str, booking: Appointment, actor: Actor, now: datetime, cancel_hours: float
) -> str | None:
    """Why the named guard fails, or None when it holds."""
    if name == "cancel_window":
        # Staff may cancel at any time; the holder until cancel_hours before the slot.
        if actor.role == Role.CITIZEN and now > booking.slot_start - timedelta(hours=cancel_hours):
            return (
                f"appointments can be cancelled until {cancel_hours:g} hours before they "
                "begin; call the counter instead"
            )
        return None
    if name == "slot_begun":
        if now < booking.slot_start:
            return "the slot has not begun yet"
        return None
    raise LookupError(f"no guard named {name}")


def act(
    session: Session,
    *,
    appointment_id: int,
    action: str,
    actor: Actor,
    cancel_hours: float,
    note: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Cancel, or mark attended or no-show, as the workflow table allows; staff actions audited."""
    now = now or utcnow()
    if action not in APPOINTMENT_WORKFLOW.actions:
        raise bad_request(
            Message(
                "appointments.action_choices",
                {
                    "items": ", ".join(APPOINTMENT_WORKFLOW.actions),
                },
            ),
            field="action",
        )
    if len(note) > 500:
        raise bad_request(Message("appointments.note_most_characters"), field="note")
    booking = session.scalar(
        select(Appointment).where(Appointment.id == appointment_id).with_for_update()
    )
    if booking is None or not _visible(actor, booking):
        raise not_found("appointment", appointment_id)
    row = APPOINTMENT_WORKFLOW.row(action)
    assert row is not None
    if actor.role not in row.roles:
        raise forbidden(
            Message(
                "appointments.role_may_appointment",
                {"actor_role": str(actor.role), "action": str(action)},
            )
        )
    target = APPOINTMENT_WORKFLOW.target(booking.status, action)
    if target is None:
        raise conflict(
            Message(
                "appointments.illegal_transition",
                {
                    "booking_status": str(booking.status),
                    "action": str(action),
                },
            ),
            type_="illegal-transition",
            status=booking.status,
            allowed=APPOINTMENT_WORKFLOW.actions_from(booking.status),
        )
    for guard in APPOINTMENT_WORKFLOW.find(booking.status, action).guards:  # type: ignore[union-attr]
        reason = _guard(guard, booking, actor, now, cancel_hours)
        if reason is not None:
            raise conflict(
                reason, type_="too-late-to-cancel" if guard == "cancel_window" else "too-early"
            )
    booking.status, booking.updated_at = target, now
    if note:
        booking.note = note
    by_staff = actor.role != Role.CITIZEN
    if action == "cancel":
        booking.cancelled_by = actor.username
        emit(session, event_for(events.AppointmentCancelled, booking, by_staff=by_staff))
    else:
        emit(session, event_for(_EVENTS[action], booking))
    if by_staff:
        identity.audit(
            session,
            actor=actor,
            action=f"appointment.{action}",
            target=f"appointment:{booking.id}",
            detail={"counter": booking.counter_id, "note": note}
            if note
            else {"counter": booking.counter_id},
        )
    session.flush()
    return booking


def bookings_of(session: Session, *, user_id: int) -> list[tuple[Appointment, Counter]]:
    """A person's appointments with their counters, the latest slot first."""
    rows = session.execute(
        select(Appointment, Counter)
        .join(Counter, Counter.id == Appointment.counter_id)
        .where(Appointment.user_id == user_id)
        .order_by(Appointment.slot_start.desc(), Appointment.id.desc())
        .limit(200)
    ).all()
    return [(a, c) for a, c in rows]


def day_list(
    session: Session, *, counter_id: int, day: date, actor: Actor, timezone: str | tzinfo
) -> tuple[Counter, list[tuple[Appointment, User]]]:
    """The counter's appointments of one day with the people booked, audited (personal data)."""
    zone = calendar.city_zone(timezone)
    counter = session.get(Counter, counter_id)
    if counter is None:
        raise not_found("counter", counter_id)
    if actor.role in DEPARTMENT_STAFF and actor.department_code != counter.department_code:
        raise not_found("counter", counter_id)  # another department's counter is invisible
    if actor.role not in DEPARTMENT_STAFF | CITY_WIDE:
        raise forbidden(
            Message("appointments.role_does_keep_counters", {"actor_role": str(actor.role)})
        )
    first = datetime.combine(day, clock.min, tzinfo=zone)
    rows = session.execute(
        select(Appointment, User)
        .join(User, User.id == Appointment.user_id)
        .where(
            Appointment.counter_id == counter_id,
            Appointment.slot_start >= first,
            Appointment.slot_start < first + timedelta(days=1),
        )
        .order_by(Appointment.slot_start, Appointment.id)
    ).all()
    identity.audit(
        session,
        actor=actor,
        action="appointment.day_list",
        target=f"counter:{counter_id}",
        detail={"day": day.isoformat(), "people": len(rows)},
    )
    return counter, [(a, u) for a, u in rows]
