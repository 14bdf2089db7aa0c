"""Identity rules: accounts, passwords, tokens, API keys and the audit trail."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.lookups import Lookup
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, conflict, not_found
from cityloop.platforms.application.identity import passwords
from cityloop.platforms.application.identity.events import (
    ApiKeyChanged,
    DepartmentChanged,
    UserDeactivated,
)
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import ApiKey, AuditEntry, Department, User
from cityloop.platforms.application.identity.roles import NEEDS_DEPARTMENT, Caller, Role

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
TOKEN_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, an API client, or the system itself."""

    user_id: int | None
    username: str
    role: str
    department_code: str | None = None
    district_code: str | None = None  # the area scope of a district-level account

    @property
    def is_staff(self) -> bool:
        return self.role not in (Role.CITIZEN, Caller.ANONYMOUS, Caller.OPEN311)


SYSTEM = Actor(None, "system", Caller.SYSTEM)
ANONYMOUS = Actor(None, "anonymous", Caller.ANONYMOUS)
# A citizen known only by a tracking code, not an account.
CITIZEN = Actor(None, "citizen", Role.CITIZEN)


def actor_for(user: User) -> Actor:
    """The actor for a signed-in user."""
    return Actor(user.id, user.username, user.role, user.department_code, user.district_code)


def hash_password(password: str) -> str:
    """The argon2 hash of a password (within the process-wide bound on argon2 work)."""
    return passwords.hash_password(password)


def normalize_username(username: str) -> str:
    """Usernames are stored and looked up trimmed and in lower case."""
    return username.strip().lower()


def create_department(
    session: Session, *, code: str, name: str, name_zh: str = "", kind: str = "department"
) -> Department:
    """Add a department (or another kind of body) with its English and Chinese names."""
    department = Department(code=code, name=name, name_zh=name_zh, kind=kind)
    session.add(department)
    session.flush()
    emit(session, DepartmentChanged(code=code, version=department.version, action="create"))
    return department


def list_departments(session: Session) -> list[Department]:
    """Every department, by code."""
    return list(session.scalars(select(Department).order_by(Department.code)))


def get_department(session: Session, *, code: str) -> Department | None:
    """The department with this code, if there is one."""
    return session.get(Department, code)


def require_department(session: Session, *, code: str, field: str = "department") -> Department:
    """The active department with this code; 400 naming ``field`` when there is none."""
    department = session.get(Department, code)
    if department is None or not department.active:
        raise bad_request(Message("identity.unknown_department", {"code": repr(code)}), field=field)
    return department


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    department_code: str | None = None,
    display_name: str = "",
    display_name_zh: str = "",
    email: str | None = None,
    phone: str | None = None,
) -> User:
    """Create an account after checking its name, role, password and department."""
    username = normalize_username(username)
    if not USERNAME_PATTERN.match(username):
        raise bad_request(Message("identity.bad_username"), field="username")
    if role not in set(Role):
        raise bad_request(Message("identity.unknown_role", {"role": repr(role)}), field="role")
    if len(password) < 4:
        raise bad_request(Message("identity.password_too_short"), field="password")
    if role in NEEDS_DEPARTMENT:
        if not department_code:
            raise bad_request(
                Message("identity.needs_department", {"role": role}), field="department"
            )
        require_department(session, code=department_code)
    elif department_code:
        require_department(session, code=department_code)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise conflict(
            Message("identity.username_taken", {"username": repr(username)}), type_="username-taken"
        )
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        department_code=department_code,
        display_name=display_name or username,
        display_name_zh=display_name_zh.strip(),
        email=email,
        phone=phone,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same name
        raise conflict(
            Message("identity.username_taken", {"username": repr(username)}), type_="username-taken"
        ) from exc
    return user


def find_user(session: Session, *, username: str) -> User | None:
    """The account with this username, if there is one."""
    return session.scalar(select(User).where(User.username == normalize_username(username)))


def user_named(session: Session, *, username: str) -> User:
    """The account with this username; 404 when there is none."""
    user = find_user(session, username=username)
    if user is None:
        raise not_found("user", repr(normalize_username(username)))
    return user


def list_users(session: Session, *, role: str | None = None) -> list[User]:
    """Every account (or every account of one role), by username."""
    query = select(User).order_by(User.username)
    if role is not None:
        if role not in set(Role):
            raise bad_request(Message("identity.unknown_role", {"role": repr(role)}), field="role")
        query = query.where(User.role == role)
    return list(session.scalars(query))


def set_user_active(session: Session, *, username: str, active: bool, actor: Actor) -> User:
    """Deactivate or reactivate an account, audited."""
    # A deactivated account cannot sign in and its tokens stop working at once; nobody may
    # deactivate their own account.
    user = user_named(session, username=username)
    if not active and actor.user_id is not None and actor.user_id == user.id:
        raise conflict(Message("identity.own_account"), type_="own-account")
    if not active:
        keep_an_admin(session, user=user, actor=actor)
    if user.active != active:
        user.active = active
        session.flush()
        if not active:
            emit(
                session,
                UserDeactivated(
                    user_id=user.id,
                    role=user.role,
                    department_code=user.department_code,
                    by=actor.username,
                ),
            )
    audit(
        session,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        target=f"user:{user.username}",
    )
    return user


def keep_an_admin(session: Session, *, user: User, actor: Actor) -> None:
    """409 when a change would take this account's admin rights away from its own actor, or
    leave the city with no active admin."""
    if user.role != Role.ADMIN or not user.active:
        return
    if actor.user_id is not None and actor.user_id == user.id:
        raise conflict(Message("identity.own_admin_rights"), type_="own-account")
    # Every active admin's row is locked, in one order: two admins demoting each other at once
    # queue behind each other (no deadlock), and the second sees the first's change.
    admins = session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not set(admins) - {user.id}:
        raise conflict(Message("identity.last_admin"), type_="last-admin")


def issue_token(user: User, secret: str, minutes: int) -> str:
    """A signed access token for this user, valid for ``minutes``."""
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def user_from_token(
    session: Session, *, token: str, secret: str, allow_pending: bool = False
) -> User:
    """The active user an access token names; 401 when it is invalid, expired or deactivated,
    403 when the account must change its temporary password first (unless ``allow_pending``)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM])
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Problem(
            401,
            "invalid-token",
            Message("identity.token_invalid"),
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Problem(
            401,
            "invalid-token",
            Message("identity.account_deactivated"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    if user.must_change_password and not allow_pending:
        raise Problem(
            403,
            "password-change-required",
            Message("identity.password_change_first"),
            extra={"pending": "password-change"},
        )
    return user


def get_user(session: Session, *, user_id: int) -> User:
    """The user with this id; 404 when there is none."""
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


def users_by_id(session: Session, *, user_ids: set[int]) -> dict[int, User]:
    """The users with these ids, in one query, by id (an unknown id is left out)."""
    if not user_ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}


def set_locale(session: Session, *, user_id: int, locale: str | None) -> User:
    """Set the language an account reads (None: follow the browser), audited."""
    user = get_user(session, user_id=user_id)
    user.locale = locale
    audit(
        session,
        actor=actor_for(user),
        action="account.locale",
        target=f"user:{user.username}",
        detail={"locale": locale},
    )
    session.flush()
    return user


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# What an API key may open: the Open311 GeoReport API, and NGSI-LD writes (and reads when
# they are not public).
API_KEY_SCOPES = ("open311", "ngsild")


def _check_scopes(scopes: Sequence[str]) -> list[str]:
    if not scopes or any(scope not in API_KEY_SCOPES for scope in scopes):
        raise bad_request(
            Message("identity.bad_scopes", {"scopes": ", ".join(API_KEY_SCOPES)}), field="scopes"
        )
    return sorted(set(scopes))


def create_api_key(
    session: Session, *, key: str, name: str, scopes: Sequence[str] = ("open311",)
) -> ApiKey:
    """Register an API key (only its hash is kept) with its name and scopes."""
    checked = _check_scopes(scopes)
    if not name.strip() or len(name) > 200:
        raise bad_request(Message("identity.bad_key_name"), field="name")
    api_key = ApiKey(key_hash=_key_hash(key), name=name, scopes=checked)
    session.add(api_key)
    session.flush()
    emit(session, ApiKeyChanged(key_id=api_key.id, action="create"))
    return api_key


def set_api_key_scopes(session: Session, *, api_key: ApiKey, scopes: Sequence[str]) -> ApiKey:
    """Give an API key these scopes (what it may open) instead of its own."""
    checked = _check_scopes(scopes)
    if sorted(api_key.scopes or []) == checked:
        return api_key
    api_key.scopes = checked
    session.flush()
    emit(session, ApiKeyChanged(key_id=api_key.id, action="scopes"))
    return api_key


def has_scope(api_key: ApiKey | ApiKeyClient, scope: str) -> bool:
    """Whether this API key may open ``scope``."""
    return scope in (api_key.scopes or [])


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every API key, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, *, key_id: int) -> ApiKey:
    """Deactivate an API key; 404 when there is none with this id."""
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise not_found("API key", key_id)
    api_key.active = False
    session.flush()
    emit(session, ApiKeyChanged(key_id=api_key.id, action="revoke"))
    return api_key


def find_api_key(session: Session, *, key: str) -> ApiKey | None:
    """The active API key row matching this secret, for a write (checks take
    :func:`check_api_key`)."""
    return session.scalar(
        select(ApiKey).where(ApiKey.key_hash == _key_hash(key), ApiKey.active.is_(True))
    )


@dataclass(frozen=True)
class ApiKeyClient:
    """An active API key as the checks need it, from the process's cache."""

    id: int
    name: str
    scopes: tuple[str, ...]


def _keys_fingerprint(session: Session) -> tuple[Any, ...]:
    # The table has no version column. A creation moves the count and max(id); a revocation
    # lowers the sum of the active keys' ids (ids are positive), even when a creation in the
    # same second raised the count; new scopes change the length of the active keys' scopes.
    active = ApiKey.active.is_(True)
    return tuple(
        session.execute(
            select(
                func.count(),
                func.max(ApiKey.id),
                func.sum(case((active, ApiKey.id), else_=0)),
                func.sum(case((active, func.length(cast(ApiKey.scopes, String))), else_=0)),
            )
        ).one()
    )


def _active_keys(session: Session) -> dict[str, ApiKeyClient]:
    # Keyed by the stored SHA-256: the cache never holds a key itself.
    rows = session.execute(
        select(ApiKey.key_hash, ApiKey.id, ApiKey.name, ApiKey.scopes).where(
            ApiKey.active.is_(True)
        )
    )
    return {
        key_hash: ApiKeyClient(key_id, name, tuple(scopes or ()))
        for key_hash, key_id, name, scopes in rows
    }


_api_keys: Lookup[dict[str, ApiKeyClient]] = Lookup(
    fingerprint=_keys_fingerprint, build=_active_keys, invalidated_by=[ApiKeyChanged]
)


def check_api_key(session: Session, *, key: str | None) -> ApiKeyClient | None:
    """The active API key matching this secret, if any: from the process's cache, which a
    revocation drops at once here and other processes within a second (``base.lookups``)."""
    if not key:
        return None
    key_hash = _key_hash(key)
    found = _api_keys.get(session).get(key_hash)
    if found is None:  # created in another process since the last recheck, or no such key
        found = _api_keys.get(session, recheck=True).get(key_hash)
    return found


def audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the audit trail: who did what to which target."""
    session.add(
        AuditEntry(
            at=utcnow(),
            actor=actor.username,
            actor_role=actor.role,
            action=action,
            target=target,
            detail=detail or {},
        )
    )


def audit_trail(
    session: Session, *, target: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """The newest audit entries, for one target or for all."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target:
        query = query.where(AuditEntry.target == target)
    return list(session.scalars(query))


def users_with_role(
    session: Session, *, role: str, department_code: str | None = None
) -> list[User]:
    """The active users with this role, optionally in one department."""
    query = select(User).where(User.role == role, User.active.is_(True))
    if department_code is not None:
        query = query.where(User.department_code == department_code)
    return list(session.scalars(query))
