"""Departments as configuration, and the version history of any configuration object; admins
only. (Governance's configuration routes live in its own package.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import iso
from cityloop.platforms.application.identity import departments, versions
from cityloop.platforms.application.identity.config_schemas import (
    AdminDepartment,
    ConfigVersionOut,
    DepartmentCreate,
    DepartmentEdit,
    VersionIn,
)
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1/admin", tags=["configuration"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
IfMatch = Annotated[str | None, Header(description="the version edited, instead of `version`")]
CodePath = Annotated[str, Path(min_length=1, max_length=40)]


def department_out(department: Department) -> AdminDepartment:
    return AdminDepartment(
        code=department.code,
        name=department.name,
        name_zh=department.name_zh,
        kind=department.kind,
        active=department.active,
        version=department.version,
    )


@router.get("/departments")
def list_departments(ctx: Ctx, _admin: Admin) -> list[AdminDepartment]:
    """Every department, active or not, with its version; admins only."""
    with ctx.reading() as session:
        return [department_out(d) for d in departments.list_all(session)]


@router.post("/departments", status_code=201)
def add_department(ctx: Ctx, actor: Admin, body: DepartmentCreate) -> AdminDepartment:
    """Add a department with its English and Chinese names (version 1, audited); admins only."""
    with ctx.writing() as session:
        return department_out(
            departments.add(
                session,
                code=body.code,
                name=body.name,
                name_zh=body.name_zh,
                kind=body.kind,
                actor=actor,
            )
        )


@router.put("/departments/{code}")
def edit_department(
    ctx: Ctx,
    actor: Admin,
    code: CodePath,
    body: DepartmentEdit,
    if_match: IfMatch = None,
) -> AdminDepartment:
    """Rename a department on the version the admin saw (409 when stale; audited); admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        return department_out(
            departments.rename(
                session,
                code=code,
                version=version,
                name=body.name,
                name_zh=body.name_zh,
                kind=body.kind,
                actor=actor,
            )
        )


@router.post("/departments/{code}/deactivate")
def deactivate_department(
    ctx: Ctx, actor: Admin, code: CodePath, body: VersionIn, if_match: IfMatch = None
) -> AdminDepartment:
    """Deactivate a department; refused (409, naming them) while routing rules, categories, open
    cases or active accounts still point at it. Admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        return department_out(
            departments.set_active(session, code=code, version=version, active=False, actor=actor)
        )


@router.post("/departments/{code}/activate")
def activate_department(
    ctx: Ctx, actor: Admin, code: CodePath, body: VersionIn, if_match: IfMatch = None
) -> AdminDepartment:
    """Bring a deactivated department back (versioned, audited); admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        return department_out(
            departments.set_active(session, code=code, version=version, active=True, actor=actor)
        )


@router.get("/history/{kind}/{key}")
def object_history(
    ctx: Ctx,
    _admin: Admin,
    kind: Annotated[str, Path(pattern=r"^[a-z][a-z-]{0,39}$")],
    key: Annotated[str, Path(min_length=1, max_length=120)],
) -> list[ConfigVersionOut]:
    """The versions of one configuration object (department, category, routing-rule, calendar),
    newest first: who changed which fields when, and the whole state each left; admins only."""
    with ctx.reading() as session:
        return [
            ConfigVersionOut(
                kind=v.kind,
                key=v.key,
                version=v.version,
                action=v.action,
                at=iso(v.at) or "",
                actor=v.actor,
                actor_role=v.actor_role,
                changes=list(v.changes),
                state=dict(v.state),
            )
            for v in versions.history(session, kind=kind, key=key)
        ]
