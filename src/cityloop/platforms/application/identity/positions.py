"""Field workers' last reported positions: a worker's or inspector's device reports where it
is, and the operations centre shows its crews where they were last.

A position is personal data. One row per account holds only the latest report (no track is
kept), the report emits :class:`PositionReported` naming the account and not the place, and
whoever reads positions records the read (the operations centre audits it and writes the access
log each worker can read).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, forbidden
from cityloop.platforms.application.identity.events import PositionReported
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import WorkerPosition
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

# Who works in the street and reports a position: field workers and grid inspectors.
FIELD_ROLES = frozenset({Role.WORKER, Role.INSPECTOR})
# A fix from the future (a phone's clock off by more than this) is refused, not stored.
CLOCK_SKEW = timedelta(minutes=5)


def report_position(
    session: Session,
    *,
    actor: Actor,
    lat: float,
    lon: float,
    accuracy_m: float | None = None,
    at: datetime | None = None,
) -> WorkerPosition:
    """Keep a field account's latest position; an older fix than the one kept changes nothing."""
    if actor.role not in FIELD_ROLES or actor.user_id is None:
        raise forbidden(Message("identity.position_field_roles"))
    now = utcnow()
    moment = now if at is None else at
    if moment.tzinfo is None:
        raise bad_request(Message("identity.position_needs_time_zone"), field="at")
    moment = moment.astimezone(UTC)
    if moment > now + CLOCK_SKEW:
        raise bad_request(Message("identity.position_in_future"), field="at")
    row = session.get(WorkerPosition, actor.user_id, with_for_update=True)
    if row is not None and moment <= _utc(row.at):
        return row  # a late retry of an older fix: the newer one stays
    if row is None:
        row = WorkerPosition(user_id=actor.user_id, lat=lat, lon=lon, at=moment)
        session.add(row)
    row.lat, row.lon, row.accuracy_m, row.at = lat, lon, accuracy_m, moment
    session.flush()
    emit(session, PositionReported(user_id=actor.user_id, at=moment))
    return row


def positions_of(session: Session, *, user_ids: Iterable[int]) -> dict[int, WorkerPosition]:
    """The latest position of each of these accounts that reported one."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = session.scalars(select(WorkerPosition).where(WorkerPosition.user_id.in_(wanted)))
    return {row.user_id: row for row in rows}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
