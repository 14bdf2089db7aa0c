"""Administration of accounts and the audit-log search over HTTP (admins; the audit log also
for supervisors)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity import accounts, auditlog, presenters, service, totp
from cityloop.platforms.application.identity.deps import require_roles, staff_actor
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.policy import PasswordPolicy
from cityloop.platforms.application.identity.roles import NEEDS_DEPARTMENT, STAFF_ROLES, Role
from cityloop.platforms.application.identity.schemas import (
    AuditOut,
    PasswordReset,
    PasswordResetOut,
    RoleOut,
    UserCreate,
    UserCreatedOut,
    UserDetailOut,
    UserPage,
    UserUpdate,
)
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["identity"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
Auditor = Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
UsernamePath = Annotated[str, Path(min_length=1, max_length=80)]


@router.get("/roles", response_model=list[RoleOut])
def roles(_actor: Annotated[Actor, Depends(staff_actor)]) -> list[RoleOut]:
    """Every account role, whether it is staff and whether it belongs to a department; staff."""
    return [
        RoleOut(code=r.value, staff=r in STAFF_ROLES, needs_department=r in NEEDS_DEPARTMENT)
        for r in Role
    ]


@router.get("/users", response_model=UserPage)
def list_users(
    ctx: Ctx,
    _actor: Admin,
    role: Annotated[str | None, Query(max_length=20)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    district: Annotated[str | None, Query(max_length=40)] = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=80, description="part of a username or name")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> UserPage:
    """Accounts matching every filter given, by username, a page at a time; admins only."""
    with ctx.reading() as session:
        rows, total = accounts.search_users(
            session, role=role, department=department, district=district, active=active,
            text=q, limit=limit, offset=offset,
        )  # fmt: skip
        return UserPage(items=[presenters.summary(u) for u in rows], total=total)


def _user_write(ctx: AppContext, change: Callable[[Session], User]) -> UserDetailOut:
    """Change (or read, audited) an account in a unit of the group commit; answer it as it is
    then. Password changes stay off the writer: hashing one would stall every other writer."""

    def write(session: Session) -> UserDetailOut:
        return presenters.detail(session, change(session))

    return ctx.write_grouped(write)


@router.get("/users/{username}", response_model=UserDetailOut)
def user_detail(ctx: Ctx, username: UsernamePath, actor: Admin) -> UserDetailOut:
    """One account with its contact details; admins only, and the read is audited."""
    return _user_write(ctx, partial(accounts.read_user, username=username, actor=actor))


@router.post("/users", response_model=UserCreatedOut, status_code=201)
def create_user(ctx: Ctx, body: UserCreate, actor: Admin) -> UserCreatedOut:
    """Create an account of any role, with a temporary password (or a generated one, answered
    this once) its owner changes at the first sign-in; admins only, and audited."""
    with ctx.writing() as session:
        user, generated = accounts.create_staff_user(
            session,
            actor=actor,
            policy=PasswordPolicy.from_settings(ctx.settings),
            username=body.username,
            role=body.role,
            password=body.password,
            must_change_password=body.must_change_password,
            department_code=body.department_code,
            district_code=body.district_code,
            display_name=body.display_name,
            display_name_zh=body.display_name_zh,
            email=body.email,
            phone=body.phone,
        )
        shown = presenters.detail(session, user).model_dump()
        return UserCreatedOut(**shown, generated_password=generated)


@router.patch("/users/{username}", response_model=UserDetailOut)
def update_user(ctx: Ctx, username: UsernamePath, body: UserUpdate, actor: Admin) -> UserDetailOut:
    """Change an account's role, department, district scope, display name or contact; admins
    only, audited. An admin cannot take their own admin role, nor leave the city without one."""
    changes = body.model_dump(include=body.model_fields_set)
    return _user_write(
        ctx, partial(accounts.update_user, username=username, actor=actor, changes=changes)
    )


@router.post("/users/{username}/password-reset", response_model=PasswordResetOut)
def reset_password(
    ctx: Ctx, username: UsernamePath, body: PasswordReset, actor: Admin
) -> PasswordResetOut:
    """Give a staff account a temporary password (the one given, or a generated one answered
    this once) that must be changed at the next sign-in; admins only, audited."""
    with ctx.writing() as session:
        user, generated = accounts.reset_password(
            session,
            username=username,
            actor=actor,
            policy=PasswordPolicy.from_settings(ctx.settings),
            password=body.password,
        )
        return PasswordResetOut(user=presenters.detail(session, user), generated_password=generated)


@router.post("/users/{username}/totp-reset", response_model=UserDetailOut)
def reset_totp(ctx: Ctx, username: UsernamePath, actor: Admin) -> UserDetailOut:
    """Remove an account's second factor and recovery codes (a lost phone), so its owner enrols
    again; admins only, audited."""
    return _user_write(ctx, partial(totp.reset, username=username, actor=actor))


@router.post("/users/{username}/deactivate", response_model=UserDetailOut)
def deactivate_user(ctx: Ctx, username: UsernamePath, actor: Admin) -> UserDetailOut:
    """The account can no longer sign in, and its tokens (and live feeds) stop working; admins
    only, audited. Nobody deactivates their own account, nor the last active admin."""
    return _user_write(
        ctx, partial(service.set_user_active, username=username, active=False, actor=actor)
    )


@router.post("/users/{username}/activate", response_model=UserDetailOut)
def activate_user(ctx: Ctx, username: UsernamePath, actor: Admin) -> UserDetailOut:
    """A deactivated account may sign in again; admins only, audited."""
    return _user_write(
        ctx, partial(service.set_user_active, username=username, active=True, actor=actor)
    )


def _filter(
    actor: Annotated[str | None, Query(max_length=80, description="who acted (a username)")] = None,
    action: Annotated[
        str | None, Query(max_length=80, description="exact, or a prefix ending in *: user.*")
    ] = None,
    target: Annotated[
        str | None, Query(max_length=120, description="the object: user:ann, case:*")
    ] = None,
    since: Annotated[datetime | None, Query(alias="from", description="inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
) -> auditlog.AuditFilter:
    return auditlog.AuditFilter(actor, action, target, since, until)


Filter = Annotated[auditlog.AuditFilter, Depends(_filter)]


@router.get("/audit", response_model=list[AuditOut])
def audit_trail(
    ctx: Ctx,
    _actor: Auditor,
    where: Filter,
    before_id: Annotated[
        int | None, Query(ge=1, description="the next page: the last id of this one")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    """The audit trail, newest first, filtered by actor, action, target and time, a page at a
    time (the next page: ``before_id`` = the last id); admins and supervisors only."""
    with ctx.reading() as session:
        rows = auditlog.search(session, where=where, before_id=before_id, limit=limit)
        return [AuditOut.model_validate(a) for a in rows]


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "the entries as CSV",
        }
    },
)
def export_audit(ctx: Ctx, actor: Auditor, where: Filter) -> StreamingResponse:
    """Every entry the filters match, newest first, as CSV; admins and supervisors only. The
    export itself is audited."""
    where.conditions()  # a bad filter is a 400 before the answer starts
    ctx.write_grouped(
        partial(
            service.audit,
            actor=actor,
            action="audit.export",
            target="audit_log",
            detail={
                "actor": where.actor, "action": where.action, "target": where.target,
                "from": where.since.isoformat() if where.since else None,
                "to": where.until.isoformat() if where.until else None,
            },
        )
    )  # fmt: skip
    return StreamingResponse(
        auditlog.csv_lines(ctx, where=where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
