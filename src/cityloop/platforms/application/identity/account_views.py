"""My account over HTTP: who I am and what I must do first, my password, my second factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import Problem
from cityloop.base.ratelimit import client_key
from cityloop.platforms.application.identity import (
    accounts,
    passwords,
    positions,
    service,
    throttle,
    totp,
)
from cityloop.platforms.application.identity.deps import account_holder, pending_step, staff_actor
from cityloop.platforms.application.identity.login import throttled
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.policy import PasswordPolicy
from cityloop.platforms.application.identity.schemas import (
    AccountOut,
    CodeIn,
    PasswordChange,
    PositionIn,
    PositionOut,
    RecoveryCodesOut,
    TotpEnrolmentOut,
)

router = APIRouter(prefix="/api/v1", tags=["identity"])
Ctx = Annotated[AppContext, Depends(get_context)]
Holder = Annotated[User, Depends(account_holder)]


def _account(ctx: AppContext, user_id: int) -> AccountOut:
    with ctx.reading() as session:
        user = service.get_user(session, user_id=user_id)
        return AccountOut(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            display_name_zh=user.display_name_zh,
            role=user.role,
            department_code=user.department_code,
            district_code=user.district_code,
            active=user.active,
            email=user.email,
            phone=user.phone,
            must_change_password=user.must_change_password,
            totp_enabled=totp.enabled(user),
            totp_required=user.role in totp.required_roles(ctx.settings),
            recovery_codes_left=totp.recovery_codes_left(session, user_id=user.id),
            pending=pending_step(user, ctx.settings),
        )


def _count_attempt(ctx: AppContext, user: User, request: Request) -> None:
    """Count a password or code check against the sign-in throttle; 429 while locked."""
    # Checking a password or a code is a guess like a sign-in, so it shares its throttle:
    # a stolen token cannot be used to guess the password or a recovery code freely.
    policy = throttle.LoginPolicy.from_settings(ctx.settings)
    with ctx.writing() as session:
        retry_after = throttle.reserve_attempt(
            session, policy=policy, account=user.username, client=client_key(request)
        )
    if retry_after is not None:
        raise throttled(retry_after)


def _succeeded(ctx: AppContext, user: User, request: Request) -> None:
    policy = throttle.LoginPolicy.from_settings(ctx.settings)
    with ctx.writing() as session:
        throttle.record_success(
            session, policy=policy, account=user.username, client=client_key(request)
        )


@router.get("/me", response_model=AccountOut)
def me(ctx: Ctx, user: Holder) -> AccountOut:
    """The signed-in account, citizen or staff, and what it must do first (``pending``)."""
    return _account(ctx, user.id)


@router.post("/me/password", response_model=AccountOut)
def change_password(ctx: Ctx, request: Request, body: PasswordChange, user: Holder) -> AccountOut:
    """Change my own password, giving the old one; any signed-in account. The new one must keep
    the password policy; wrong old passwords count against the sign-in throttle."""
    _count_attempt(ctx, user, request)
    # argon2 runs outside any transaction, as at sign-in.
    if not passwords.verify_password(user.password_hash, body.old_password):
        with ctx.writing() as session:
            service.audit(
                session,
                actor=service.actor_for(user),
                action="user.password_change_refused",
                target=f"user:{user.username}",
            )
        raise Problem(
            400, "wrong-password", Message("identity.old_password_wrong"), field="old_password"
        )
    # The old password was right: the guess gives its count back, whatever the new one is.
    _succeeded(ctx, user, request)
    with ctx.writing() as session:
        accounts.set_own_password(
            session,
            user_id=user.id,
            old_password=body.old_password,
            new_password=body.new_password,
            policy=PasswordPolicy.from_settings(ctx.settings),
        )
    return _account(ctx, user.id)


@router.post("/me/totp", response_model=TotpEnrolmentOut, status_code=201)
def begin_totp(ctx: Ctx, user: Holder) -> TotpEnrolmentOut:
    """Start enrolling a second factor: a new secret, its otpauth URI and QR code, to confirm
    with a first code; staff accounts only."""
    with ctx.writing() as session:
        enrolment = totp.begin_enrolment(
            session,
            user_id=user.id,
            issuer=ctx.settings.city_name,
            key=ctx.settings.resolved_secret_key,
        )
    return TotpEnrolmentOut(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post("/me/totp/confirm", response_model=RecoveryCodesOut)
def confirm_totp(ctx: Ctx, request: Request, body: CodeIn, user: Holder) -> RecoveryCodesOut:
    """Turn the second factor on with a first code from the app; answers the recovery codes,
    this once. Wrong codes count against the sign-in throttle."""
    _count_attempt(ctx, user, request)
    with ctx.writing() as session:
        codes = totp.confirm_enrolment(
            session, user_id=user.id, code=body.code, key=ctx.settings.resolved_secret_key
        )
    _succeeded(ctx, user, request)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/me/totp/recovery-codes", response_model=RecoveryCodesOut)
def renew_recovery_codes(
    ctx: Ctx, request: Request, body: CodeIn, user: Holder
) -> RecoveryCodesOut:
    """A new set of recovery codes, given a current code (the old set stops working); wrong
    codes count against the sign-in throttle."""
    _count_attempt(ctx, user, request)
    with ctx.writing() as session:
        codes = totp.renew_recovery_codes(
            session, user_id=user.id, code=body.code, key=ctx.settings.resolved_secret_key
        )
    _succeeded(ctx, user, request)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/me/totp/disable", response_model=AccountOut)
def disable_totp(ctx: Ctx, request: Request, body: CodeIn, user: Holder) -> AccountOut:
    """Turn my second factor off, given a current code; refused (409) where my role requires
    one. Wrong codes count against the sign-in throttle."""
    _count_attempt(ctx, user, request)
    with ctx.writing() as session:
        totp.disable_own(
            session,
            user_id=user.id,
            code=body.code,
            key=ctx.settings.resolved_secret_key,
            required=totp.required_roles(ctx.settings),
        )
    _succeeded(ctx, user, request)
    return _account(ctx, user.id)


@router.post("/me/position", response_model=PositionOut)
def report_position(
    ctx: Ctx, body: PositionIn, actor: Annotated[service.Actor, Depends(staff_actor)]
) -> PositionOut:
    """A field worker's or grid inspector's device reports where it is; the operations centre
    shows the latest report (an older fix than the one kept changes nothing)."""
    with ctx.writing() as session:
        row = positions.report_position(
            session, actor=actor, lat=body.lat, lon=body.lon, accuracy_m=body.accuracy_m, at=body.at
        )
        return PositionOut(
            lat=row.lat, lon=row.lon, accuracy_m=row.accuracy_m, at=row.at.isoformat()
        )
