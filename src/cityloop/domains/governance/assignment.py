"""Who in a department works on a case: the workflow's ``assign`` and ``unassign`` (which move
no state), and what a worker's "my work" and a handler's workload view read from that.

The guards, checks and effects here are named by the workflow table and called by
``actions.apply_action``; crews and workers themselves are identity's (``identity.crews``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, forbidden
from cityloop.domains.governance import events
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.queries import SORTS
from cityloop.domains.governance.workflow import DEPARTMENT_SCOPED, OPEN_STATES
from cityloop.platforms.application.identity import crews
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES, Role
from cityloop.platforms.application.identity.service import Actor

if TYPE_CHECKING:
    from cityloop.domains.governance.actions import Step


def is_assigned(step: Step) -> Message | None:
    """Guard of ``unassign``: the case has an assignee."""
    case = step.case
    if case.assignee_user_id is None and case.assignee_crew_id is None:
        return Message("governance.not_assigned")
    return None


def other_assignee(step: Step) -> Message | None:
    """Guard of ``assign``: the named worker or crew is not the one the case already has."""
    case, data = step.case, step.data
    same_worker = (
        data.assignee_user_id is not None and data.assignee_user_id == case.assignee_user_id
    )
    same_crew = data.assignee_crew_id is not None and data.assignee_crew_id == case.assignee_crew_id
    return Message("governance.already_assigned_there") if same_worker or same_crew else None


def known_assignee(step: Step) -> Problem | None:
    """Check of ``assign``: an active worker or crew of the case's own department (else 400)."""
    # Only the case's own department's active workers and crews; anything else reads as a bad
    # id, whether it does not exist or belongs elsewhere.
    data, department = step.data, step.case.department_code
    try:
        if data.assignee_user_id is not None:
            crews.require_worker(
                step.session,
                user_id=data.assignee_user_id,
                department_code=department,
                field="assignee_user_id",
            )
        else:
            crews.require_crew(
                step.session,
                crew_id=data.assignee_crew_id or 0,
                department_code=department,
                field="assignee_crew_id",
            )
    except Problem as problem:
        return problem
    return None


def set_assignee(step: Step, user_id: int | None, crew_id: int | None) -> None:
    """Give the case this assignee (or none) and tell the platform (``CaseAssigned``)."""
    case = step.case
    case.assignee_user_id, case.assignee_crew_id = user_id, crew_id
    emit(
        step.session,
        events.CaseAssigned(
            case_id=case.id,
            department=case.department_code,
            assignee_user_id=user_id,
            assignee_crew_id=crew_id,
            by=step.actor.username,
        ),
    )


def worker_names(worker: User) -> dict[str, str]:
    """A worker's name for a timeline line, and its Chinese form when they have one."""
    name = worker.display_name or worker.username
    return {"worker": name, "worker_zh": worker.display_name_zh or name}


def assign(step: Step) -> Message:
    """Effect of ``assign``: the case goes to the worker or crew; the line names them."""
    data, session = step.data, step.session
    set_assignee(step, data.assignee_user_id, data.assignee_crew_id)
    if data.assignee_user_id is not None:
        worker = identity.get_user(session, user_id=data.assignee_user_id)
        return Message("worker_assigned", worker_names(worker))
    crew = crews.get_crew(session, crew_id=data.assignee_crew_id or 0)
    return Message("crew_assigned", {"crew": crew.name})


def unassign(step: Step) -> Message:
    """Effect of ``unassign``: nobody in the department holds the case any more."""
    set_assignee(step, None, None)
    return Message("assignment_withdrawn")


# ---------------------------------------------------------------- my work and the workload

WorkGroup = Literal["mine", "crew", "department"]
OPEN = [s.value for s in OPEN_STATES]
MY_WORK_LIMIT = 500


def my_work(session: Session, *, actor: Actor) -> list[tuple[WorkGroup, Case]]:
    """The department's open cases for one of its staff: their own first, then their crews',
    then the rest, each group soonest deadline first."""
    if actor.role not in DEPARTMENT_SCOPED or actor.user_id is None:
        raise forbidden(Message("governance.my_work_roles"))
    crew_ids = crews.crew_ids_of(session, user_id=actor.user_id)
    rank = when(
        (Case.assignee_user_id == actor.user_id, 0),
        (Case.assignee_crew_id.in_(crew_ids or [-1]), 1),
        else_=2,
    )
    rows = session.execute(
        select(Case, rank)
        .where(Case.department_code == actor.department_code, Case.status.in_(OPEN))
        .order_by(rank, *SORTS["deadline"])
        .limit(MY_WORK_LIMIT)
    ).all()
    groups: tuple[WorkGroup, ...] = ("mine", "crew", "department")
    return [(groups[position], found) for found, position in rows]


@dataclass(frozen=True)
class Load:
    """Open and overdue cases held by one crew, one worker, or nobody (``id`` None)."""

    id: int | None
    name: str
    open: int
    overdue: int
    active: bool = True
    name_zh: str = ""


@dataclass(frozen=True)
class Workload:
    department: str
    crews: list[Load]
    workers: list[Load]
    unassigned: Load


def workload(session: Session, *, actor: Actor, department_code: str | None) -> Workload:
    """Open and overdue cases per crew and per worker of one department, and those unassigned;
    for city-wide staff and the department's handlers."""
    if actor.role == Role.HANDLER:
        department_code = department_code or actor.department_code
        if department_code != actor.department_code:
            raise forbidden(Message("governance.own_workload_only"))
    elif actor.role not in CITY_WIDE_ROLES:
        raise forbidden(Message("governance.workload_roles"))
    if not department_code:
        raise bad_request(Message("governance.name_the_department"), field="department")
    identity.require_department(session, code=department_code)
    overdue = func.sum(when((Case.overdue.is_(True), 1), else_=0))
    in_hand = (Case.department_code == department_code, Case.status.in_(OPEN))

    def counted(column: object) -> dict[int | None, tuple[int, int]]:
        rows = session.execute(
            select(column, func.count(), overdue).where(*in_hand).group_by(column)  # type: ignore[arg-type]
        )
        return {key: (int(n), int(late or 0)) for key, n, late in rows}

    by_crew = counted(Case.assignee_crew_id)
    by_worker = counted(Case.assignee_user_id)
    nobody = session.execute(
        select(func.count(), overdue).where(
            *in_hand, Case.assignee_crew_id.is_(None), Case.assignee_user_id.is_(None)
        )
    ).one()
    crew_rows = [
        Load(c.id, c.name, *by_crew.get(c.id, (0, 0)), active=c.active)
        for c in crews.list_crews(session, actor=actor, department_code=department_code)
        if c.active or c.id in by_crew
    ]
    worker_rows = [
        Load(
            u.id,
            u.display_name or u.username,
            *by_worker.get(u.id, (0, 0)),
            name_zh=u.display_name_zh,
        )
        for u in crews.department_workers(session, department_code=department_code)
    ]
    return Workload(
        department=department_code,
        crews=crew_rows,
        workers=worker_rows,
        unassigned=Load(None, "", int(nobody[0]), int(nobody[1] or 0)),
    )
