"""Signing in: throttled per account name and per client address, and audited.

Three short transactions rather than one: the attempt is counted (or refused) first, the
password is checked outside any transaction (argon2 takes tens of milliseconds, and SQLite's
single writer must not wait on it), then the outcome is written.
"""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import passwords, service, throttle, totp
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import ANONYMOUS

# One answer for every wrong name, wrong password and deactivated account.
INVALID_CREDENTIALS = Message("identity.invalid_credentials")
WRONG_WITH_CODE = Message("identity.invalid_credentials_or_code")


def throttled(retry_after: int) -> Problem:
    """The 429 for a sign-in refused while its account name or address is locked."""
    return Problem(
        429,
        "login-throttled",
        Message("identity.login_throttled", {"seconds": str(retry_after)}),
        headers={"Retry-After": str(retry_after)},
        extra={"retry_after": retry_after},
    )


def second_factor_required() -> Problem:
    """The 401 asking for the code: the same whether the password was right or not."""
    return Problem(
        401,
        "second-factor-required",
        Message("identity.second_factor_required"),
        field="totp_code",
        extra={"second_factor": "totp"},
    )


def log_in(
    ctx: AppContext, *, username: str, password: str, client: str, totp_code: str | None = None
) -> User:
    """The account these credentials open; 429 while throttled, 401 asking for the second
    factor of an account that has one, else one 401 for any mistake."""
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
    # An account with a second factor is asked for its code whether or not the password was
    # right (the answer must not tell), and the attempt stays counted either way: a guess
    # without a code costs the guesser as much as one with a wrong code.
    two_step = user is not None and user.active and totp.enabled(user)
    code = (totp_code or "").strip()

    with ctx.writing() as session:
        if two_step and not code:
            service.audit(
                session,
                actor=ANONYMOUS,
                action="auth.second_factor_asked",
                target=target,
                detail={"client": client, "password_ok": matched},
            )
        else:
            method = None
            if user is not None and matched and user.active and two_step:
                # Re-read and lock the row in this transaction: the code's step is written with
                # the success, and a second sign-in racing with the same code waits, then sees
                # the step used.
                fresh = session.get(User, user.id, with_for_update=True)
                key = ctx.settings.resolved_secret_key
                if fresh is not None:
                    method = totp.check_second_factor(session, user=fresh, code=code, key=key)
            if user is not None and matched and user.active and (method or not two_step):
                throttle.record_success(session, policy=policy, account=name, client=client)
                if user.role != Role.CITIZEN:
                    detail = {"client": client, **({"second_factor": method} if method else {})}
                    service.audit(
                        session,
                        actor=service.actor_for(user),
                        action="login",
                        target="",
                        detail=detail,
                    )
                return user
            reason = "unknown-account" if user is None else "wrong-password"
            if user is not None and matched:
                reason = "wrong-code" if user.active else "deactivated"
            service.audit(
                session,
                actor=ANONYMOUS,
                action="auth.failed",
                target=target,
                detail={"client": client, "reason": reason},
            )
    if two_step and not code:
        raise second_factor_required()
    raise Problem(401, "invalid-credentials", WRONG_WITH_CODE if two_step else INVALID_CREDENTIALS)
