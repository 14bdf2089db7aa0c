"""Alarms: raise (or extend), clear, acknowledge; the case link governance reports back.

The status is one of four values, ACTIVE/CLEARED × UNACK/ACK, and every manual or automatic
change goes through the ALARM_WORKFLOW table, so an illegal one is a 409 and never an ``if``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.metrics import Counter
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict, not_found
from cityloop.base.statemachine import Transition, TransitionTable
from cityloop.platforms.data.perception import events
from cityloop.platforms.data.perception.alarm_models import Alarm
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device
from cityloop.platforms.data.perception.rule_logic import SEVERITIES, SEVERITY_RANK
from cityloop.platforms.data.perception.telemetry import as_utc, check_query_moment

ACTIVE_UNACK = "ACTIVE_UNACK"
ACTIVE_ACK = "ACTIVE_ACK"
CLEARED_UNACK = "CLEARED_UNACK"
CLEARED_ACK = "CLEARED_ACK"
STATUSES = (ACTIVE_UNACK, ACTIVE_ACK, CLEARED_UNACK, CLEARED_ACK)
ACTIVE = (ACTIVE_UNACK, ACTIVE_ACK)

# Acknowledging keeps the condition; clearing keeps the ack.
ALARM_WORKFLOW = TransitionTable(
    "alarm",
    [
        Transition("ack", frozenset({ACTIVE_UNACK}), ACTIVE_ACK),
        Transition("ack", frozenset({CLEARED_UNACK}), CLEARED_ACK),
        Transition("clear", frozenset({ACTIVE_UNACK}), CLEARED_UNACK),
        Transition("clear", frozenset({ACTIVE_ACK}), CLEARED_ACK),
    ],
)
# Filters a list may use besides the four exact statuses.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "ACTIVE": ACTIVE,
    "CLEARED": (CLEARED_UNACK, CLEARED_ACK),
    "UNACK": (ACTIVE_UNACK, CLEARED_UNACK),
    "ACK": (ACTIVE_ACK, CLEARED_ACK),
    **{status: (status,) for status in STATUSES},
}

ALARMS_RAISED = Counter("cityloop_alarms_raised_total", "Alarms raised, by type and severity")
ALARMS_CLEARED = Counter("cityloop_alarms_cleared_total", "Alarms cleared, by type and how")


def _move(alarm: Alarm, action: str) -> str:
    target = ALARM_WORKFLOW.target(alarm.status, action)
    if target is None:
        raise conflict(
            Message(
                "perception.illegal_alarm_transition",
                {
                    "alarm_id": str(alarm.id),
                    "alarm_status": str(alarm.status),
                    "action": str(action),
                },
            ),
            type_="illegal-alarm-transition",
            status=alarm.status,
        )
    alarm.status = target
    return target


def open_alarm(
    session: Session, *, device_id: str, alarm_type: str, lock: bool = False
) -> Alarm | None:
    """The one not-yet-cleared alarm of this type on this device, if any."""
    # ``lock`` when the caller will change it: on PostgreSQL the row stays locked until commit, so
    # an operator's ack or clear and an automatic clear or extension never interleave.
    query = (
        select(Alarm)
        .where(
            Alarm.originator_id == device_id,
            Alarm.type == alarm_type,
            Alarm.status.in_(ACTIVE),
        )
        .order_by(Alarm.id.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    alarm = session.scalar(query)
    # Waiting for the lock, the row may have been cleared by whoever held it.
    return alarm if alarm is not None and alarm.status in ACTIVE else None


def raise_alarm(
    session: Session,
    *,
    device: Device,
    rule_id: int | None,
    alarm_type: str,
    severity: str,
    at: datetime,
    details: dict[str, Any],
    category_code: str | None = None,
    case_attributes: dict[str, Any] | None = None,
) -> tuple[Alarm, bool]:
    """Raise an alarm, or extend the open one of the same type: returns (alarm, created)."""
    # A repeat adds to the count, keeps the newest details and may raise the severity; only a new
    # alarm emits an event, so a chatty device files one case, not one per message.
    alarm = open_alarm(session, device_id=device.device_id, alarm_type=alarm_type, lock=True)
    if alarm is not None:
        alarm.count += 1
        alarm.last_seen_at = max(alarm.last_seen_at, at)
        alarm.details = {**alarm.details, **details}
        if SEVERITY_RANK[severity] > SEVERITY_RANK[alarm.severity]:
            alarm.severity = severity
        session.flush()
        return alarm, False
    alarm = Alarm(
        originator_id=device.device_id,
        entity_id=device.entity_id,
        type=alarm_type,
        severity=severity,
        status=ACTIVE_UNACK,
        rule_id=rule_id,
        started_at=at,
        last_seen_at=at,
        count=1,
        details=details,
        category_code=category_code,
    )
    session.add(alarm)
    session.flush()
    ALARMS_RAISED.inc(type=alarm_type, severity=severity)
    emit(
        session,
        events.AlarmRaised(
            alarm_id=alarm.id,
            device_id=device.device_id,
            entity_id=device.entity_id,
            alarm_type=alarm_type,
            severity=severity,
            category=category_code,
            lat=device.lat,
            lon=device.lon,
            started_at=at.isoformat(),
            case_attributes=case_attributes or {},
        ),
    )
    return alarm, True


def clear_alarm(
    session: Session, *, alarm: Alarm, at: datetime, by: str, details: dict[str, Any] | None = None
) -> Alarm:
    """Clear an alarm: ``by`` is "rule" when the device reports normal, else the user."""
    _move(alarm, "clear")
    alarm.ended_at = at
    alarm.cleared_by = by
    if details:
        alarm.details = {**alarm.details, **details}
    session.flush()
    automatic = by == "rule"
    ALARMS_CLEARED.inc(type=alarm.type, how="automatic" if automatic else "manual")
    emit(
        session,
        events.AlarmCleared(
            alarm_id=alarm.id,
            device_id=alarm.originator_id,
            alarm_type=alarm.type,
            case_id=alarm.case_id,
            automatic=automatic,
            ended_at=at.isoformat(),
        ),
    )
    return alarm


def get_alarm(session: Session, *, alarm_id: int, lock: bool = False) -> Alarm:
    """An alarm or a 404; ``lock`` (to change it) reads the committed row and holds it."""
    alarm = session.get(Alarm, alarm_id, with_for_update=lock or None, populate_existing=lock)
    if alarm is None:
        raise not_found("alarm", alarm_id)
    return alarm


def acknowledge(session: Session, *, alarm_id: int, username: str) -> Alarm:
    """An operator acknowledges an alarm; 409 when its state does not allow it."""
    alarm = get_alarm(session, alarm_id=alarm_id, lock=True)
    _move(alarm, "ack")
    alarm.acked_at = utcnow()
    alarm.acked_by = username
    session.flush()
    emit(
        session,
        events.AlarmAcknowledged(
            alarm_id=alarm.id,
            device_id=alarm.originator_id,
            alarm_type=alarm.type,
            acked_at=alarm.acked_at.isoformat(),
        ),
    )
    return alarm


def clear_manually(session: Session, *, alarm_id: int, username: str) -> Alarm:
    """An operator clears an alarm; the rule raises a new one if the condition still holds."""
    return clear_alarm(
        session, alarm=get_alarm(session, alarm_id=alarm_id, lock=True), at=utcnow(), by=username
    )


@dataclass
class AlarmFilter:
    status: str | None = None
    severity: str | None = None
    type: str | None = None
    originator: str | None = None
    # Alarms that started in [since, until).
    since: datetime | None = None
    until: datetime | None = None
    # Alarms raised by any of these rules, written "3,7" (what a vital sign's tile links to).
    rules: str | None = None


MAX_RULE_IDS = 50


def rule_ids(text: str) -> list[int]:
    """The rule ids of a ``rules`` filter; 400 for anything but up to 50 comma-separated ids."""
    parts = text.split(",")
    if len(parts) > MAX_RULE_IDS or not all(p.isdigit() and len(p) <= 9 for p in parts):
        raise bad_request(
            Message("perception.rule_ids", {"limit": str(MAX_RULE_IDS)}), field="rule"
        )
    return [int(p) for p in parts]


def list_alarms(
    session: Session, *, filters: AlarmFilter, offset: int = 0, limit: int = 50
) -> tuple[list[Alarm], int]:
    """Alarms matching the filter, newest first, with the total count."""
    query = select(Alarm)
    if filters.status is not None:
        group = STATUS_GROUPS.get(filters.status.upper())
        if group is None:
            raise bad_request(
                Message("perception.status_choices", {"items": ", ".join(STATUS_GROUPS)}),
                field="status",
            )
        query = query.where(Alarm.status.in_(group))
    if filters.severity is not None:
        if filters.severity.upper() not in SEVERITIES:
            raise bad_request(
                Message("perception.severity_choices", {"items": ", ".join(SEVERITIES)}),
                field="severity",
            )
        query = query.where(Alarm.severity == filters.severity.upper())
    if filters.type is not None:
        query = query.where(Alarm.type == filters.type)
    if filters.originator is not None:
        query = query.where(Alarm.originator_id == filters.originator)
    if filters.rules is not None:
        query = query.where(Alarm.rule_id.in_(rule_ids(filters.rules)))
    for name in ("since", "until"):
        check_query_moment(name, getattr(filters, name))
    if filters.since is not None:
        query = query.where(Alarm.started_at >= as_utc(filters.since))
    if filters.until is not None:
        if filters.since is not None and as_utc(filters.until) <= as_utc(filters.since):
            raise bad_request(Message("perception.until_after_since"), field="until")
        query = query.where(Alarm.started_at < as_utc(filters.until))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Alarm.started_at.desc(), Alarm.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total


# ---------------------------------------------------------------- what governance calls


def link_case(
    session: Session, *, alarm_id: int, case_id: int | None, error: str | None = None
) -> None:
    """Governance reports the case an alarm filed (or why it could not file one)."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        return  # the alarm was deleted with its device; nothing to link
    alarm.case_id = case_id
    if error:
        alarm.details = {**alarm.details, "case_error": error[:500]}
    session.flush()


def case_of(session: Session, *, alarm_id: int) -> int | None:
    """The case an alarm filed or supports, if governance has reported one."""
    return session.scalar(select(Alarm.case_id).where(Alarm.id == alarm_id))
