# ruff: noqa: E501  (the transition table reads best one row per line)
"""The case workflow as one table: which action moves which states, who may take it, what it needs.

Nothing else in the code decides whether an action is allowed; service.apply_action reads this
table and answers 409 (wrong state) or 403 (wrong role) from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cityloop.platforms.application.identity.roles import Role


class Status(StrEnum):
    SUBMITTED = "submitted"
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"


class Resolution(StrEnum):
    FIXED = "fixed"
    REFERRED = "referred"
    NOT_ACTIONABLE = "not_actionable"
    DUPLICATE = "duplicate"


TERMINAL = frozenset({Status.REJECTED, Status.MERGED})
OPEN_STATES = frozenset(
    {Status.SUBMITTED, Status.REGISTERED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED}
)
# Open311 has only open and closed; closed means the city is done, whatever the resolution.
OPEN311_CLOSED = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED})

S = Status
CENTRE = frozenset({Role.ADMIN, Role.DISPATCHER})
VERIFIERS = frozenset({Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR})
DEPARTMENT = frozenset({Role.HANDLER, Role.WORKER})
ALL_STAFF = frozenset(Role) - {Role.CITIZEN}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status | None  # None: the state stays as it is
    roles: frozenset[str]
    needs: frozenset[str] = frozenset()  # note, department, resolution, merge_into
    guard: str | None = None  # a named extra condition, checked by the service
    note_public: bool = False  # whether the staff note is shown to citizens by default
    public_reason: bool = False  # the note IS the public reason: it cannot be made internal
    counts_as_rework: bool = False


def _t(
    action: str,
    sources: set[Status],
    target: Status | None,
    roles: frozenset[str],
    **kw: object,
) -> tuple[str, Transition]:
    return action, Transition(action, frozenset(sources), target, roles, **kw)  # type: ignore[arg-type]


TRANSITIONS: dict[str, Transition] = dict(
    [
        _t("register", {S.SUBMITTED}, S.REGISTERED, CENTRE),
        _t("reject", {S.SUBMITTED, S.REGISTERED}, S.REJECTED, CENTRE, needs=frozenset({"note"}), note_public=True, public_reason=True),
        _t("merge", {S.SUBMITTED, S.REGISTERED}, S.MERGED, CENTRE, needs=frozenset({"merge_into"})),
        _t("dispatch", {S.REGISTERED}, S.DISPATCHED, CENTRE, needs=frozenset({"department"})),
        _t("start", {S.DISPATCHED}, S.IN_PROGRESS, DEPARTMENT | {Role.ADMIN}),
        _t("resolve", {S.IN_PROGRESS}, S.RESOLVED, DEPARTMENT | {Role.ADMIN}, needs=frozenset({"note"}), guard="proof_for_fixed", note_public=True),
        _t("verify", {S.RESOLVED}, S.CLOSED, VERIFIERS, needs=frozenset({"resolution"}), note_public=True),
        _t("reopen", {S.RESOLVED, S.CLOSED}, S.DISPATCHED, VERIFIERS, needs=frozenset({"note"}), guard="dispute_if_closed", note_public=True, counts_as_rework=True),
        _t("uphold", {S.CLOSED}, None, VERIFIERS, needs=frozenset({"note"}), guard="open_dispute", note_public=True, public_reason=True),
        _t("reassign", {S.DISPATCHED, S.IN_PROGRESS}, S.DISPATCHED, CENTRE | {Role.HANDLER}, needs=frozenset({"department"}), guard="other_department"),
        _t("escalate", {S.DISPATCHED, S.IN_PROGRESS}, None, ALL_STAFF - {Role.HOTLINE, Role.INSPECTOR}),
        _t("comment", set(Status), None, ALL_STAFF, needs=frozenset({"note"})),
    ]
)  # fmt: skip

# Department roles act only on their own department's cases.
DEPARTMENT_SCOPED = DEPARTMENT


def allowed_actions(status: str, role: str) -> list[str]:
    """Actions the table allows for this state and role (guards are checked separately)."""
    return [
        t.action for t in TRANSITIONS.values() if Status(status) in t.sources and role in t.roles
    ]
