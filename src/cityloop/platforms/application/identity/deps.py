"""Request dependencies that turn a bearer token into a user or an actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from cityloop.base.context import context_of
from cityloop.base.locale import use_account_locale
from cityloop.base.problems import Problem, forbidden
from cityloop.platforms.application.identity import service, totp
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.schemas import Pending
from cityloop.platforms.application.identity.service import Actor
from cityloop.settings import Settings

# Declared on the routes that need a signed-in account, so the OpenAPI document says which do;
# the token itself is read (and refused with our own problem answer) by the functions below.
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A token from POST /api/v1/auth/token (username and password).",
    auto_error=False,
)
Declared = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
# An API key (``cityloop apikey create``) in its own header, as NGSI-LD clients and IoT Agents
# send it; declared the same way, for the routes that take one.
API_KEY = APIKeyHeader(
    name="X-Api-Key",
    scheme_name="apiKey",
    description="An API key from `cityloop apikey create` (NGSI-LD writes, partner clients).",
    auto_error=False,
)
DeclaredApiKey = Annotated[str | None, Security(API_KEY)]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if the request has one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def pending_step(user: User, settings: Settings) -> Pending | None:
    """What the account must do before anything else, if anything: change its temporary
    password, or enrol the second factor its role requires."""
    if user.must_change_password:
        return "password-change"
    if user.role in totp.required_roles(settings) and not totp.enabled(user):
        return "totp-enrolment"
    return None


def optional_user(request: Request, allow_pending: bool = False) -> User | None:
    """The user behind the request's bearer token, or None without one; 401 for a bad token,
    403 while the account has a step to take first (unless ``allow_pending``)."""
    token = bearer_token(request)
    if token is None:
        return None
    # Looked up once per request: the reader's language (base/locale.py) asks for it too.
    user: User | None = getattr(request.state, "account", None)
    ctx = context_of(request)
    if user is None:
        with ctx.reading() as session:
            user = service.user_from_token(
                session, token=token, secret=ctx.settings.resolved_secret_key, allow_pending=True
            )
        request.state.account = user
        request.state.account_locale = user.locale
    pending = pending_step(user, ctx.settings)
    if pending is not None and not allow_pending:
        raise Problem(
            403,
            f"{pending}-required",
            Message(
                "identity.password_change_first"
                if pending == "password-change"
                else "identity.totp_enrolment_first"
            ),
            extra={"pending": pending},
        )
    return user


def account_holder(request: Request, declared: Declared = None) -> User:
    """The signed-in account, citizen or staff, even one with a step to take first: for the
    routes that take that step (``/me``, ``/me/password``, ``/me/totp``)."""
    user = optional_user(request, allow_pending=True)
    if user is None:
        raise _unauthenticated()
    return user


def account_locale(request: Request) -> str | None:
    """The language setting of the request's account (base/locale.py asks); None without one,
    or when the token is bad (its own 401 says so)."""
    if not hasattr(request.state, "account_locale"):
        try:
            optional_user(request, allow_pending=True)
        except Problem:
            request.state.account_locale = None
    locale = getattr(request.state, "account_locale", None)
    return str(locale) if locale else None


use_account_locale(account_locale)


def _unauthenticated() -> Problem:
    return Problem(
        401,
        "unauthorized",
        Message("identity.sign_in_first"),
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_staff(allow_citizen: bool = False) -> Callable[[Request], User]:
    """A dependency for the signed-in user: staff only, unless ``allow_citizen``."""

    def dependency(request: Request, declared: Declared = None) -> User:
        user = optional_user(request)
        if user is None:
            raise _unauthenticated()
        if user.role == Role.CITIZEN and not allow_citizen:
            raise forbidden(Message("identity.staff_only"))
        return user

    return dependency


def require_roles(*roles: str) -> Callable[[Request], Actor]:
    """A dependency for the actor, who must have one of these roles."""

    def dependency(request: Request, declared: Declared = None) -> Actor:
        user = optional_user(request)
        if user is None:
            raise _unauthenticated()
        if user.role not in roles:
            raise forbidden(
                Message(
                    "identity.role_not_allowed",
                    {"role": user.role, "roles": ", ".join(sorted(roles))},
                )
            )
        return service.actor_for(user)

    return dependency


def staff_actor(request: Request, declared: Declared = None) -> Actor:
    """The signed-in staff member as an actor; 401 or 403 otherwise."""
    user = current_staff()(request)
    return service.actor_for(user)
