"""The access log as the console reads it: every entry, filtered by whose data and who read it,
and the chain's state. Reading the log is a staff action like any other: it is audited."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.problems import Problem, forbidden, unprocessable
from cityloop.platforms.application.identity import numbers
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access import chain, service
from cityloop.platforms.data.access.filters import AccessFilter
from cityloop.platforms.data.access.messages import Message
from cityloop.platforms.data.access.models import ChainCheckpoint, DataAccess

# Who oversees the reads of people's data: the administrators and the supervision centre.
LOG_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


@dataclass(frozen=True)
class Whose:
    """The data subject and reader a staff query names (each optional)."""

    user_id: int | None = None
    username: str | None = None
    uscc: str | None = None
    actor: str | None = None


def _log_reader(actor: Actor) -> None:
    if actor.role not in LOG_READERS:
        raise forbidden(
            Message(
                "access.role_may_read_access",
                {
                    "actor_role": str(actor.role),
                    "roles": str(sorted(LOG_READERS)),
                },
            )
        )


def _subject(session: Session, whose: Whose, filters: AccessFilter) -> AccessFilter:
    user_id = whose.user_id
    if whose.username:
        found = identity.find_user(session, username=whose.username)
        if found is None:
            raise unprocessable(
                Message("access.account_named", {"username": repr(whose.username)}),
                field="username",
            )
        if user_id is not None and user_id != found.id:
            raise unprocessable(Message("access.user_id_username_name"), field="username")
        user_id = found.id
    uscc = None
    if whose.uscc:
        try:
            uscc = numbers.check_uscc(whose.uscc)
        except Problem as problem:
            raise unprocessable(problem.message or problem.detail, field="uscc") from None
    actor = (whose.actor or "").strip() or None
    return replace(filters, user_id=user_id, enterprise_uscc=uscc, actor=actor)


def read_log(
    session: Session,
    *,
    actor: Actor,
    filters: AccessFilter,
    whose: Whose,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DataAccess], int, dict[int, str]]:
    """A page of the whole log for the console, its total and the subjects' usernames; audited."""
    _log_reader(actor)
    chosen = _subject(session, whose, filters)
    entries, total = service.search(session, filters=chosen, limit=limit, offset=offset)
    identity.audit(
        session,
        actor=actor,
        action="access_log.read",
        target="access_log",
        detail={**chosen.described(), "limit": limit, "offset": offset},
    )
    ids = {e.user_id for e in entries if e.user_id is not None}
    usernames = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    return entries, total, {int(k): str(v) for k, v in usernames.items()}


def chain_state(
    session: Session, *, actor: Actor
) -> tuple[chain.ChainReport, ChainCheckpoint | None]:
    """Walk the whole chain, and find the newest signed checkpoint (audit it with
    :func:`audit_chain_check`: the walk reads, so it need not hold the writers' lock)."""
    _log_reader(actor)
    report = chain.verify(session)
    latest = session.scalar(
        select(ChainCheckpoint).order_by(ChainCheckpoint.upto_id.desc()).limit(1)
    )
    return report, latest


def audit_chain_check(session: Session, *, actor: Actor, report: chain.ChainReport) -> None:
    """Put a staff member's check of the chain in the audit trail, with what it found."""
    identity.audit(
        session,
        actor=actor,
        action="access_log.verify",
        target="access_log",
        detail={"intact": report.intact, "entries": report.entries, "broken_at": report.broken_at},
    )
