"""Appointment events: a domain reacts to a booking of its own ``reference`` (an application's
in-person step) without importing this package's tables. Payloads carry ids and codes only."""

from __future__ import annotations

from typing import ClassVar

from cityloop.base.events import Event


class AppointmentChange(Event):
    aggregate: ClassVar[str] = "appointment"
    aggregate_field: ClassVar[str] = "appointment_id"

    appointment_id: int
    counter_id: int
    department: str
    user_id: int
    slot_start: str
    reference: str
    purpose: str


class AppointmentBooked(AppointmentChange):
    type: ClassVar[str] = "appointment.booked"


class AppointmentCancelled(AppointmentChange):
    type: ClassVar[str] = "appointment.cancelled"

    by_staff: bool


class AppointmentAttended(AppointmentChange):
    type: ClassVar[str] = "appointment.attended"


class AppointmentMissed(AppointmentChange):
    """The person did not come (no-show)."""

    type: ClassVar[str] = "appointment.no_show"


class AppointmentReminderDue(AppointmentChange):
    """The appointment is tomorrow (or sooner): its holder is reminded once."""

    type: ClassVar[str] = "appointment.reminder_due"
