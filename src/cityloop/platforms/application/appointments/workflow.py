"""An appointment's life as one table: which action moves which status, who may take it, and
the named guards that must hold (409 when one fails)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cityloop.base.statemachine import Transition, TransitionTable
from cityloop.platforms.application.identity.roles import Role


class Status(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Staff who may act on appointments: the counter's department, and the city-wide roles.
DEPARTMENT_STAFF = frozenset({Role.HANDLER, Role.WORKER})
CITY_WIDE = frozenset({Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR})
STAFF = DEPARTMENT_STAFF | CITY_WIDE
# Statuses that hold a place in their slot.
HOLDS_A_PLACE = frozenset({Status.BOOKED, Status.ATTENDED, Status.NO_SHOW})


@dataclass(frozen=True)
class AppointmentTransition(Transition[Status]):
    roles: frozenset[str] = frozenset()
    # named guards: "cancel_window" (a citizen cancels until N hours before), "slot_begun"
    # (nobody is a no-show before the slot starts)
    guards: tuple[str, ...] = ()


S = Status
APPOINTMENT_WORKFLOW: TransitionTable[AppointmentTransition] = TransitionTable(
    "appointment",
    [
        AppointmentTransition(
            "cancel",
            frozenset({S.BOOKED}),
            S.CANCELLED,
            roles=STAFF | {Role.CITIZEN},
            guards=("cancel_window",),
        ),
        AppointmentTransition("attend", frozenset({S.BOOKED, S.NO_SHOW}), S.ATTENDED, roles=STAFF),
        AppointmentTransition(
            "no_show", frozenset({S.BOOKED}), S.NO_SHOW, roles=STAFF, guards=("slot_begun",)
        ),
    ],
)
