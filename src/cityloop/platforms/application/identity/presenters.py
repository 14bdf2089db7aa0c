"""Accounts as the admin screens and the account screen see them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.platforms.application.identity import totp
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.schemas import UserDetailOut, UserSummaryOut
from cityloop.settings import Settings


def summary(user: User) -> UserSummaryOut:
    """An account in a list: no contact details."""
    return UserSummaryOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        display_name_zh=user.display_name_zh,
        role=user.role,
        department_code=user.department_code,
        district_code=user.district_code,
        active=user.active,
        created_at=user.created_at,
        must_change_password=user.must_change_password,
        totp_enabled=totp.enabled(user),
    )


def detail(session: Session, user: User) -> UserDetailOut:
    """One account with its contact details."""
    return UserDetailOut(
        **summary(user).model_dump(),
        email=user.email,
        phone=user.phone,
        password_changed_at=user.password_changed_at,
        recovery_codes_left=totp.recovery_codes_left(session, user_id=user.id),
    )


def required(user: User, settings: Settings) -> bool:
    """Whether the account's role must have a second factor."""
    return user.role in totp.required_roles(settings)
