"""Crews over HTTP: a department's teams of field workers, and the department's workers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import forbidden
from cityloop.platforms.application.identity import crews, service
from cityloop.platforms.application.identity.deps import staff_actor
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import Crew
from cityloop.platforms.application.identity.schemas import (
    CrewCreate,
    CrewMemberAdd,
    CrewMemberOut,
    CrewOut,
    CrewRename,
    UserOut,
)
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["crews"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
CrewId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Username = Annotated[str, Path(min_length=1, max_length=80)]
DepartmentCode = Annotated[str, Path(min_length=1, max_length=40)]


def _crews_out(session: Session, found: list[Crew]) -> list[CrewOut]:
    members = crews.members_of(session, crew_ids=[c.id for c in found])
    return [
        CrewOut(
            id=crew.id,
            department_code=crew.department_code,
            name=crew.name,
            active=crew.active,
            created_at=crew.created_at,
            members=[CrewMemberOut.model_validate(u) for u in members.get(crew.id, [])],
        )
        for crew in found
    ]


def _crew_write(ctx: AppContext, change: Callable[[Session], Crew]) -> CrewOut:
    """Change a crew in a unit of the group commit; answer the crew as the change left it."""

    def write(session: Session) -> CrewOut:
        return _crews_out(session, [change(session)])[0]

    return ctx.write_grouped(write)


@router.get("/crews")
def list_crews(
    ctx: Ctx,
    actor: Staff,
    department: Annotated[str | None, Query(max_length=40)] = None,
) -> list[CrewOut]:
    """The crews with their members, by department and name; city-wide staff see any
    department's, handlers and workers only their own."""
    with ctx.reading() as session:
        return _crews_out(
            session, crews.list_crews(session, actor=actor, department_code=department)
        )


@router.post("/crews", status_code=201)
def create_crew(ctx: Ctx, actor: Staff, body: CrewCreate) -> CrewOut:
    """Add a crew to a department; an admin, or the department's handler. Audited."""
    return _crew_write(
        ctx,
        partial(
            crews.create_crew, actor=actor, department_code=body.department_code, name=body.name
        ),
    )


@router.patch("/crews/{crew_id}")
def rename_crew(ctx: Ctx, actor: Staff, crew_id: CrewId, body: CrewRename) -> CrewOut:
    """Rename a crew; an admin, or the department's handler. Audited."""
    return _crew_write(
        ctx, partial(crews.rename_crew, actor=actor, crew_id=crew_id, name=body.name)
    )


@router.post("/crews/{crew_id}/members")
def add_crew_member(ctx: Ctx, actor: Staff, crew_id: CrewId, body: CrewMemberAdd) -> CrewOut:
    """Put one of the department's field workers in the crew; an admin, or the department's
    handler. Audited."""
    return _crew_write(
        ctx, partial(crews.add_member, actor=actor, crew_id=crew_id, username=body.username)
    )


@router.delete("/crews/{crew_id}/members/{username}")
def remove_crew_member(ctx: Ctx, actor: Staff, crew_id: CrewId, username: Username) -> CrewOut:
    """Take a worker out of the crew; an admin, or the department's handler. Audited."""
    return _crew_write(
        ctx, partial(crews.remove_member, actor=actor, crew_id=crew_id, username=username)
    )


@router.post("/crews/{crew_id}/deactivate")
def deactivate_crew(ctx: Ctx, actor: Staff, crew_id: CrewId) -> CrewOut:
    """The crew takes no new work (its members and past cases stay); an admin, or the
    department's handler. Audited."""
    return _crew_write(
        ctx, partial(crews.set_crew_active, actor=actor, crew_id=crew_id, active=False)
    )


@router.post("/crews/{crew_id}/activate")
def activate_crew(ctx: Ctx, actor: Staff, crew_id: CrewId) -> CrewOut:
    """A deactivated crew may take work again; an admin, or the department's handler. Audited."""
    return _crew_write(
        ctx, partial(crews.set_crew_active, actor=actor, crew_id=crew_id, active=True)
    )


@router.get("/departments/{code}/workers")
def department_workers(ctx: Ctx, actor: Staff, code: DepartmentCode) -> list[UserOut]:
    """The department's active field workers, who may be assigned its cases; city-wide staff,
    and the department's own handlers and workers."""
    with ctx.reading() as session:
        service.require_department(session, code=code, field="code")
        if not crews.may_read(actor, code):
            raise forbidden(Message("identity.own_department_workers"))
        return [
            UserOut.model_validate(u)
            for u in crews.department_workers(session, department_code=code)
        ]
