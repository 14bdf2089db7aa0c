# ruff: noqa: E501  (the transition table reads best one row per line)
"""The case workflow as one table: which action moves which states, who may take it, what it
needs, and which named guards (on the case, 409) and checks (on the input, 400) must hold.

Nothing else decides whether an action is allowed: ``actions.apply_action`` reads this table,
evaluates every guard and check it names before any effect runs, and answers 403, 409 or 400.
Also here: the domain's small vocabularies (priorities, channels) and its one text limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cityloop.base.statemachine import Transition, TransitionTable
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


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"


class Channel(StrEnum):
    APP = "app"
    HOTLINE = "hotline"
    INSPECTOR = "inspector"
    STAFF = "staff"  # filed by city staff in the console
    OPEN311 = "open311"
    SYSTEM = "system"  # sensors and other machines inside the platform


# The longest description or note (Open311's limit for description).
MAX_TEXT = 4000


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
class CaseTransition(Transition[Status]):
    roles: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()  # note, department, resolution, merge_into
    guards: tuple[str, ...] = ()  # named conditions on the case (409 when one fails)
    checks: tuple[str, ...] = ()  # named conditions on the input (400 naming the field)
    note_public: bool = False  # whether the staff note is shown to citizens by default
    public_reason: bool = False  # the note IS the public reason: it cannot be made internal
    counts_as_rework: bool = False
    # Whether the row's status line is for citizens too; an internal line (who in the department
    # works on the case) is shown to staff only.
    public_line: bool = True


def _t(
    action: str,
    sources: set[Status],
    target: Status | None,
    roles: frozenset[str],
    **kw: object,
) -> CaseTransition:
    return CaseTransition(action, frozenset(sources), target, roles, **kw)  # type: ignore[arg-type]


CASE_WORKFLOW = TransitionTable(
    "case",
    [
        _t("register", {S.SUBMITTED}, S.REGISTERED, CENTRE),
        _t("reject", {S.SUBMITTED, S.REGISTERED}, S.REJECTED, CENTRE, needs=frozenset({"note"}), note_public=True, public_reason=True),
        _t("merge", {S.SUBMITTED, S.REGISTERED}, S.MERGED, CENTRE, needs=frozenset({"merge_into"}), checks=("merge_target",), guards=("merge_target_open",)),
        _t("dispatch", {S.REGISTERED}, S.DISPATCHED, CENTRE, needs=frozenset({"department"}), checks=("known_department",)),
        _t("start", {S.DISPATCHED}, S.IN_PROGRESS, DEPARTMENT | {Role.ADMIN}),
        _t("resolve", {S.IN_PROGRESS}, S.RESOLVED, DEPARTMENT | {Role.ADMIN}, needs=frozenset({"note"}), checks=("known_resolution", "proof_for_fixed"), note_public=True),
        _t("verify", {S.RESOLVED}, S.CLOSED, VERIFIERS, needs=frozenset({"resolution"}), checks=("complete_resolution",), note_public=True),
        _t("reopen", {S.RESOLVED, S.CLOSED}, S.DISPATCHED, VERIFIERS, needs=frozenset({"note"}), guards=("dispute_if_closed",), note_public=True, counts_as_rework=True),
        _t("uphold", {S.CLOSED}, None, VERIFIERS, needs=frozenset({"note"}), guards=("open_dispute",), note_public=True, public_reason=True),
        _t("reassign", {S.DISPATCHED, S.IN_PROGRESS}, S.DISPATCHED, CENTRE | {Role.HANDLER}, needs=frozenset({"department"}), guards=("other_department",), checks=("known_department",)),
        _t("assign", {S.DISPATCHED, S.IN_PROGRESS}, None, CENTRE | {Role.HANDLER}, needs=frozenset({"assignee"}), guards=("other_assignee",), checks=("known_assignee",), public_line=False),
        _t("unassign", {S.DISPATCHED, S.IN_PROGRESS}, None, CENTRE | {Role.HANDLER}, guards=("assigned",), public_line=False),
        _t("escalate", {S.DISPATCHED, S.IN_PROGRESS}, None, ALL_STAFF - {Role.HOTLINE, Role.INSPECTOR}),
        _t("comment", set(Status), None, ALL_STAFF, needs=frozenset({"note"})),
        _t("publish", set(Status) - TERMINAL, None, VERIFIERS, guards=("content_held",)),
    ],
)  # fmt: skip
# Every case action has one row, so the table reads by action too.
TRANSITIONS: dict[str, CaseTransition] = {row.action: row for row in CASE_WORKFLOW.rows}

# Department roles act only on their own department's cases.
DEPARTMENT_SCOPED = DEPARTMENT


def allowed_actions(status: str, role: str) -> list[str]:
    """Actions the table allows for this state and role (guards are checked separately)."""
    return [a for a in CASE_WORKFLOW.actions_from(status) if role in TRANSITIONS[a].roles]


def is_open_to_join(status: str) -> bool:
    """Whether a new report may still join (support) a case in this state."""
    return Status(status) in OPEN_STATES
