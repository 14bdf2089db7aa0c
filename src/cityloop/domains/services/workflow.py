# ruff: noqa: E501  (the transition tables read best one row per line)
"""The application workflow as two tables: the application's own states, and the review steps
each department takes within it. Nothing else decides whether an action is allowed.

An application moves draft → submitted → under review → approved → issued (or not accepted,
denied, withdrawn). Under review it holds one step per department of the current stage; the
stages of a service run in sequence and the departments of a stage in parallel. A supplement
request (补正) pauses the whole application until the applicant answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cityloop.base.problems import forbidden
from cityloop.base.statemachine import Transition, TransitionTable
from cityloop.domains.services.messages import Message
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    SUPPLEMENT = "supplement_requested"
    APPROVED = "approved"
    ISSUED = "issued"
    DENIED = "denied"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"


class StepStatus(StrEnum):
    WAITING = "waiting"  # its stage has not started
    ACTIVE = "active"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"  # the application ended before this step decided


class Party(StrEnum):
    """Who takes an action: the applicant, the staff of the department concerned, or the
    platform itself (completing a stage, issuing the licence)."""

    APPLICANT = "applicant"
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"


S = Status
# The states in which the applicant still waits for the city.
IN_PROGRESS = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.SUPPLEMENT})
FINISHED = frozenset({S.APPROVED, S.ISSUED, S.DENIED, S.NOT_ACCEPTED})
ENDED = FINISHED | {S.WITHDRAWN}
# When a fee may be paid: from submission until the licence is issued.
PAYABLE = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.SUPPLEMENT, S.APPROVED})
# Staff roles that review in their own department; admins act in any.
DEPARTMENT_ROLES = frozenset({Role.HANDLER, Role.WORKER, Role.ADMIN})
SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
COUNTER_ROLES = frozenset({Role.CLERK, Role.HANDLER, Role.WORKER, Role.HOTLINE, Role.ADMIN})


@dataclass(frozen=True)
class ApplicationTransition(Transition[Status]):
    party: Party = Party.STAFF
    needs: frozenset[str] = frozenset()  # reason, legal_basis, items
    public: bool = True  # whether the applicant's timeline shows the row


def _a(
    action: str, sources: set[Status], target: Status | None, party: Party, **kw: object
) -> ApplicationTransition:
    return ApplicationTransition(action, frozenset(sources), target, party, **kw)  # type: ignore[arg-type]


APPLICATION_WORKFLOW = TransitionTable(
    "application",
    [
        _a("save", {S.DRAFT}, None, Party.APPLICANT, public=False),
        _a("submit", {S.DRAFT}, S.SUBMITTED, Party.APPLICANT),
        _a("accept", {S.SUBMITTED}, S.UNDER_REVIEW, Party.STAFF),
        _a("not_accept", {S.SUBMITTED}, S.NOT_ACCEPTED, Party.STAFF, needs=frozenset({"reason"})),
        _a("request_supplement", {S.UNDER_REVIEW}, S.SUPPLEMENT, Party.STAFF, needs=frozenset({"items"})),
        _a("answer_supplement", {S.SUPPLEMENT}, S.UNDER_REVIEW, Party.APPLICANT),
        _a("approve", {S.UNDER_REVIEW}, S.APPROVED, Party.SYSTEM),
        _a("deny", {S.UNDER_REVIEW}, S.DENIED, Party.SYSTEM, needs=frozenset({"reason", "legal_basis"})),
        _a("issue", {S.APPROVED}, S.ISSUED, Party.SYSTEM),
        _a("withdraw", {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.SUPPLEMENT}, S.WITHDRAWN, Party.APPLICANT),
        _a("record_fee", {S.SUBMITTED, S.UNDER_REVIEW, S.SUPPLEMENT, S.APPROVED}, None, Party.STAFF),
        _a("allow_supplement", {S.UNDER_REVIEW}, None, Party.SUPERVISOR, public=False),
        _a("rate", set(FINISHED), None, Party.APPLICANT, public=False),
        _a("revoke_licence", {S.ISSUED}, None, Party.STAFF),
        _a("overdue", {S.UNDER_REVIEW}, None, Party.SYSTEM, public=False),
    ],
)  # fmt: skip


@dataclass(frozen=True)
class StepTransition(Transition[StepStatus]):
    party: Party = Party.STAFF


def _s(
    action: str, sources: set[StepStatus], target: StepStatus | None, party: Party
) -> StepTransition:
    return StepTransition(action, frozenset(sources), target, party)


STEP_WORKFLOW = TransitionTable(
    "step",
    [
        _s("activate", {StepStatus.WAITING}, StepStatus.ACTIVE, Party.SYSTEM),
        _s("approve", {StepStatus.ACTIVE}, StepStatus.APPROVED, Party.STAFF),
        _s("deny", {StepStatus.ACTIVE}, StepStatus.DENIED, Party.STAFF),
        _s("request_supplement", {StepStatus.ACTIVE}, None, Party.STAFF),
        _s("cancel", {StepStatus.WAITING, StepStatus.ACTIVE}, StepStatus.CANCELLED, Party.SYSTEM),
    ],
)  # fmt: skip
# The step actions a department's staff take, each through POST …/steps/{id}/{action}.
STEP_DECISIONS = ("approve", "deny", "request_supplement")
DECIDED = frozenset({StepStatus.APPROVED, StepStatus.DENIED})


def require_department_staff(actor: Actor, department: str) -> None:
    """403 unless the actor is staff of ``department`` (or an admin) in a reviewing role."""
    if actor.role not in DEPARTMENT_ROLES:
        raise forbidden(
            Message("services.role_does_act_applications", {"actor_role": str(actor.role)})
        )
    if actor.role != Role.ADMIN and actor.department_code != department:
        raise forbidden(Message("services.only_s_staff_may", {"department": str(department)}))
