"""Appointments: counter slots per department, bookings, and the day-before reminder."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.base.outbox import ConsumerRegistry
from cityloop.platforms.application.appointments import reminders
from cityloop.platforms.application.appointments.models import Appointment, Counter
from cityloop.platforms.application.appointments.views import router


def _remind(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return reminders.mark_due_reminders(session, timezone=ctx.settings.city_timezone)


def _subscribe(registry: ConsumerRegistry, ctx: AppContext) -> None:
    reminders.subscribe(registry, ctx.settings.city_timezone)


MODULE = Module(
    name="appointments",
    models=(Counter, Appointment),
    routers=(router,),
    consumers=(_subscribe,),
    jobs=(
        ScheduledJob(
            "appointment-reminders",
            every=lambda settings: settings.appointment_reminder_interval_seconds,
            run=_remind,
        ),
    ),
)
