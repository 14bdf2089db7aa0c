"""Signing in: throttled per account name and per client address, and audited.

Three short transactions rather than one: the attempt is counted (or refused) first, the
password is checked outside any transaction (argon2 takes tens of milliseconds, and SQLite's
single writer must not wait on it), then the outcome is written.
"""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import passwords, service, throttle
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import ANONYMOUS

# One answer for every wrong name, wrong password and deactivated account.
INVALID_CREDENTIALS = Message("identity.invalid_credentials")


def throttled(retry_after: int) -> Problem:
    """The 429 for a sign-in refused while its account name or address is locked."""
    return Problem(
        429,
        "login-throttled",
        Message("identity.login_throttled", {"seconds": str(retry_after)}),
        headers={"Retry-After": str(retry_after)},
        extra={"retry_after": retry_after},
    )


def log_in(ctx: AppContext, *, username: str, password: str, client: str) -> User:
    """The account these credentials open; 429 while throttled, else one 401 for any mistake."""
    name = service.normalize_username(username)
    policy = throttle.LoginPolicy.from_settings(ctx.settings)
    target = f"user:{name}"
    with ctx.writing() as session:
        retry_after = throttle.reserve_attempt(session, policy=policy, account=name, client=client)
        if retry_after is not None:
            detail = {"client": client, "retry_after": retry_after}
            service.audit(
                session, actor=ANONYMOUS, action="auth.throttled", target=target, detail=detail
            )
    if retry_after is not None:
        raise throttled(retry_after)

    with ctx.reading() as session:
        user = service.find_user(session, username=name)
    # Unknown names are checked against a dummy hash: the same work, the same answer.
    matched = passwords.verify_password(user.password_hash if user else None, password)

    with ctx.writing() as session:
        if user is not None and matched and user.active:
            throttle.record_success(session, policy=policy, account=name, client=client)
            if user.role != Role.CITIZEN:
                service.audit(
                    session,
                    actor=service.actor_for(user),
                    action="login",
                    target="",
                    detail={"client": client},
                )
            return user
        reason = "unknown-account" if user is None else "wrong-password"
        if user is not None and matched:
            reason = "deactivated"
        service.audit(
            session,
            actor=ANONYMOUS,
            action="auth.failed",
            target=target,
            detail={"client": client, "reason": reason},
        )
    raise Problem(401, "invalid-credentials", INVALID_CREDENTIALS)
