"""Sign-in throttling per attempted account name and per client address.

Every attempt is counted when it starts, before its password is checked, and a success gives its
count back. So parallel guesses cannot all pass the check while the first ones are still being
verified: once the count reaches the limit the subject is locked, and the attempts after it are
refused without running argon2. A lock lasts ``lockout_seconds``, doubling with each further
failure up to ``lockout_max_seconds``; a subject's count is forgotten after a quiet window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.application.identity.models import LoginThrottle
from cityloop.settings import Settings


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures lock a subject, and for how long."""

    max_failures: int = 5
    max_failures_per_address: int = 20
    window_seconds: float = 900.0
    lockout_seconds: float = 30.0
    lockout_max_seconds: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        """The policy the deployment's settings describe."""
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window_seconds=settings.login_failure_window_seconds,
            lockout_seconds=settings.login_lockout_seconds,
            lockout_max_seconds=settings.login_lockout_max_seconds,
        )

    def lockout(self, failures: int, limit: int) -> timedelta:
        """The lock that the ``failures``-th counted attempt sets, given the subject's limit."""
        doublings = min(failures - limit, 40)  # capped below anyway; keeps the float finite
        return timedelta(seconds=min(self.lockout_seconds * 2**doublings, self.lockout_max_seconds))


def account_subject(username: str) -> str:
    """The throttle subject of an attempted (normalised) account name, existing or not."""
    return f"account:{username}"


def address_subject(client: str) -> str:
    """The throttle subject of a client address."""
    return f"address:{client}"


def _locked_rows(session: Session, subjects: list[str], now: datetime) -> dict[str, LoginThrottle]:
    # Insert missing rows, then lock them all in one order: two workers counting attempts
    # against the same subjects queue behind each other instead of losing a count.
    maker = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        maker(LoginThrottle)
        .values([{"subject": s, "failures": 0, "last_at": now} for s in subjects])
        .on_conflict_do_nothing(index_elements=["subject"])
    )
    rows = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.subject.in_(subjects))
        .order_by(LoginThrottle.subject)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.subject: row for row in rows}


def _quiet_since(row: LoginThrottle, cutoff: datetime) -> bool:
    # Quiet means nothing happened, and no lock lasted, after the cutoff.
    return row.last_at < cutoff and (row.locked_until is None or row.locked_until < cutoff)


def reserve_attempt(
    session: Session,
    *,
    policy: LoginPolicy,
    account: str,
    client: str,
    now: datetime | None = None,
) -> int | None:
    """Count a sign-in attempt; while locked, the seconds until the later lock ends."""
    # The attempt counts against both its account name and its address; when either is locked,
    # nothing is counted.
    now = now or utcnow()
    limits = {
        account_subject(account): policy.max_failures,
        address_subject(client): policy.max_failures_per_address,
    }
    rows = _locked_rows(session, sorted(limits), now)
    ends = [row.locked_until for row in rows.values() if row.locked_until is not None]
    if ends and max(ends) > now:
        return max(1, math.ceil((max(ends) - now).total_seconds()))
    cutoff = now - timedelta(seconds=policy.window_seconds)
    for subject, limit in limits.items():
        row = rows[subject]
        if _quiet_since(row, cutoff):
            row.failures = 0
        row.failures += 1
        row.last_at = now
        row.locked_until = None
        if row.failures >= limit:
            row.locked_until = now + policy.lockout(row.failures, limit)
    return None


def record_success(session: Session, *, policy: LoginPolicy, account: str, client: str) -> None:
    """A verified sign-in: the account's count starts again, the address's goes back one."""
    # The address gets back the count this attempt took, so a lock that only this attempt's
    # count set is lifted.
    session.execute(delete(LoginThrottle).where(LoginThrottle.subject == account_subject(account)))
    row = session.scalar(
        select(LoginThrottle)
        .where(LoginThrottle.subject == address_subject(client))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is not None:
        row.failures = max(row.failures - 1, 0)
        if row.failures < policy.max_failures_per_address:
            row.locked_until = None


def unlock(session: Session, *, account: str | None = None, client: str | None = None) -> bool:
    """Forget the counted attempts of an account name and/or an address; whether one was locked."""
    subjects = [account_subject(account)] if account is not None else []
    subjects += [address_subject(client)] if client is not None else []
    if not subjects:
        return False
    locked = session.scalar(
        select(LoginThrottle.subject)
        .where(LoginThrottle.subject.in_(subjects), LoginThrottle.locked_until > utcnow())
        .limit(1)
    )
    session.execute(delete(LoginThrottle).where(LoginThrottle.subject.in_(subjects)))
    return locked is not None


def prune(session: Session, *, policy: LoginPolicy, now: datetime | None = None) -> int:
    """Delete the rows of subjects quiet for longer than the window; how many went."""
    cutoff = (now or utcnow()) - timedelta(seconds=policy.window_seconds)
    result = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_at < cutoff,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < cutoff),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
