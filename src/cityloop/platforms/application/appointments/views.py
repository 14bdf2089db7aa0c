"""Counter appointments over HTTP: counters and free slots (public), booking and my bookings
(citizens), the day list and actions (staff), counters' upkeep (admins)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import utcnow
from cityloop.platforms.application.appointments import bookings, counters
from cityloop.platforms.application.appointments.models import Appointment, Counter
from cityloop.platforms.application.appointments.responses import (
    AppointmentActionIn,
    AppointmentBookingIn,
    AppointmentDayEntry,
    AppointmentDayList,
    AppointmentOut,
    AppointmentSlot,
    CounterIn,
    CounterOut,
)
from cityloop.platforms.application.appointments.workflow import STAFF
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["appointments"])
Ctx = Annotated[AppContext, Depends(get_context)]
Citizen = Annotated[Actor, Depends(require_roles(Role.CITIZEN))]
Staff = Annotated[Actor, Depends(require_roles(*STAFF))]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
Department = Annotated[str, Query(min_length=1, max_length=40)]


def counter_out(counter: Counter) -> CounterOut:
    return CounterOut(
        id=counter.id,
        code=counter.code,
        department=counter.department_code,
        name=counter.name,
        name_zh=counter.name_zh,
        location=counter.location,
        location_zh=counter.location_zh,
        hours=counters.counter_hours(counter),
        slot_minutes=counter.slot_minutes,
        capacity=counter.capacity,
    )


def appointment_out(booking: Appointment, counter: Counter) -> AppointmentOut:
    return AppointmentOut(
        id=booking.id,
        counter_id=counter.id,
        counter=counter.name,
        counter_zh=counter.name_zh,
        department=booking.department_code,
        start=booking.slot_start.isoformat(),
        end=booking.slot_end.isoformat(),
        reference=booking.reference,
        purpose=booking.purpose,
        status=booking.status,  # type: ignore[arg-type]
    )


@router.get("/appointments/counters", response_model=list[CounterOut])
def list_counters(ctx: Ctx, department: Department | None = None) -> list[CounterOut]:
    """The counters people can book, of one department or all."""
    with ctx.reading() as session:
        return [counter_out(c) for c in counters.list_counters(session, department_code=department)]


@router.post("/appointments/counters", response_model=CounterOut, status_code=201)
def save_counter(ctx: Ctx, body: CounterIn, actor: Admin) -> CounterOut:
    """Add a counter, or change the one with this code (audited)."""
    with ctx.writing() as session:
        counter = counters.save_counter(
            session,
            code=body.code,
            department_code=body.department,
            name=body.name,
            name_zh=body.name_zh,
            location=body.location,
            location_zh=body.location_zh,
            hours=body.hours,
            slot_minutes=body.slot_minutes,
            capacity=body.capacity,
        )
        identity.audit(session, actor=actor, action="counter.save", target=f"counter:{counter.id}")
        return counter_out(counter)


@router.get("/appointments/slots", response_model=list[AppointmentSlot])
def free_slots(
    ctx: Ctx,
    department: Department,
    start: Annotated[date, Query(description="first day, YYYY-MM-DD")],
    end: Annotated[date, Query(description="last day, YYYY-MM-DD")],
) -> list[AppointmentSlot]:
    """The department's slots with a free place: public, and without personal data."""
    with ctx.reading() as session:
        slots = counters.free_slots(
            session,
            department_code=department,
            first=start,
            last=end,
            timezone=ctx.settings.city_timezone,
            horizon_days=ctx.settings.appointment_booking_days,
            now=utcnow(),
        )
        return [
            AppointmentSlot(
                counter_id=s.counter.id,
                counter=s.counter.name,
                counter_zh=s.counter.name_zh,
                start=s.start.isoformat(),
                end=s.end.isoformat(),
                free=s.free,
            )
            for s in slots
        ]


def _booking_out(session: Session, booking: Appointment) -> AppointmentOut:
    counter = session.get(Counter, booking.counter_id)
    assert counter is not None
    return appointment_out(booking, counter)


@router.post("/appointments", response_model=AppointmentOut, status_code=201)
def book(ctx: Ctx, body: AppointmentBookingIn, actor: Citizen) -> AppointmentOut:
    """Book a slot for the signed-in citizen."""
    assert actor.user_id is not None
    user_id = actor.user_id

    def write(session: Session) -> AppointmentOut:
        booking = bookings.book(
            session,
            user_id=user_id,
            counter_id=body.counter_id,
            start=body.start,
            reference=body.reference,
            purpose=body.purpose,
            timezone=ctx.settings.city_timezone,
            horizon_days=ctx.settings.appointment_booking_days,
        )
        return _booking_out(session, booking)

    return ctx.write_grouped(write)


@router.get("/me/appointments", response_model=list[AppointmentOut])
def my_appointments(ctx: Ctx, actor: Citizen) -> list[AppointmentOut]:
    """The signed-in citizen's appointments, the latest first."""
    assert actor.user_id is not None
    with ctx.reading() as session:
        return [
            appointment_out(a, c) for a, c in bookings.bookings_of(session, user_id=actor.user_id)
        ]


@router.post("/appointments/{appointment_id}/actions", response_model=AppointmentOut)
def act(
    ctx: Ctx,
    appointment_id: Annotated[int, Path(ge=1)],
    body: AppointmentActionIn,
    actor: Annotated[Actor, Depends(require_roles(Role.CITIZEN, *STAFF))],
) -> AppointmentOut:
    """Cancel (the holder, until a few hours before; staff at any time), or mark attended or
    no-show (staff of the counter's department)."""

    def write(session: Session) -> AppointmentOut:
        booking = bookings.act(
            session,
            appointment_id=appointment_id,
            action=body.action,
            actor=actor,
            note=body.note,
            cancel_hours=ctx.settings.appointment_cancel_hours,
        )
        return _booking_out(session, booking)

    return ctx.write_grouped(write)


@router.get("/appointments/day", response_model=AppointmentDayList)
def day_list(
    ctx: Ctx,
    counter: Annotated[int, Query(ge=1)],
    day: Annotated[date, Query(description="YYYY-MM-DD")],
    actor: Staff,
) -> AppointmentDayList:
    """A counter's appointments of one day, with the people booked (audited)."""

    # A unit that writes: the read of personal data is audited.
    def write(session: Session) -> AppointmentDayList:
        found, rows = bookings.day_list(
            session, counter_id=counter, day=day, actor=actor, timezone=ctx.settings.city_timezone
        )
        return AppointmentDayList(
            counter=counter_out(found),
            day=day.isoformat(),
            appointments=[
                AppointmentDayEntry(
                    **appointment_out(a, found).model_dump(),
                    person=user.display_name,
                    username=user.username,
                )
                for a, user in rows
            ],
        )

    return ctx.write_grouped(write)
