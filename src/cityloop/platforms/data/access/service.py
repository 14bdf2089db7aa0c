"""Recording reads of a person's (or an enterprise's) data, and finding them again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access import catalogue, chain
from cityloop.platforms.data.access.filters import AccessFilter
from cityloop.platforms.data.access.models import DataAccess

MAX_PAGE = 200
EXPORT_BATCH = 500


def _check_codes(fields: Sequence[str], purpose: str, legal_basis: str) -> None:
    # Programming errors, not input errors: every caller passes codes of its own.
    unknown = sorted(set(fields) - set(catalogue.FIELDS))
    if unknown:
        raise ValueError(f"unknown field codes {unknown}: add them to access/catalogue.py")
    if not fields:
        raise ValueError("a read names at least one field")
    if purpose not in catalogue.PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: add it to access/catalogue.py")
    if legal_basis not in catalogue.LEGAL_BASES:
        raise ValueError(f"legal basis must be one of {sorted(catalogue.LEGAL_BASES)}")


def record_access(
    session: Session,
    *,
    user_id: int | None = None,
    enterprise_uscc: str | None = None,
    actor: Actor | str,
    fields: Sequence[str],
    actor_role: str = "",
    actor_department: str | None = None,
    purpose: str,
    reference: str = "",
    legal_basis: str = "statutory",
    consent_id: str | None = None,
    consent_at: datetime | None = None,
    at: datetime | None = None,
    source_event_id: int | None = None,
    grant_id: int | None = None,
) -> DataAccess:
    """Append one read of a person's data: whose, by whom, which fields, why, on what basis."""
    # ``actor`` is the reader, or a name already made ("system:prefill", or a username the
    # outbox carried) with its role and department given beside it.
    _check_codes(fields, purpose, legal_basis)
    if (user_id is None) == (enterprise_uscc is None):
        raise ValueError("a read is of one person's (user_id) or one enterprise's data")
    if legal_basis == "consent" and not consent_id:
        raise ValueError("a read on consent names the consent (consent_id)")
    if isinstance(actor, Actor):
        name = actor.username if actor.user_id is not None else f"system:{purpose}"
        role, department = str(actor.role), actor.department_code
    else:
        name, role, department = actor, actor_role, actor_department
        if actor.startswith("system:"):
            role = role or "system"
    # The id comes from the locked head, not from the database: entries get ids in chain
    # order on every engine, and the hash is made before the insert, so the entry is written
    # once, with the rest of the transaction's rows.
    head = chain.locked_head(session)
    entry = DataAccess(
        id=head.last_id + 1,
        at=at or utcnow(),
        user_id=user_id,
        enterprise_uscc=enterprise_uscc,
        grant_id=grant_id,
        actor=name,
        actor_role=role,
        actor_department=department,
        fields=list(dict.fromkeys(fields)),
        purpose=purpose,
        reference=reference,
        legal_basis=legal_basis,
        consent_id=consent_id,
        consent_at=consent_at,
        source_event_id=source_event_id,
    )
    chain.append(session, entry=entry, head=head)
    session.add(entry)
    return entry


def already_recorded(session: Session, *, event_id: int) -> bool:
    """Whether this outbox event's read is in the log already."""
    found = select(DataAccess.id).where(DataAccess.source_event_id == event_id).limit(1)
    return session.scalar(found) is not None


def record_export(
    session: Session,
    *,
    actor: Actor,
    subjects: Iterable[int | str],
    fields: Sequence[str],
    reference: str,
) -> list[DataAccess]:
    """Log an export of people's data: one entry per data subject (a user id, or an
    enterprise's USCC), purpose ``export``."""
    return [
        record_access(
            session,
            user_id=subject if isinstance(subject, int) else None,
            enterprise_uscc=subject if isinstance(subject, str) else None,
            actor=actor,
            fields=fields,
            purpose="export",
            reference=reference,
        )
        for subject in dict.fromkeys(subjects)
    ]


def _newest_first(filters: AccessFilter) -> Select[tuple[DataAccess]]:
    return filters.apply(select(DataAccess)).order_by(DataAccess.at.desc(), DataAccess.id.desc())


def search(
    session: Session, *, filters: AccessFilter, limit: int = 50, offset: int = 0
) -> tuple[list[DataAccess], int]:
    """A page of the entries the filter lets through, newest first, and how many there are."""
    query = filters.apply(select(DataAccess))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(_newest_first(filters).limit(min(limit, MAX_PAGE)).offset(offset))
    return list(page), int(total)


def _of_one_subject(
    filters: AccessFilter | None, user_id: int | None, enterprise_uscc: str | None
) -> AccessFilter:
    if (user_id is None) == (enterprise_uscc is None):
        raise ValueError("name one person (user_id) or one enterprise (enterprise_uscc)")
    return replace(filters or AccessFilter(), user_id=user_id, enterprise_uscc=enterprise_uscc)


def accesses_of(
    session: Session,
    *,
    user_id: int | None = None,
    enterprise_uscc: str | None = None,
    filters: AccessFilter | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DataAccess], int]:
    """A page of the reads of one person's (or one enterprise's) data, newest first, and how
    many there are."""
    chosen = _of_one_subject(filters, user_id, enterprise_uscc)
    return search(session, filters=chosen, limit=limit, offset=offset)


def every_access(session: Session, *, filters: AccessFilter) -> Iterator[DataAccess]:
    """Every entry the filter lets through, newest first, read in batches (for exports)."""
    yield from session.scalars(_newest_first(filters).execution_options(yield_per=EXPORT_BATCH))
