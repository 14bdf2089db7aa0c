"""Administration of accounts: search, details, staff creation, edits, password resets and
changes, with the rule that the city always keeps an active admin.

Every admin action is audited here, in the transaction of the change it records.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import service
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.policy import PasswordPolicy
from cityloop.platforms.application.identity.roles import NEEDS_DEPARTMENT, STAFF_ROLES, Role
from cityloop.platforms.application.identity.service import Actor

# Fields an admin may edit, and which of them are personal data (their values stay out of the
# audit trail; the entry names the field).
EDITABLE = (
    "role", "department_code", "district_code", "display_name", "display_name_zh", "email", "phone"
)  # fmt: skip
PERSONAL = frozenset({"email", "phone"})


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_users(
    session: Session,
    *,
    role: str | None = None,
    department: str | None = None,
    district: str | None = None,
    active: bool | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    """One page of the accounts matching every filter given, by username, and how many match."""
    if role is not None and role not in set(Role):
        raise bad_request(Message("identity.unknown_role", {"role": repr(role)}), field="role")
    conditions: list[Any] = []
    if role is not None:
        conditions.append(User.role == role)
    if department is not None:
        conditions.append(User.department_code == department)
    if district is not None:
        conditions.append(User.district_code == district)
    if active is not None:
        conditions.append(User.active.is_(active))
    if text:
        pattern = _like(text.strip().lower())
        conditions.append(
            or_(
                User.username.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
                User.display_name_zh.like(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    rows = session.scalars(
        select(User).where(*conditions).order_by(User.username).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def read_user(session: Session, *, username: str, actor: Actor) -> User:
    """One account with its contact details, for an admin; the read is audited."""
    user = service.user_named(session, username=username)
    service.audit(session, actor=actor, action="user.read", target=f"user:{user.username}")
    return user


def _district(session: Session, code: str) -> str:
    found = session.get(Jurisdiction, code)
    if found is None or found.level != "district":
        raise bad_request(
            Message("identity.not_a_district", {"code": repr(code)}), field="district_code"
        )
    return found.code


def generated_password(policy: PasswordPolicy) -> str:
    """A random password that keeps the policy: four classes, at least 16 characters."""
    length = max(16, policy.min_length)
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 1))
        candidate = f"{body[:8]}-{body[8:]}"
        if policy.broken_rule(password=candidate, username="") is None and all(
            any(c in group for c in candidate)
            for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        ):
            return candidate


def create_staff_user(
    session: Session,
    *,
    actor: Actor,
    policy: PasswordPolicy,
    username: str,
    role: str,
    password: str | None = None,
    must_change_password: bool = True,
    department_code: str | None = None,
    district_code: str | None = None,
    display_name: str = "",
    display_name_zh: str = "",
    email: str | None = None,
    phone: str | None = None,
) -> tuple[User, str | None]:
    """A new account (any role) and the password generated for it when none was given."""
    # Without a password one is generated and shown once; either way it is temporary unless
    # the admin says otherwise, so only the account's owner knows the one in use.
    generated = None
    if password is None:
        password = generated = generated_password(policy)
    else:
        policy.check(password=password, username=service.normalize_username(username))
    district = _district(session, district_code) if district_code else None
    user = service.create_user(
        session,
        username=username,
        password=password,
        role=role,
        department_code=department_code,
        display_name=display_name,
        display_name_zh=display_name_zh,
        email=email,
        phone=phone,
    )
    user.district_code = district
    user.must_change_password = must_change_password and role != Role.CITIZEN
    session.flush()
    service.audit(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{user.username}",
        detail={
            "role": user.role,
            "department": user.department_code,
            "district": user.district_code,
            "temporary_password": user.must_change_password,
            "generated_password": generated is not None,
        },
    )
    return user, generated


def update_user(session: Session, *, username: str, actor: Actor, changes: dict[str, Any]) -> User:
    """Change an account's role, department, district scope, names or contact, audited."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        raise bad_request(Message("identity.not_editable", {"field": name}), field=name)
    user = service.user_named(session, username=username)
    role = changes.get("role", user.role)
    if role not in set(Role):
        raise bad_request(Message("identity.unknown_role", {"role": repr(role)}), field="role")
    if role != user.role and Role.CITIZEN in (role, user.role):
        raise bad_request(Message("identity.citizen_staff_switch"), field="role")
    if role != user.role and role != Role.ADMIN:
        service.keep_an_admin(session, user=user, actor=actor)
    department = changes.get("department_code", user.department_code) or None
    if department is not None and department != user.department_code:
        service.require_department(session, code=department, field="department_code")
    if role in NEEDS_DEPARTMENT and department is None:
        raise bad_request(
            Message("identity.needs_department", {"role": role}), field="department_code"
        )
    district = changes.get("district_code", user.district_code) or None
    if district is not None and district != user.district_code:
        _district(session, district)
    display_name = changes.get("display_name", user.display_name)
    if display_name is None or not display_name.strip():
        raise bad_request(Message("identity.display_name_empty"), field="display_name")
    new = {
        "role": role,
        "department_code": department,
        "district_code": district,
        "display_name": display_name.strip(),
        "display_name_zh": (changes.get("display_name_zh", user.display_name_zh) or "").strip(),
        "email": changes.get("email", user.email) or None,
        "phone": (changes.get("phone", user.phone) or "").strip() or None,
    }
    changed = {name: value for name, value in new.items() if getattr(user, name) != value}
    if not changed:
        return user
    detail = {
        name: (None if name in PERSONAL else [getattr(user, name), value])
        for name, value in changed.items()
    }
    for name, value in changed.items():
        setattr(user, name, value)
    session.flush()
    service.audit(
        session, actor=actor, action="user.update", target=f"user:{user.username}", detail=detail
    )
    return user


def _staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise bad_request(Message("identity.reset_staff_only"), field="username")


def reset_password(
    session: Session,
    *,
    username: str,
    actor: Actor,
    policy: PasswordPolicy,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Give a staff account a temporary password (or a generated one, returned to show once),
    which its owner must change at the next sign-in."""
    user = service.user_named(session, username=username)
    _staff(user)
    generated = None
    if password is None:
        password = generated = generated_password(policy)
    else:
        policy.check(password=password, username=user.username)
    user.password_hash = service.hash_password(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    session.flush()
    service.audit(
        session,
        actor=actor,
        action="user.password_reset",
        target=f"user:{user.username}",
        detail={"generated": generated is not None},
    )
    return user, generated


def set_own_password(
    session: Session, *, user_id: int, old_password: str, new_password: str, policy: PasswordPolicy
) -> User:
    """Store the new password the owner chose; the caller has checked the old one already."""
    # The old password is verified before this transaction opens (argon2 takes tens of
    # milliseconds, and SQLite's one writer must not wait on it).
    user = service.get_user(session, user_id=user_id)
    policy.check(password=new_password, username=user.username, field="new_password")
    if new_password == old_password:
        raise bad_request(
            Message("identity.same_password"),
            field="new_password",
            type_="same-password",
        )
    user.password_hash = service.hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.flush()
    service.audit(
        session,
        actor=service.actor_for(user),
        action="user.password_change",
        target=f"user:{user.username}",
    )
    return user
