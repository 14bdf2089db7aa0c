"""Login, accounts, departments and the audit trail over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request

from cityloop.base.context import AppContext, get_context
from cityloop.base.ratelimit import client_key
from cityloop.platforms.application.identity import service
from cityloop.platforms.application.identity.deps import account_holder, pending_step
from cityloop.platforms.application.identity.login import log_in
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.policy import PasswordPolicy
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.schemas import (
    AccountSettings,
    CitizenSignup,
    DepartmentOut,
    TokenOut,
    UserOut,
)

router = APIRouter(prefix="/api/v1", tags=["identity"])
Ctx = Annotated[AppContext, Depends(get_context)]
UsernamePath = Annotated[str, Path(min_length=1, max_length=80)]


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={
        401: {
            "description": "wrong username or password (or code); or, type "
            "second-factor-required, the account's code is needed (send totp_code)"
        },
        429: {"description": "too many failed attempts on this name or from this address"},
    },
)
def login(
    ctx: Ctx,
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    totp_code: Annotated[str | None, Form(max_length=20)] = None,
) -> TokenOut:
    """Sign in with username and password (and, for an account with a second factor, the code
    from its app or a recovery code) for a bearer token; anyone, with failed attempts rate-
    limited."""
    # A plain (sync) route on purpose: it runs in the threadpool, so waiting for an argon2 slot
    # blocks a worker thread, never the event loop.
    user = log_in(
        ctx, username=username, password=password, client=client_key(request), totp_code=totp_code
    )
    minutes = ctx.settings.access_token_minutes
    token = service.issue_token(user, ctx.settings.resolved_secret_key, minutes)
    return TokenOut(
        access_token=token,
        expires_in=minutes * 60,
        user=UserOut.model_validate(user),
        pending=pending_step(user, ctx.settings),
    )


@router.patch("/me", response_model=UserOut)
def update_me(
    ctx: Ctx,
    body: AccountSettings,
    user: Annotated[User, Depends(account_holder)],
) -> User:
    """Change the signed-in account's own settings (its language; null follows the browser);
    any signed-in account, for itself."""
    with ctx.writing() as session:
        return service.set_locale(session, user_id=user.id, locale=body.locale)


@router.post("/citizens", response_model=UserOut, status_code=201)
def sign_up(ctx: Ctx, request: Request, body: CitizenSignup) -> User:
    """Create a citizen account; open to anyone, rate-limited per client. The password must
    keep the password policy."""
    # Sign-ups share the public intake limit, so one client cannot mint accounts in bulk.
    ctx.rate_limiter.check("signup:" + client_key(request))
    PasswordPolicy.from_settings(ctx.settings).check(
        password=body.password, username=service.normalize_username(body.username)
    )
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


@router.get("/departments", response_model=list[DepartmentOut])
def departments(ctx: Ctx) -> list[DepartmentOut]:
    """Every department of the city; for anyone."""
    with ctx.reading() as session:
        return [DepartmentOut.model_validate(d) for d in service.list_departments(session)]
