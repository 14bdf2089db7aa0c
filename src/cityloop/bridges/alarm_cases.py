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
from cityloop.domains.governance import service
from cityloop.platforms.application.identity.service import SYSTEM
from cityloop.platforms.data.perception import alarms as perception_alarms
from cityloop.platforms.data.perception import events as perception_events

log = logging.getLogger(__name__)
CONSUMER = "governance.alarm-cases"  # the name its delivery records carry; kept as it was


def on_alarm_raised(session: Session, event: DeliveredEvent) -> None:
    payload = event.payload
    category = payload.get("category")
    if not category:
        return
    alarm_id = int(payload["alarm_id"])
    lat, lon = payload.get("lat"), payload.get("lon")
    if lat is None or lon is None:
        perception_alarms.link_case(
            session, alarm_id, None, error="the device has no position to file a case at"
        )
        return
    device_id = str(payload["device_id"])
    known = service.open_device_case(session, device_id, str(category))
    if known is not None:
        # The same sensor again (a flapping one, say): the open case already has its report.
        perception_alarms.link_case(session, alarm_id, known)
        return
    data = service.ReportInput(
        category=str(category),
        lat=float(lat),
        lon=float(lon),
        description=f"Sensor alarm {payload['type']} ({payload['severity']}) on device {device_id}",
        device_id=device_id,
        attributes=dict(payload.get("case_attributes") or {}),
        source_ref={
            "kind": "alarm",
            "alarm_id": alarm_id,
            "alarm_type": payload["type"],
            "device_id": device_id,
            "entity_id": payload.get("entity_id"),
        },
    )
    try:
        with session.begin_nested():
            result = service.submit_report(session, SYSTEM, data, channel="system")
    except Problem as exc:
        # A device outside the city or a retired category: no case, and retrying cannot help.
        log.warning("alarm %s filed no case: %s", alarm_id, exc.detail)
        perception_alarms.link_case(session, alarm_id, None, error=exc.detail)
        return
    perception_alarms.link_case(session, alarm_id, result.case.id)


def on_alarm_cleared(session: Session, event: DeliveredEvent) -> None:
    payload = event.payload
    if not payload.get("automatic"):
        return  # an operator's clear says nothing about the street
    alarm_id = int(payload["alarm_id"])
    # Asked now rather than read from the payload: the case may have been filed after the clear.
    case_id = perception_alarms.case_of(session, alarm_id)
    if case_id is None:
        return
    service.record_device_normal(
        session,
        case_id,
        device_id=str(payload["device_id"]),
        alarm_id=alarm_id,
        alarm_type=str(payload["type"]),
    )


def check_case_target(session: Session, category_code: str, attributes: dict[str, Any]) -> None:
    """A rule's category must be active, and its case attributes valid for it."""
    category = service.get_category(session, category_code)
    if category is None or not category.active:
        raise bad_request(f"no active category {category_code!r}", field="category_code")
    try:
        service.check_report_attributes(session, category_code, attributes)
    except Problem as exc:
        raise bad_request(exc.detail, field="case_attributes") from exc


def _handle(session: Session, event: DeliveredEvent) -> None:
    if event.type == perception_events.ALARM_RAISED:
        on_alarm_raised(session, event)
    elif event.type == perception_events.ALARM_CLEARED:
        on_alarm_cleared(session, event)


def subscribe(consumers: ConsumerRegistry) -> None:
    # One consumer for both types, so a raise is always handled before its own clear.
    consumers.subscribe(
        CONSUMER, {perception_events.ALARM_RAISED, perception_events.ALARM_CLEARED}, _handle
    )
