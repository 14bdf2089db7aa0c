"""Login, accounts, departments and the audit trail over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request

from cityloop.base.context import AppContext, get_context
from cityloop.base.ratelimit import client_key
from cityloop.platforms.application.identity import service
from cityloop.platforms.application.identity.deps import current_staff, require_roles
from cityloop.platforms.application.identity.login import log_in
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.schemas import (
    AccountSettings,
    AuditOut,
    CitizenSignup,
    DepartmentOut,
    TokenOut,
    UserCreate,
    UserOut,
)
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1", tags=["identity"])
Ctx = Annotated[AppContext, Depends(get_context)]
UsernamePath = Annotated[str, Path(min_length=1, max_length=80)]


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failed attempts on this name or from this address"},
    },
)
def login(
    ctx: Ctx,
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenOut:
    """Sign in with username and password for a bearer token; anyone, with failed attempts rate-
    limited."""
    # A plain (sync) route on purpose: it runs in the threadpool, so waiting for an argon2 slot
    # blocks a worker thread, never the event loop.
    user = log_in(ctx, username=username, password=password, client=client_key(request))
    minutes = ctx.settings.access_token_minutes
    token = service.issue_token(user, ctx.settings.resolved_secret_key, minutes)
    return TokenOut(access_token=token, expires_in=minutes * 60, user=UserOut.model_validate(user))


@router.get("/me", response_model=UserOut)
def me(user: Annotated[User, Depends(current_staff(allow_citizen=True))]) -> User:
    """The signed-in account, citizen or staff."""
    return user


@router.patch("/me", response_model=UserOut)
def update_me(
    ctx: Ctx,
    body: AccountSettings,
    user: Annotated[User, Depends(current_staff(allow_citizen=True))],
) -> User:
    """Change the signed-in account's own settings (its language; null follows the browser);
    any signed-in account, for itself."""
    with ctx.writing() as session:
        return service.set_locale(session, user_id=user.id, locale=body.locale)


@router.post("/citizens", response_model=UserOut, status_code=201)
def sign_up(ctx: Ctx, request: Request, body: CitizenSignup) -> User:
    """Create a citizen account; open to anyone, rate-limited per client."""
    # Sign-ups share the public intake limit, so one client cannot mint accounts in bulk.
    ctx.rate_limiter.check("signup:" + client_key(request))
    with ctx.writing() as session:
        return service.create_user(
            session,
            username=body.username,
            password=body.password,
            role=Role.CITIZEN,
            display_name=body.display_name,
            email=body.email,
            phone=body.phone,
        )


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(
    ctx: Ctx, body: UserCreate, actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))]
) -> User:
    """Create an account of any role, staff included; admins only, and audited."""
    with ctx.writing() as session:
        user = service.create_user(
            session,
            username=body.username,
            password=body.password,
            role=body.role,
            department_code=body.department_code,
            display_name=body.display_name,
            email=body.email,
        )
        service.audit(
            session,
            actor=actor,
            action="user.create",
            target=f"user:{user.username}",
            detail={"role": user.role},
        )
        return user


@router.post("/users/{username}/deactivate", response_model=UserOut)
def deactivate_user(
    ctx: Ctx, username: UsernamePath, actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))]
) -> User:
    """The account can no longer sign in, and its tokens (and live feeds) stop working."""
    with ctx.writing() as session:
        return service.set_user_active(session, username=username, active=False, actor=actor)


@router.post("/users/{username}/activate", response_model=UserOut)
def activate_user(
    ctx: Ctx, username: UsernamePath, actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))]
) -> User:
    """A deactivated account may sign in again."""
    with ctx.writing() as session:
        return service.set_user_active(session, username=username, active=True, actor=actor)


@router.get("/departments", response_model=list[DepartmentOut])
def departments(ctx: Ctx) -> list[DepartmentOut]:
    """Every department of the city; for anyone."""
    with ctx.reading() as session:
        return [DepartmentOut.model_validate(d) for d in service.list_departments(session)]


@router.get("/audit", response_model=list[AuditOut])
def audit_trail(
    ctx: Ctx,
    _actor: Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))],
    target: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    """The audit trail, newest first, optionally for one target; admins and supervisors only."""
    with ctx.reading() as session:
        return [
            AuditOut.model_validate(a)
            for a in service.audit_trail(session, target=target, limit=limit)
        ]
