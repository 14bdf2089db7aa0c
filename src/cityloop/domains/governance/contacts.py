"""A reporter's contact details, opened on purpose by a staff member.

A staff answer about a case says only which contact details each report left; the details
themselves come one report at a time, for a named purpose. Each opening is audited, and when the
reporter has an account it lands in their access log (谁看了我的数据) with the fields read, the
purpose, and the reader's role and department. Notifications read the addresses themselves: that
is the platform sending, not a person reading, and it is not logged here.
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy.orm import Session

from cityloop.base.problems import Problem, not_found, unprocessable
from cityloop.domains.governance import queries
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Report
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access.service import record_access

# Why a staff member opens a contact; each is named in the access log's catalogue.
ContactPurpose = Literal["case_follow_up", "callback"]
CONTACT_PURPOSES: tuple[str, ...] = get_args(ContactPurpose)


def contact_fields(report: Report) -> list[str]:
    """The access-log field codes of the contact details the report holds."""
    present = {
        "contact_name": report.contact_name,
        "phone": report.contact_phone,
        "email": report.contact_email,
    }
    return [code for code, value in present.items() if value]


def open_contact(
    session: Session, *, case_id: int, report_id: int, actor: Actor, purpose: str
) -> Report:
    """The report whose contact details a staff member who may see its case opens; audited,
    and logged for the reporter when they have an account."""
    if purpose not in CONTACT_PURPOSES:
        raise unprocessable(
            Message(
                "governance.purpose_choices",
                {"items": ", ".join(CONTACT_PURPOSES), "purpose": repr(purpose)},
            ),
            field="purpose",
        )
    case = queries.get_case_for(session, actor=actor, case_id=case_id)
    report = session.get(Report, report_id)
    if report is None or report.case_id != case.id:
        raise not_found("report", report_id)
    fields = contact_fields(report)
    if not fields:
        raise Problem(
            404,
            "no-contact",
            Message("governance.report_left_contact_details", {"report_id": str(report.id)}),
        )
    reference = f"case:{case.id}"
    identity.audit(
        session,
        actor=actor,
        action="case.contact_read",
        target=reference,
        detail={"report": report.id, "purpose": purpose, "fields": fields},
    )
    if report.reporter_user_id is not None:
        record_access(
            session, user_id=report.reporter_user_id, actor=actor, fields=fields,
            purpose=purpose, reference=reference,
        )  # fmt: skip
    return report
