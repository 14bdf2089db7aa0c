"""From sensor alarms to cases: the bridge between perception's alarms and governance's cases.

A raised alarm whose rule names a category is filed as a report on the "system" channel at the
device's position, so routing, SLA, auto-dispatch and dedupe apply exactly as for a citizen's
report. Perception learns the case id through its own service function; when the device reports
normal again the case gets a public timeline line, and stays open.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.base.problems import Problem, bad_request
from cityloop.bridges.messages import Message
from cityloop.domains.governance import catalogue, sensors
from cityloop.domains.governance.intake import ReportInput, submit_report
from cityloop.domains.governance.workflow import Channel
from cityloop.platforms.application.identity.service import SYSTEM
from cityloop.platforms.data.perception import alarms as perception_alarms
from cityloop.platforms.data.perception.events import AlarmCleared, AlarmRaised

log = logging.getLogger(__name__)
CONSUMER = "governance.alarm-cases"  # the name its delivery records carry; kept as it was


def on_alarm_raised(session: Session, alarm: AlarmRaised) -> None:
    """File the alarm as a report on the system channel (or link it to the device's open case)."""
    if not alarm.category:
        return
    if alarm.lat is None or alarm.lon is None:
        perception_alarms.link_case(
            session,
            alarm_id=alarm.alarm_id,
            case_id=None,
            error="the device has no position to file a case at",
        )
        return
    known = sensors.open_device_case(
        session, device_id=alarm.device_id, category_code=alarm.category
    )
    if known is not None:
        # The same sensor again (a flapping one, say): the open case already has its report.
        perception_alarms.link_case(session, alarm_id=alarm.alarm_id, case_id=known)
        return
    data = ReportInput(
        category=alarm.category,
        lat=alarm.lat,
        lon=alarm.lon,
        description=(
            f"Sensor alarm {alarm.alarm_type} ({alarm.severity}) on device {alarm.device_id}"
        ),
        device_id=alarm.device_id,
        attributes=dict(alarm.case_attributes),
        source_ref={
            "kind": "alarm",
            "alarm_id": alarm.alarm_id,
            "alarm_type": alarm.alarm_type,
            "device_id": alarm.device_id,
            "entity_id": alarm.entity_id,
        },
    )
    try:
        with session.begin_nested():
            result = submit_report(session, actor=SYSTEM, data=data, channel=Channel.SYSTEM)
    except Problem as exc:
        # A device outside the city or a retired category: no case, and retrying cannot help.
        log.warning("alarm %s filed no case: %s", alarm.alarm_id, exc.detail)
        perception_alarms.link_case(
            session, alarm_id=alarm.alarm_id, case_id=None, error=exc.detail
        )
        return
    perception_alarms.link_case(session, alarm_id=alarm.alarm_id, case_id=result.case.id)


def on_alarm_cleared(session: Session, alarm: AlarmCleared) -> None:
    """A device back to normal adds a line to its case's timeline; the case stays open."""
    if not alarm.automatic:
        return  # an operator's clear says nothing about the street
    # Asked now rather than read from the event: the case may have been filed after the clear.
    case_id = perception_alarms.case_of(session, alarm_id=alarm.alarm_id)
    if case_id is None:
        return
    sensors.record_device_normal(
        session,
        case_id=case_id,
        device_id=alarm.device_id,
        alarm_id=alarm.alarm_id,
        alarm_type=alarm.alarm_type,
    )


def check_case_target(session: Session, category_code: str, attributes: dict[str, Any]) -> None:
    """A rule's category must be active, and its case attributes valid for it."""
    if catalogue.active_category(session, code=category_code) is None:
        raise bad_request(
            Message("bridges.unknown_category", {"category_code": repr(category_code)}),
            field="category_code",
        )
    try:
        catalogue.check_report_attributes(
            session, category_code=category_code, attributes=attributes
        )
    except Problem as exc:
        raise bad_request(exc.message or exc.detail, field="case_attributes") from exc


def _handle(session: Session, delivered: DeliveredEvent) -> None:
    event = delivered.event
    if isinstance(event, AlarmRaised):
        on_alarm_raised(session, event)
    elif isinstance(event, AlarmCleared):
        on_alarm_cleared(session, event)


def subscribe(consumers: ConsumerRegistry) -> None:
    """One consumer for both types, so a raise is always handled before its own clear."""
    consumers.subscribe(CONSUMER, [AlarmRaised, AlarmCleared], _handle)
