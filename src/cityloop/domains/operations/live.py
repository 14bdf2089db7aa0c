"""The operations centre's live feed: what changed on the city map, in order, for each viewer's
scope.

Changes are rows of ``ops_live_changes`` (the id is the cursor and each event's id, so a
reconnecting screen resumes with Last-Event-ID):

- a case's fact changed: written by :func:`note_cases` in the transaction that changed the fact,
  so the feed and the read model never disagree (operations never imports governance: the fact
  is the case as operations knows it);
- an alarm was raised, acknowledged or cleared: written by this package's outbox consumer of
  perception's alarm events;
- a field worker reported a position: written by the same consumer from identity's
  ``PositionReported`` (the event names the account; the consumer reads the point).

A device's state (online, offline, never seen) follows from time passing, not from an event, so
the feed compares each device's state with what it last sent on that connection
(:func:`device_states`). The feed polls the table like governance's queue feed polls its
timeline: one indexed query a second per screen, correct across server processes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.db import utcnow
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.base.problems import bad_request
from cityloop.domains.operations.citymap import DONE, device_rows, district_of
from cityloop.domains.operations.cuts import scoped
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import CaseFactRow, LiveChange
from cityloop.platforms.application.identity import crews as crew_registry
from cityloop.platforms.application.identity import positions
from cityloop.platforms.application.identity.events import PositionReported
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.perception.alarm_models import Alarm
from cityloop.platforms.data.perception.events import (
    AlarmAcknowledged,
    AlarmCleared,
    AlarmEvent,
    AlarmRaised,
)
from cityloop.platforms.data.perception.models import Device
from cityloop.platforms.data.perception.telemetry import as_utc

CONSUMER = "operations.live-map"
# How long changes are kept for a screen to resume from; older screens reload the map.
KEEP = timedelta(days=1)
# At most this many changes in one poll: a screen far behind catches up over a few polls.
BATCH = 500
# How long an id skipped by a poll is asked for again, and how far below the cursor to look.
GAP_SECONDS = 10.0
MAX_GAP_SPAN = 1000


def note_cases(session: Session, *, rows: Collection[CaseFactRow]) -> None:
    """Append a change for each of these cases' facts (codes, point, status; no personal data),
    in one statement."""
    if not rows:
        return
    at = utcnow()
    session.execute(
        insert(LiveChange),
        [
            {
                "at": at,
                "kind": "case",
                "ref": str(row.case_id),
                "district": row.district,
                "department": row.department,
                "data": _case_data(row),
            }
            for row in rows
        ],
    )


def _case_data(row: CaseFactRow) -> dict[str, Any]:
    due = row.resolution_due
    return {
        "id": row.case_id,
        "lat": round(row.lat, 6),
        "lon": round(row.lon, 6),
        "status": row.status,
        "priority": row.priority,
        "open": row.status not in DONE,
        "resolution_due": as_utc(due).isoformat() if due is not None else None,
        "category": row.category,
        "district": row.district,
        "department": row.department,
    }


def _note_alarm(session: Session, event: AlarmEvent) -> None:
    alarm = session.get(Alarm, event.alarm_id)
    if alarm is None:
        return  # deleted with its device since: nothing to show
    device = session.get(Device, alarm.originator_id)
    lat = device.lat if device is not None else None
    lon = device.lon if device is not None else None
    change = {
        AlarmRaised.type: "raised",
        AlarmAcknowledged.type: "acknowledged",
        AlarmCleared.type: "cleared",
    }[event.type]
    session.add(
        LiveChange(
            at=utcnow(),
            kind="alarm",
            ref=str(alarm.id),
            district=district_of(session, lat=lat, lon=lon),
            department=None,
            data={
                "id": alarm.id,
                "change": change,
                "lat": lat,
                "lon": lon,
                "severity": alarm.severity,
                "status": alarm.status,
                "type": alarm.type,
                "device_id": alarm.originator_id,
                "started_at": as_utc(alarm.started_at).isoformat(),
                "case_id": alarm.case_id,
            },
        )
    )


def _note_position(session: Session, event: PositionReported) -> None:
    user = session.get(User, event.user_id)
    place = positions.positions_of(session, user_ids=[event.user_id]).get(event.user_id)
    if user is None or place is None:
        return
    crew_ids = crew_registry.crew_ids_of(session, user_id=user.id)
    if not crew_ids:
        return  # the map shows crews: a worker in none is not on it
    session.add(
        LiveChange(
            at=utcnow(),
            kind="position",
            ref=str(user.id),
            district=district_of(session, lat=place.lat, lon=place.lon),
            department=user.department_code,
            data={
                "user_id": user.id,
                "username": user.username,
                "display_name": user.display_name,
                "lat": place.lat,
                "lon": place.lon,
                "at": as_utc(place.at).isoformat(),
                "crews": crew_ids,
            },
        )
    )


def _handle(session: Session, delivered: DeliveredEvent) -> None:
    event = delivered.event
    if isinstance(event, PositionReported):
        _note_position(session, event)
    elif isinstance(event, AlarmEvent):
        _note_alarm(session, event)


def subscribe(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    """Alarm events and reported positions become live changes."""
    consumers.subscribe(
        CONSUMER, (AlarmRaised, AlarmAcknowledged, AlarmCleared, PositionReported), _handle
    )


def latest_change_id(session: Session) -> int:
    """The newest change's id (0 when there is none): where a new screen starts."""
    return int(session.scalar(select(func.max(LiveChange.id))) or 0)


@dataclass(frozen=True)
class Change:
    id: int
    kind: str
    data: dict[str, Any]


def _visible(change: LiveChange, scope: dict[str, str]) -> bool:
    district = scope.get("district")
    if district and change.district != district:
        return False
    # Alarms belong to no department: a department's staff see the city's (or their district's).
    department = scope.get("department")
    return not department or change.kind == "alarm" or change.department == department


@dataclass(frozen=True)
class Poll:
    """One poll's answer: the changes to send, the cursor to ask from next, and the ids below
    the cursor that were not there yet (see :func:`missing_ids`)."""

    cursor: int
    changes: list[Change]
    missing: set[int]


def missing_ids(after: int, cursor: int, found: Collection[int], gaps: Collection[int]) -> set[int]:
    """Ids below ``cursor`` that a poll did not find: on PostgreSQL an id is taken when a row is
    written but seen only at commit, so a change may appear after a higher one was sent. The
    feed asks for these again for ``GAP_SECONDS`` (a rolled-back write leaves a gap for good)."""
    recent = range(max(after + 1, cursor - MAX_GAP_SPAN), cursor)
    return (set(recent) | set(gaps)) - set(found)


def changes_since(
    session: Session, *, actor: Actor, after: int, gaps: Collection[int] = ()
) -> Poll:
    """The changes after ``after`` (and any of ``gaps``) this actor may see, in id order."""
    scope = scoped(actor, {})
    condition = LiveChange.id > after
    if gaps:
        condition = or_(condition, LiveChange.id.in_(sorted(gaps)))
    rows = list(
        session.scalars(select(LiveChange).where(condition).order_by(LiveChange.id).limit(BATCH))
    )
    newer = [r.id for r in rows if r.id > after]
    cursor = newer[-1] if newer else after
    return Poll(
        cursor=cursor,
        changes=[Change(r.id, r.kind, dict(r.data)) for r in rows if _visible(r, scope)],
        missing=missing_ids(after, cursor, [r.id for r in rows], gaps),
    )


def device_states(session: Session, *, actor: Actor) -> dict[str, dict[str, Any]]:
    """Each device in scope as the map shows it, by id (for the feed to compare)."""
    scope = scoped(actor, {})
    rows = device_rows(session, district=scope.get("district"), now=utcnow())
    columns = ("id", "lat", "lon", "state", "last_seen_at", "battery", "profile", "name")
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def state_changes(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Devices whose state changed, appeared or went (``state`` None) between two readings."""
    changed = [
        device
        for device_id, device in after.items()
        if device_id not in before or before[device_id]["state"] != device["state"]
    ]
    gone = [{"id": device_id, "state": None} for device_id in before if device_id not in after]
    return changed + gone


def check_cursor(value: str | None) -> int | None:
    """A Last-Event-ID (header or query) as a cursor; 400 when it is not one."""
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise bad_request(Message("operations.bad_last_event_id"), field="Last-Event-ID")
    return int(value)


def prune(session: Session, *, now: datetime | None = None) -> int:
    """Drop changes older than KEEP; how many went."""
    cutoff = (now or utcnow()) - KEEP
    result = session.execute(delete(LiveChange).where(LiveChange.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_job(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return prune(session)
