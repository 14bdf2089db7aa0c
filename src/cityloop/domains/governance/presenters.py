"""Builders of the case routes' answers (``responses.py``) from stored rows.

The public view is built from an allow-list of fields into its own models, so reporter identity
and internal notes cannot leak into it by accident. Builders make model instances directly: the
route hands them to FastAPI, which serialises them in Pydantic's core without validating twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.contracts import Named
from cityloop.base.db import iso
from cityloop.domains.governance import queries, timeline
from cityloop.domains.governance import responses as out
from cityloop.domains.governance.actions import actions_for
from cityloop.domains.governance.catalogue import category_name
from cityloop.domains.governance.contacts import ContactPurpose, contact_fields
from cityloop.domains.governance.messages import render_stored
from cityloop.domains.governance.models import Case, CaseEvent, Category, Report
from cityloop.domains.governance.routing import routing_out
from cityloop.domains.governance.workflow import (
    CASE_WORKFLOW,
    OPEN311_CLOSED,
    OPEN_STATES,
    TERMINAL,
    Channel,
    Priority,
    Resolution,
    Status,
)
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import departments
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import Crew, User
from cityloop.platforms.application.identity.roles import STAFF_ROLES


def attribute_out(attribute: dict[str, Any], locale: str = "en") -> dict[str, Any]:
    """A category's question with its text and choices also in the reader's ``locale`` (the
    English and Chinese stay beside them, for the console that edits both)."""
    english = [(str(key), str(name)) for key, name in attribute.get("values") or []]
    chinese = {str(key): str(name) for key, name in attribute.get("values_zh") or []}
    zh = locale.startswith("zh")
    return {
        **attribute,
        "question": (attribute.get("description_zh") if zh else None)
        or attribute.get("description", ""),
        "choices": [(key, (chinese.get(key) if zh else None) or name) for key, name in english],
    }


def category_out(category: Category, locale: str = "en") -> out.Category:
    """A category of problem, its questions also in the reader's ``locale``."""
    return out.Category(
        code=category.code,
        kind=category.kind,
        major_class=category.major_class,
        group=category.major_name,
        group_zh=category.major_name_zh,
        name=category.name,
        name_zh=category.name_zh,
        description=category.description,
        keywords=category.keywords,
        icon=category.icon,
        priority=category.priority,
        auto_dispatch=category.auto_dispatch,
        moderated=category.moderated,
        default_department=category.default_department,
        dedupe_radius_m=category.dedupe_radius_m,
        attributes=[attribute_out(a, locale) for a in category.attributes],
    )


class Names:
    """The names a case answer shows (its category, areas and department), each looked up once
    per answer: a page of 200 cases shares a handful of them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._found: dict[tuple[str, str], Named] = {}
        self._assignees: dict[tuple[str, str], out.Assignee] = {}

    def category(self, code: str) -> Named:
        found = self._found.get(("category", code))
        if found is None:
            category = category_name(self.session, code=code)
            found = Named(
                code=code,
                name=category.name if category else code,
                name_zh=category.name_zh if category else "",
            )
            self._found["category", code] = found
        return found

    def area(self, code: str | None) -> Named | None:
        if not code:
            return None
        found = self._found.get(("area", code))
        if found is None:
            area = geo.jurisdiction_index(self.session).areas.get(code)
            found = Named(
                code=code, name=area.name if area else code, name_zh=area.name_zh if area else ""
            )
            self._found["area", code] = found
        return found

    def assignee(self, case: Case) -> out.Assignee | None:
        if case.assignee_user_id is not None:
            key = ("worker", str(case.assignee_user_id))
            if key not in self._assignees:
                user = self.session.get(User, case.assignee_user_id)
                name = (user.display_name or user.username) if user else ""
                self._assignees[key] = out.Assignee(
                    kind="worker",
                    id=case.assignee_user_id,
                    name=name,
                    name_zh=user.display_name_zh if user else "",
                )
            return self._assignees[key]
        if case.assignee_crew_id is not None:
            key = ("crew", str(case.assignee_crew_id))
            if key not in self._assignees:
                crew = self.session.get(Crew, case.assignee_crew_id)
                self._assignees[key] = out.Assignee(
                    kind="crew", id=case.assignee_crew_id, name=crew.name if crew else ""
                )
            return self._assignees[key]
        return None

    def department(self, code: str | None) -> Named | None:
        if not code:
            return None
        found = self._found.get(("department", code))
        if found is None:
            department = departments.department_name(self.session, code=code)
            found = (
                Named(code=department.code, name=department.name, name_zh=department.name_zh)
                if department
                else Named(code=code, name=code, name_zh="")
            )
            self._found["department", code] = found
        return found


def _row_fields(event: CaseEvent, locale: str) -> dict[str, object]:
    message = event.data.get("message") or {}
    return {
        "id": event.id,
        "at": iso(event.at),
        "action": event.action,
        "from_status": event.from_status,
        "status": event.to_status,
        "message": timeline.message_text(event, locale),
        "message_zh": render_stored(event.data.get("message"), "zh-CN"),
        "message_code": message.get("code"),
    }


def public_event_out(event: CaseEvent, locale: str = "en") -> out.PublicTimelineRow:
    """A timeline row as citizens see it (``timeline`` decides what of it is public), its line
    in the reader's ``locale``."""
    return out.PublicTimelineRow(
        **_row_fields(event, locale),
        note=timeline.public_note(event),
        attachments=timeline.public_attachments(event),
        by="city staff" if event.actor_role in STAFF_ROLES else None,
    )


def staff_event_out(event: CaseEvent, locale: str = "en") -> out.StaffTimelineRow:
    """A timeline row as staff see it, its line in the reader's ``locale``."""
    return out.StaffTimelineRow(
        **_row_fields(event, locale),
        note=timeline.staff_note(event, locale),
        attachments=event.attachments,
        actor=event.actor,
        actor_role=event.actor_role,
        department=event.department_code,
        note_public=event.note_public,
        data=event.data,
    )


def _common(
    session: Session, case: Case, photos: dict[str, list[str]], names: Names | None = None
) -> dict[str, object]:
    names = names or Names(session)
    return {
        "id": case.id,
        "service_request_id": str(case.id),
        "status": case.status,
        "open311_status": "closed" if case.status in OPEN311_CLOSED else "open",
        "category": names.category(case.category_code),
        "priority": case.priority,
        "description": case.description,
        "lat": case.lat,
        "lon": case.lon,
        "address": case.address,
        "district": names.area(case.district_code),
        "street": names.area(case.street_code),
        "grid": names.area(case.grid_code),
        "department": names.department(case.department_code),
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "expected_at": iso(queries.expected_at(session, case=case)),
        "closed_at": iso(case.closed_at),
        "resolution": case.resolution if case.closed_at else None,
        "resolution_note": case.resolution_note if case.closed_at else None,
        "referred_to": case.referred_to,
        "duplicate_of": case.duplicate_of,
        "merged_into": case.merged_into,
        "supporters": case.supporters,
        "dispute_open": case.dispute_open,
        "photos": out.Photos(**photos),
    }


def public_case_out(
    session: Session,
    case: Case,
    locale: str = "en",
    report_photos: queries.ReportPhotos | None = None,
) -> out.PublicCase:
    """A case as the public sees it, its timeline in the reader's ``locale``; pass
    ``report_photos`` when they came with the case (``queries.case_and_report_photos``)."""
    parts = queries.public_parts(session, case_ids=[case.id], report_photos=report_photos)
    body = _common(session, case, queries.public_photos(case, parts[case.id].photos))
    body["description"] = queries.public_description(case)
    return out.PublicCase(
        **body, timeline=[public_event_out(e, locale) for e in parts[case.id].events]
    )


def report_out(report: Report) -> out.CaseReport:
    """A report for staff: which contact details it left, not the details themselves."""
    fields = contact_fields(report)
    return out.CaseReport(
        id=report.id,
        case_id=report.case_id,
        channel=report.channel,
        is_origin=report.is_origin,
        created_at=iso(report.created_at),
        description=report.description,
        lat=report.lat,
        lon=report.lon,
        media=report.media_ids,
        attributes=report.attributes,
        reporter_user_id=report.reporter_user_id,
        submitted_by=report.submitted_by,
        has_contact=bool(fields),
        contact_fields=fields,
        device_id=report.device_id,
    )


def _staff_fields(
    case: Case, actor: identity.Actor, names: Names, locale: str
) -> dict[str, object]:
    return {
        "assignee": names.assignee(case),
        "channel": case.channel,
        "routing": routing_out(case.routing, locale),
        "source_ref": case.source_ref,
        "registered_at": iso(case.registered_at),
        "dispatched_at": iso(case.dispatched_at),
        "started_at": iso(case.started_at),
        "resolved_at": iso(case.resolved_at),
        "response_due": iso(case.response_due),
        "resolution_due": iso(case.resolution_due),
        "response_overdue": case.response_overdue,
        "overdue": case.overdue,
        "update_overdue": case.update_overdue,
        "escalated": case.escalated,
        "rework_count": case.rework_count,
        "on_time": case.on_time,
        "handled_on_time": case.handled_on_time,
        "last_public_update_at": iso(case.last_public_update_at),
        "allowed_actions": actions_for(actor, case),
    }


def staff_case_summary(
    session: Session,
    case: Case,
    actor: identity.Actor,
    photos: dict[str, list[str]] | None = None,
    names: Names | None = None,
    locale: str = "en",
) -> out.StaffCaseSummary:
    """A case as a queue row. For many cases pass ``photos`` from ``queries.case_photos_many``
    and one :class:`Names`."""
    if photos is None:
        photos = queries.case_photos(session, case_id=case.id)
    names = names or Names(session)
    return out.StaffCaseSummary(
        **_common(session, case, photos, names), **_staff_fields(case, actor, names, locale)
    )


def my_work_case(
    session: Session,
    case: Case,
    actor: identity.Actor,
    group: str,
    photos: dict[str, list[str]],
    names: Names,
    locale: str = "en",
) -> out.MyWorkCase:
    """A case in "my work": a queue row and the group it is in."""
    return out.MyWorkCase(
        **_common(session, case, photos, names),
        **_staff_fields(case, actor, names, locale),
        group=group,  # type: ignore[arg-type]
    )


def staff_case_out(
    session: Session, case: Case, actor: identity.Actor, locale: str = "en"
) -> out.StaffCase:
    """A case with its full timeline, reports, merged cases, ratings and disputes; its lines in
    the reader's ``locale``."""
    rows = timeline.timeline(session, case_id=case.id, public_only=False)
    names = Names(session)
    return out.StaffCase(
        **_common(session, case, queries.case_photos(session, case_id=case.id), names),
        **_staff_fields(case, actor, names, locale),
        timeline=[staff_event_out(e, locale) for e in rows],
        reports=[report_out(r) for r in queries.reports_of(session, case_id=case.id)],
        merged_cases=queries.merged_cases(session, case_id=case.id),
        ratings=[
            out.CaseRating(stars=r.stars, comment=r.comment, at=iso(r.at))
            for r in queries.ratings_of(session, case_id=case.id)
        ],
        disputes=[
            out.CaseDispute(
                id=d.id,
                note=d.note,
                media=d.media_ids,
                at=iso(d.at),
                outcome=d.outcome,
                answer_note=d.answer_note,
            )
            for d in queries.disputes_of(session, case_id=case.id)
        ],
    )


# ------------------------------------------------------------------ the vocabulary

# How far along each status is, in the words front ends colour by.
STATUS_PHASES: dict[Status, out.Phase] = {
    Status.SUBMITTED: "intake",
    Status.REGISTERED: "intake",
    Status.DISPATCHED: "work",
    Status.IN_PROGRESS: "work",
    Status.RESOLVED: "done",
    Status.CLOSED: "done",
    Status.REJECTED: "ended",
    Status.MERGED: "ended",
}


def vocabulary() -> out.Vocabulary:
    """The statuses, resolutions, priorities, channels and actions, from the workflow's enums
    and its transition table: the one list every front end reads."""
    return out.Vocabulary(
        statuses=[
            out.StatusTerm(
                code=status,
                open=status in OPEN_STATES,
                terminal=status in TERMINAL,
                open311_closed=status in OPEN311_CLOSED,
                phase=STATUS_PHASES[status],
            )
            for status in Status
        ],
        resolutions=[
            out.ResolutionTerm(code=r, phase="done" if r == Resolution.FIXED else "ended")
            for r in Resolution
        ],
        priorities=list(Priority),
        channels=list(Channel),
        actions=[
            out.ActionTerm(
                code=row.action,
                from_statuses=[s for s in Status if s in row.sources],
                to_status=row.target,
                roles=sorted(row.roles),
                needs=sorted(row.needs),
                note_public=row.note_public,
                public_reason=row.public_reason,
                counts_as_rework=row.counts_as_rework,
            )
            for row in CASE_WORKFLOW.rows
        ],
    )


def contact_out(report: Report, *, purpose: ContactPurpose) -> out.ReportContact:
    """A report's contact details as a staff member opened them."""
    return out.ReportContact(
        case_id=report.case_id,
        report_id=report.id,
        purpose=purpose,
        contact_name=report.contact_name,
        contact_email=report.contact_email,
        contact_phone=report.contact_phone,
        logged_for_reporter=report.reporter_user_id is not None,
    )
