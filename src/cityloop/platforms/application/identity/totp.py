"""The TOTP second factor for staff (RFC 6238, with pyotp): enrolment, its confirmation by a
first code, the code at sign-in, single-use recovery codes, and an admin's reset.

A code is accepted once: the time step of the last accepted code is kept, and a code of that
step or an earlier one is refused, so a code read over a shoulder cannot be replayed within
its window. Recovery codes are stored as an HMAC keyed with the app's secret (they are random
enough that a slow hash would add nothing but work).

The shared secret itself must be readable (codes are computed from it), so it is stored sealed
with a key derived from the app's secret (Fernet: AES with an HMAC): a copy of the database alone
gives no one the codes. Changing the app's secret key therefore ends every enrolment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request, conflict
from cityloop.platforms.application.identity import service
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import RecoveryCode, User
from cityloop.platforms.application.identity.roles import STAFF_ROLES, Role
from cityloop.platforms.application.identity.service import Actor
from cityloop.settings import Settings

RECOVERY_CODES = 10
# Codes from one step before or after the server's clock are accepted: phones drift.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required_roles(settings: Settings) -> frozenset[str]:
    """The roles whose accounts must have a second factor; ValueError for an unknown role."""
    names = {name.strip() for name in settings.totp_required_roles.split(",") if name.strip()}
    unknown = names - {str(role) for role in STAFF_ROLES}
    if unknown:
        raise ValueError(f"CITYLOOP_TOTP_REQUIRED_ROLES: {sorted(unknown)} are not staff roles")
    return frozenset(names)


def _fernet(key: str) -> Fernet:
    derived = hashlib.sha256(b"cityloop.totp-secret:" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _seal(secret: str, key: str) -> str:
    return _fernet(key).encrypt(secret.encode()).decode()


def _unseal(sealed: str, key: str) -> str | None:
    try:
        return _fernet(key).decrypt(sealed.encode()).decode()
    except InvalidToken:  # sealed under another secret key: the enrolment is void
        return None


def enabled(user: User) -> bool:
    """Whether the account's sign-in asks for a code."""
    return user.totp_secret is not None and user.totp_enabled_at is not None


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str  # a data: URI of the QR code of otpauth_uri


def begin_enrolment(session: Session, *, user_id: int, issuer: str, key: str) -> Enrolment:
    """A new secret for the account, to be confirmed with a first code; 409 when it has one."""
    user = service.get_user(session, user_id=user_id)
    if user.role == Role.CITIZEN:
        raise conflict(Message("identity.totp_staff_only"), type_="not-staff")
    if enabled(user):
        raise conflict(Message("identity.totp_enabled"), type_="totp-enabled")
    # A new enrolment replaces one never confirmed (a lost QR code, a closed tab).
    secret = pyotp.random_base32()
    user.totp_secret = _seal(secret, key)
    user.totp_last_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)
    qr = segno.make_qr(uri, error="m")
    return Enrolment(secret, uri, qr.svg_data_uri(scale=5, border=2))


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is, within the window, or None."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def _accept_code(user: User, code: str, now: datetime, key: str) -> bool:
    secret = _unseal(user.totp_secret, key) if user.totp_secret is not None else None
    if secret is None:
        return False
    step = _matching_step(secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _recovery_hash(key: str, user_id: int, code: str) -> str:
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hmac.new(key.encode(), f"{user_id}:{normal}".encode(), hashlib.sha256).hexdigest()


def _new_recovery_codes(session: Session, user: User, key: str) -> list[str]:
    # The old set goes: only the newest printout works.
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_recovery_hash(key, user.id, code))
        for code in codes
    )
    session.flush()
    return codes


def wrong_code() -> Exception:
    """The 400 for a code that is not the current one (or was used already)."""
    return bad_request(Message("identity.totp_code_wrong"), field="code", type_="wrong-code")


def confirm_enrolment(
    session: Session, *, user_id: int, code: str, key: str, now: datetime | None = None
) -> list[str]:
    """Turn the second factor on with a first code; the recovery codes, shown this once."""
    user = service.get_user(session, user_id=user_id)
    if enabled(user):
        raise conflict(Message("identity.totp_enabled"), type_="totp-enabled")
    if user.totp_secret is None:
        raise conflict(Message("identity.totp_no_enrolment"), type_="no-enrolment")
    if not _accept_code(user, code, now or utcnow(), key):
        raise wrong_code()
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(session, user, key)
    service.audit(
        session, actor=service.actor_for(user), action="totp.enable", target=f"user:{user.username}"
    )
    return codes


def check_second_factor(
    session: Session, *, user: User, code: str, key: str, now: datetime | None = None
) -> str | None:
    """Accept a current code or an unused recovery code: which ("totp", "recovery"), or None."""
    if _accept_code(user, code, now or utcnow(), key):
        return "totp"
    # Only a code that cannot be a TOTP code is tried as a recovery code.
    if code.strip().isdigit():
        return None
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(key, user.id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    # The conditional update uses the code at most once, even with two sign-ins racing.
    return "recovery" if getattr(used, "rowcount", 0) == 1 else None


def recovery_codes_left(session: Session, *, user_id: int) -> int:
    """How many of the account's recovery codes are unused."""
    rows = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))


def renew_recovery_codes(session: Session, *, user_id: int, code: str, key: str) -> list[str]:
    """A new set of recovery codes (the old ones stop working), given a current code."""
    user = service.get_user(session, user_id=user_id)
    if not enabled(user):
        raise conflict(Message("identity.totp_not_enabled"), type_="totp-not-enabled")
    if not _accept_code(user, code, utcnow(), key):
        raise wrong_code()
    codes = _new_recovery_codes(session, user, key)
    service.audit(
        session,
        actor=service.actor_for(user),
        action="totp.recovery_codes",
        target=f"user:{user.username}",
    )
    return codes


def _clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


def disable_own(
    session: Session, *, user_id: int, code: str, key: str, required: frozenset[str]
) -> User:
    """Turn one's own second factor off with a current code; 409 where the role requires it."""
    user = service.get_user(session, user_id=user_id)
    if not enabled(user):
        raise conflict(Message("identity.totp_not_enabled"), type_="totp-not-enabled")
    if user.role in required:
        raise conflict(
            Message("identity.totp_required", {"role": user.role}), type_="totp-required"
        )
    if not _accept_code(user, code, utcnow(), key):
        raise wrong_code()
    _clear(session, user)
    service.audit(
        session,
        actor=service.actor_for(user),
        action="totp.disable",
        target=f"user:{user.username}",
    )
    return user


def reset(session: Session, *, username: str, actor: Actor) -> User:
    """An admin removes an account's second factor (a lost phone); it enrols again."""
    user = service.user_named(session, username=username)
    had = enabled(user)
    _clear(session, user)
    service.audit(
        session, actor=actor, action="user.totp_reset", target=f"user:{user.username}",
        detail={"had_second_factor": had},
    )  # fmt: skip
    return user
