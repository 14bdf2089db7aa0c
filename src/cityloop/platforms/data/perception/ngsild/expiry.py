"""Transient entities (the entity member ``expiresAt``, clause 4.22 of CIM 009 v1.9): past its
expiry an entity is hidden from every read at once and deleted by a periodic sweep, which emits
the delete change so subscriptions hear of it.

Hiding is one rule for every query: :func:`install_expiry` makes each ORM ``SELECT`` of
``NgsiEntity`` skip expired rows, so reads, writers' row locks, queries, types and temporal
lookups all agree that the entity is gone; the criterion reaches entities inside subqueries
too (counts over a subquery). The hook sees every ORM ``SELECT`` of the process, not only those
of entities: finding out whether a statement names ``NgsiEntity`` anywhere (a walk of the
statement) measured as costly as adding the criterion, so it is not attempted. The criterion
is built once, with "now" a bound parameter read when each statement runs: about 20 µs per
select, where building it per statement (a lambda closing over the time) cost 50. A new
entity that reuses an expired one's id first deletes the expired row (in the same flush), as
the sweep would have."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.rows import emit_change

# A statement run with this execution option also sees expired entities (the sweep's own).
INCLUDE_EXPIRED = "ngsild_include_expired"


# "Not expired", with the time taken when the statement runs (a cached statement included).
_UNEXPIRED = with_loader_criteria(
    NgsiEntity,
    or_(
        NgsiEntity.expires_at.is_(None),
        NgsiEntity.expires_at
        > bindparam("ngsild_expiry_now", callable_=utcnow, type_=NgsiEntity.expires_at.type),
    ),
    include_aliases=True,
)


def _hide_expired(state: ORMExecuteState) -> None:
    """Every ORM SELECT of entities skips those whose expiresAt has passed."""
    if not state.is_select or state.execution_options.get(INCLUDE_EXPIRED):
        return
    state.statement = state.statement.options(_UNEXPIRED)


def _expired_row(session: Session, *, tenant: str, entity_id: str) -> NgsiEntity | None:
    statement = (
        select(NgsiEntity)
        .where(
            NgsiEntity.tenant == tenant,
            NgsiEntity.entity_id == entity_id,
            NgsiEntity.expires_at <= utcnow(),
        )
        .execution_options(**{INCLUDE_EXPIRED: True})
    )
    return session.scalar(statement)


def _drop(session: Session, row: NgsiEntity) -> None:
    """Delete an expired entity now (not at the end of the flush) and emit its delete change."""
    emit_change(session, row=row, attributes=row.attrs or {}, deleted=True)
    session.expunge(row)
    session.execute(
        delete(NgsiEntity).where(NgsiEntity.id == row.id),
        execution_options={"synchronize_session": False},
    )


def _reuse_expired_ids(session: Session, _context: Any, _instances: Any) -> None:
    """Before a new entity is inserted, the expired entity holding its id is deleted."""
    for row in [item for item in session.new if isinstance(item, NgsiEntity)]:
        stale = _expired_row(session, tenant=row.tenant, entity_id=row.entity_id)
        if stale is not None:
            _drop(session, stale)


def install_expiry() -> None:
    """Register the session hooks that hide expired entities and free their ids (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _hide_expired):
        event.listen(Session, "do_orm_execute", _hide_expired)
        event.listen(Session, "before_flush", _reuse_expired_ids)


def sweep_expired(session: Session, *, now: datetime | None = None, limit: int = 500) -> int:
    """Delete up to ``limit`` entities whose expiresAt has passed; how many were deleted."""
    statement = (
        select(NgsiEntity)
        .where(NgsiEntity.expires_at <= (now or utcnow()))
        .order_by(NgsiEntity.expires_at)
        .limit(limit)
        .execution_options(**{INCLUDE_EXPIRED: True})
    )
    expired = list(session.scalars(statement))
    for row in expired:
        _drop(session, row)
    return len(expired)
