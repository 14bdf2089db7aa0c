"""What governance offers the bridge from sensor alarms: the device's open case, and the
"sensor reports normal again" timeline line."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.domains.governance import timeline
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, CaseEvent, Report
from cityloop.domains.governance.workflow import OPEN_STATES
from cityloop.platforms.application.identity.service import SYSTEM


def record_device_normal(
    session: Session, *, case_id: int, device_id: str, alarm_id: int, alarm_type: str
) -> CaseEvent | None:
    """A public timeline line: the sensor behind this case reports normal again."""
    # The case keeps its status: a sensor going quiet is not proof of a fix, so closing still
    # goes through the supervision centre's verification. The line is the sensor's, not the
    # department's: it neither counts as the department's public update nor resets
    # update_overdue. At most one line per alarm, and followers are notified only when the
    # previous public line was not already a device_normal one, so a flapping sensor does not
    # flood them.
    case = session.get(Case, case_id)
    if case is None:
        return None
    lines = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "device_normal")
    ).all()
    if any(line.data.get("alarm_id") == alarm_id for line in lines):
        return None
    latest_public = session.scalar(
        select(CaseEvent.action)
        .where(CaseEvent.case_id == case_id, timeline.PUBLIC_EVENT_SQL)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return timeline.record(
        session,
        case=case,
        action="device_normal",
        actor=SYSTEM,
        to_status=case.status,
        from_status=case.status,
        message=Message("device_normal", {"device": device_id}),
        data={"device_id": device_id, "alarm_id": alarm_id, "alarm_type": alarm_type},
        department_update=False,
        notify=latest_public != "device_normal",
    )


def open_device_case(session: Session, *, device_id: str, category_code: str) -> int | None:
    """The open case this device reported in this category, if any."""
    # A sensor that raises the same alarm again while its case is open adds no report: it is
    # one device, not one more citizen.
    return session.scalar(
        select(Case.id)
        .join(Report, Report.case_id == Case.id)
        .where(
            Report.device_id == device_id,
            Case.category_code == category_code,
            Case.status.in_([s.value for s in OPEN_STATES]),
        )
        .order_by(Case.id.desc())
        .limit(1)
    )
