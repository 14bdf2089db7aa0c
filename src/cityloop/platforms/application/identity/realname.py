"""Real-name levels (实名等级) of citizen accounts.

- Level 1: a registered citizen account.
- Level 2: legal name and resident identity number checked (GB 11643 check character, birth
  date, region) and a phone number verified with a one-time code.
- Level 3: the person's identity document checked in person at a counter by a clerk.

Levels follow from what the :class:`RealName` record holds; nothing stores a level that could
disagree with it. Every staff read of a full identity number is audited and emitted as a
:class:`PersonalDataRead` event, which the data platform's access log records.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, conflict, forbidden
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import messages, numbers
from cityloop.platforms.application.identity.events import PersonalDataRead
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import PhoneChallenge, RealName, User
from cityloop.platforms.application.identity.roles import COUNTER_ROLES, Role
from cityloop.platforms.application.identity.service import Actor, audit, get_user, user_named
from cityloop.platforms.application.notify import service as notify

CODE_MINUTES = 10
CODE_TRIES = 5
# A code may be asked for once a minute and five times an hour per account: enough for a
# slow network, too few to flood someone's phone.
CODE_INTERVAL = timedelta(seconds=60)
CODE_HOURLY = 5
PHONE_PATTERN_DIGITS = (6, 20)


class PhoneCheck(StrEnum):
    """The outcome of a code typed in."""

    VERIFIED = "verified"
    WRONG = "wrong-code"
    EXPIRED = "code-expired"
    EXHAUSTED = "code-exhausted"
    NONE = "no-code"


@dataclass(frozen=True)
class CodeSent:
    """Where a code went and how long it lasts."""

    phone: str
    expires_at: datetime


def level_of(record: RealName | None) -> int:
    """The real-name level a record shows (1 with no record)."""
    if record is None or record.id_checked_at is None or record.phone_verified_at is None:
        return 1
    return 3 if record.counter_verified_at is not None else 2


def real_name_level(session: Session, *, user_id: int) -> int:
    """The account's real-name level: 1 registered, 2 number and phone checked, 3 at a counter."""
    return level_of(session.get(RealName, user_id))


def require_level(session: Session, *, user_id: int, level: int) -> int:
    """The account's level when it reaches ``level``; else a 403 saying how to reach it."""
    have = real_name_level(session, user_id=user_id)
    if have >= level:
        return have
    how = Message(
        {2: "identity.level_how_2", 3: "identity.level_how_3"}.get(level, "identity.level_how")
    )
    raise Problem(
        403,
        "real-name-level",
        Message(
            "identity.needs_level",
            {"level": str(level), "how": how.render("en"), "how_zh": how.render("zh-CN")},
        ),
        extra={"needed_level": level, "level": have},
    )


def record_of(session: Session, *, user_id: int) -> RealName | None:
    """The account's real-name record, if it has one."""
    return session.get(RealName, user_id)


def _citizen(session: Session, user_id: int) -> User:
    user = get_user(session, user_id=user_id)
    if user.role != Role.CITIZEN:
        raise forbidden(Message("identity.citizens_only"))
    return user


def _record(session: Session, user_id: int) -> RealName:
    record = session.get(RealName, user_id)
    if record is None:
        record = RealName(user_id=user_id)
        session.add(record)
    return record


def submit_identity(session: Session, *, user_id: int, legal_name: str, id_number: str) -> RealName:
    """Check and keep a citizen's legal name and identity number (half of level 2)."""
    _citizen(session, user_id)
    name = " ".join(legal_name.split())
    if not name:
        raise bad_request(Message("identity.legal_name_empty"), "legal_name")
    number, born = numbers.check_id_number(id_number)
    record = _record(session, user_id)
    if record.id_number == number and record.legal_name == name:
        return record  # the same answer twice changes nothing
    if level_of(record) >= 2:
        # Once level 2 is reached, services may rely on the number: only a counter changes it.
        raise conflict(
            Message("identity.identity_locked"),
            type_="identity-locked",
        )
    holder = session.scalar(select(RealName.user_id).where(RealName.id_number == number))
    if holder is not None and holder != user_id:
        raise conflict(
            Message("identity.id_number_taken"),
            type_="id-number-taken",
        )
    record.legal_name, record.id_number, record.birth_date = name, number, born
    record.id_checked_at = utcnow()
    session.flush()
    return record


def _normalise_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    plus = "+" if phone.strip().startswith("+") else ""
    low, high = PHONE_PATTERN_DIGITS
    if not low <= len(digits) <= high or any(
        not (ch.isdigit() or ch in " -+()") for ch in phone.strip()
    ):
        raise bad_request(Message("identity.bad_phone"), "phone", "bad-phone")
    return plus + digits


def _code_hash(secret: str, challenge_user: int, phone: str, code: str) -> str:
    # An HMAC, not a plain hash: a million codes are quick to try against a leaked SHA-256.
    message = f"{challenge_user}:{phone}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_phone_code(
    session: Session, *, user_id: int, secret: str, phone: str | None = None
) -> CodeSent:
    """Send a 6-digit code to the phone (or the account's own), throttled per account."""
    user = _citizen(session, user_id)
    given = phone if phone is not None else user.phone
    if not given:
        raise bad_request(Message("identity.phone_missing"), "phone", "bad-phone")
    number = _normalise_phone(given)
    now = utcnow()
    recent = list(
        session.scalars(
            select(PhoneChallenge.created_at)
            .where(
                PhoneChallenge.user_id == user_id,
                PhoneChallenge.created_at > now - timedelta(hours=1),
            )
            .order_by(PhoneChallenge.created_at.desc())
        )
    )
    wait: timedelta | None = None
    if recent and now - recent[0] < CODE_INTERVAL:
        wait = CODE_INTERVAL - (now - recent[0])
    elif len(recent) >= CODE_HOURLY:
        wait = recent[CODE_HOURLY - 1] + timedelta(hours=1) - now
    if wait is not None:
        seconds = max(1, int(wait.total_seconds()) + 1)
        raise Problem(
            429,
            "code-throttled",
            Message("identity.code_throttled", {"seconds": str(seconds)}),
            headers={"Retry-After": str(seconds)},
            extra={"retry_after": seconds},
        )
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = PhoneChallenge(
        user_id=user_id,
        phone=number,
        code_hash=_code_hash(secret, user_id, number, code),
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    session.add(challenge)
    # Only the newest code counts: asking again retires the earlier ones.
    for older in session.scalars(
        select(PhoneChallenge).where(
            PhoneChallenge.user_id == user_id, PhoneChallenge.used_at.is_(None)
        )
    ):
        if older is not challenge:
            older.used_at = now
    session.flush()
    notify.queue(
        session,
        source_event_id=None,
        kind="identity.phone_code",
        user_id=user_id,
        sms=number,
        message=messages.both("phone_code", code=code, minutes=CODE_MINUTES),
    )
    return CodeSent(number, challenge.expires_at)


def confirm_phone_code(session: Session, *, user_id: int, secret: str, code: str) -> PhoneCheck:
    """Check a code typed in; a wrong one counts a try (so commit before answering)."""
    now = utcnow()
    challenge = session.scalar(
        select(PhoneChallenge)
        .where(PhoneChallenge.user_id == user_id, PhoneChallenge.used_at.is_(None))
        .order_by(PhoneChallenge.id.desc())
        .limit(1)
        .with_for_update()
    )
    if challenge is None:
        return PhoneCheck.NONE
    if challenge.expires_at <= now:
        return PhoneCheck.EXPIRED
    if challenge.attempts >= CODE_TRIES:
        return PhoneCheck.EXHAUSTED
    expected = _code_hash(secret, user_id, challenge.phone, code.strip())
    if not hmac.compare_digest(expected, challenge.code_hash):
        challenge.attempts += 1
        return PhoneCheck.WRONG
    challenge.used_at = now
    record = _record(session, user_id)
    record.phone, record.phone_verified_at = challenge.phone, now
    get_user(session, user_id=user_id).phone = challenge.phone
    session.flush()
    return PhoneCheck.VERIFIED


def tries_left(session: Session, *, user_id: int) -> int:
    """How many tries the account's current code has left."""
    attempts = session.scalar(
        select(func.max(PhoneChallenge.attempts)).where(
            PhoneChallenge.user_id == user_id, PhoneChallenge.used_at.is_(None)
        )
    )
    return max(CODE_TRIES - (attempts or 0), 0)


def phone_problem(outcome: PhoneCheck, *, tries: int = 0) -> Problem:
    """The 4xx problem for a code that did not verify."""
    if outcome is PhoneCheck.WRONG:
        wrong = Message("identity.code_wrong", {"tries": str(tries)})
        return bad_request(wrong, "code", outcome.value)
    if outcome is PhoneCheck.EXPIRED:
        return bad_request(Message("identity.code_expired"), "code", outcome.value)
    if outcome is PhoneCheck.EXHAUSTED:
        return bad_request(Message("identity.code_exhausted"), "code", outcome.value)
    return bad_request(Message("identity.no_code"), "code", outcome.value)


def personal_data_read(
    session: Session,
    *,
    user_id: int | None = None,
    enterprise_uscc: str | None = None,
    actor: Actor,
    fields: list[str],
    purpose: str,
    reference: str = "",
) -> None:
    """Tell the access log (through the outbox) that ``actor`` read these fields of a person's
    (``user_id``) or an enterprise's (``enterprise_uscc``) data."""
    if (user_id is None) == (enterprise_uscc is None):
        raise ValueError("a read is of one person's (user_id) or one enterprise's data")
    emit(
        session,
        PersonalDataRead(
            user_id=user_id,
            enterprise_uscc=enterprise_uscc,
            actor=actor.username if actor.user_id is not None else f"system:{purpose}",
            actor_role=actor.role,
            actor_department=actor.department_code,
            fields=fields,
            purpose=purpose,
            reference=reference,
            legal_basis="statutory",
            at=utcnow(),
        ),
    )


def _counter_staff(actor: Actor) -> None:
    if actor.role not in COUNTER_ROLES:
        raise forbidden(Message("identity.counter_only"))


def counter_lookup(
    session: Session, *, username: str, actor: Actor
) -> tuple[User, RealName | None]:
    """A citizen as the counter screen shows them, full number included; audited and logged."""
    _counter_staff(actor)
    user = user_named(session, username=username)
    if user.role != Role.CITIZEN:
        raise bad_request(Message("identity.not_citizen", {"username": user.username}), "username")
    record = session.get(RealName, user.id)
    audit(session, actor=actor, action="identity.counter_read", target=f"user:{user.username}")
    if record is not None and record.id_number:
        personal_data_read(
            session,
            user_id=user.id,
            actor=actor,
            fields=[
                "legal_name",
                "id_number",
                "birth_date",
                *(["address"] if record.address else []),
            ],
            purpose="counter_verification",
            reference=f"user:{user.username}",
        )
    return user, record


def _district(session: Session, code: str) -> str:
    found = session.get(Jurisdiction, code)
    if found is None or found.level != "district":
        raise bad_request(
            Message("identity.not_a_district", {"code": repr(code)}), "address_district"
        )
    return found.code


def counter_verify(
    session: Session,
    *,
    username: str,
    id_number: str,
    actor: Actor,
    counter: str = "",
    address: str = "",
    address_district: str = "",
) -> RealName:
    """Level 3: a clerk checked the person's document at a counter and its number matches;
    the address printed on it is kept when the clerk copies it (with its district)."""
    _counter_staff(actor)
    address = " ".join(address.split())
    if bool(address) != bool(address_district):
        raise bad_request(Message("identity.address_without_district"), "address_district")
    district = _district(session, address_district) if address_district else None
    number, _born = numbers.check_id_number(id_number)
    user = user_named(session, username=username)
    if user.role != Role.CITIZEN:
        raise bad_request(Message("identity.not_citizen", {"username": user.username}), "username")
    record = session.get(RealName, user.id)
    if level_of(record) < 2 or record is None:
        raise conflict(
            Message("identity.needs_level_2", {"username": user.username}),
            type_="needs-level-2",
        )
    if record.id_number != number:
        audit(
            session,
            actor=actor,
            action="identity.counter_mismatch",
            target=f"user:{user.username}",
        )
        raise conflict(
            Message("identity.document_mismatch"),
            type_="document-mismatch",
        )
    record.counter_verified_at = utcnow()
    record.counter_verified_by = actor.username
    record.counter_department = actor.department_code
    record.counter_name = counter.strip() or None
    if district is not None:
        record.address, record.address_district = address, district
    session.flush()
    audit(
        session,
        actor=actor,
        action="identity.counter_verify",
        target=f"user:{user.username}",
        detail={"department": actor.department_code, "counter": record.counter_name},
    )
    personal_data_read(
        session,
        user_id=user.id,
        actor=actor,
        fields=["legal_name", "id_number", *(["address"] if record.address else [])],
        purpose="counter_verification",
        reference=f"user:{user.username}",
    )
    return record


def citizens(
    session: Session, *, actor: Actor, level: int | None = None, limit: int = 100, offset: int = 0
) -> list[tuple[User, RealName | None]]:
    """Citizen accounts and their real-name records, for staff lists; the read is audited."""
    query = (
        select(User, RealName)
        .outerjoin(RealName, RealName.user_id == User.id)
        .where(User.role == Role.CITIZEN)
        .order_by(User.username)
    )
    checked = RealName.id_checked_at.is_not(None) & RealName.phone_verified_at.is_not(None)
    if level == 1:
        query = query.where(~checked | RealName.user_id.is_(None))
    elif level == 2:
        query = query.where(checked, RealName.counter_verified_at.is_(None))
    elif level == 3:
        query = query.where(checked, RealName.counter_verified_at.is_not(None))
    elif level is not None:
        raise bad_request(Message("identity.bad_level"), "level")
    audit(session, actor=actor, action="identity.list", detail={"level": level})
    return [(user, record) for user, record in session.execute(query.limit(limit).offset(offset))]
