"""Request bodies and the shapes of case responses: a staff view and a public view.

The public view is built from an allow-list of fields, so reporter identity and internal notes
cannot leak into it by accident.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy.orm import Session

from cityloop.base.db import iso
from cityloop.domains.governance import queries, timeline
from cityloop.domains.governance.actions import actions_for
from cityloop.domains.governance.messages import render_stored
from cityloop.domains.governance.models import Case, CaseEvent, Category, Report
from cityloop.domains.governance.workflow import MAX_TEXT, OPEN311_CLOSED, Priority
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import STAFF_ROLES


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=20)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=400)
    description: str = Field(default="", max_length=MAX_TEXT)
    media: list[str] = Field(default_factory=list, max_length=10)
    attributes: dict[str, Any] = Field(default_factory=dict)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(default=None, max_length=40)
    priority: Priority | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=MAX_TEXT)
    department: str | None = Field(default=None, max_length=40)
    attachments: list[str] = Field(default_factory=list, max_length=10)
    resolution: str | None = Field(default=None, max_length=20)
    referred_to: str | None = Field(default=None, max_length=200)
    merge_into: int | None = Field(default=None, ge=1, le=2_147_483_647)
    public: bool | None = None


class BulkActionIn(ActionIn):
    case_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=1, max_length=500
    )


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    token: str | None = Field(default=None, max_length=64)


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=MAX_TEXT)
    media: list[str] = Field(default_factory=list, max_length=5)
    token: str | None = Field(default=None, max_length=64)


class SupportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(default="", max_length=MAX_TEXT)
    media: list[str] = Field(default_factory=list, max_length=10)
    contact_email: EmailStr | None = None


def category_out(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "kind": category.kind,
        "major_class": category.major_class,
        "group": category.major_name,
        "group_zh": category.major_name_zh,
        "name": category.name,
        "name_zh": category.name_zh,
        "description": category.description,
        "keywords": category.keywords,
        "icon": category.icon,
        "priority": category.priority,
        "auto_dispatch": category.auto_dispatch,
        "default_department": category.default_department,
        "dedupe_radius_m": category.dedupe_radius_m,
        "attributes": category.attributes,
    }


def _area(code: str | None, session: Session) -> dict[str, Any] | None:
    if not code:
        return None
    area = geo.jurisdiction_index(session).areas.get(code)
    return {
        "code": code,
        "name": area.name if area else code,
        "name_zh": area.name_zh if area else "",
    }


def _department(session: Session, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    department = identity.get_department(session, code)
    if department is None:
        return {"code": code, "name": code, "name_zh": ""}
    return {"code": department.code, "name": department.name, "name_zh": department.name_zh}


def event_out(event: CaseEvent, public: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event.id,
        "at": iso(event.at),
        "action": event.action,
        "from_status": event.from_status,
        "status": event.to_status,
        "message": event.public_message,
        "message_zh": render_stored(event.data.get("message"), "zh-CN"),
        "message_code": (event.data.get("message") or {}).get("code"),
        "note": timeline.public_note(event) if public else event.note,
        "attachments": timeline.public_attachments(event) if public else event.attachments,
    }
    if not public:
        body.update(
            actor=event.actor,
            actor_role=event.actor_role,
            department=event.department_code,
            note_public=event.note_public,
            data=event.data,
        )
    elif event.actor_role in STAFF_ROLES:
        body["by"] = "city staff"
    return body


def _common(
    session: Session, case: Case, photos: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    category = session.get(Category, case.category_code)
    if photos is None:
        photos = queries.case_photos(session, case_id=case.id)
    return {
        "id": case.id,
        "service_request_id": str(case.id),
        "status": case.status,
        "open311_status": "closed" if case.status in OPEN311_CLOSED else "open",
        "category": {
            "code": case.category_code,
            "name": category.name if category else case.category_code,
            "name_zh": category.name_zh if category else "",
        },
        "priority": case.priority,
        "description": case.description,
        "lat": case.lat,
        "lon": case.lon,
        "address": case.address,
        "district": _area(case.district_code, session),
        "street": _area(case.street_code, session),
        "grid": _area(case.grid_code, session),
        "department": _department(session, case.department_code),
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
        "photos": photos,
    }


def public_case_out(session: Session, case: Case) -> dict[str, Any]:
    body = _common(session, case)
    body["description"] = queries.public_description(case)
    body["photos"] = queries.public_photos(case, body["photos"])
    body["timeline"] = [
        event_out(e, True) for e in timeline.timeline(session, case_id=case.id, public_only=True)
    ]
    return body


def report_out(report: Report, staff: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": report.id,
        "case_id": report.case_id,
        "channel": report.channel,
        "is_origin": report.is_origin,
        "created_at": iso(report.created_at),
        "description": report.description,
        "lat": report.lat,
        "lon": report.lon,
        "media": report.media_ids,
        "attributes": report.attributes,
    }
    if staff:
        body.update(
            reporter_user_id=report.reporter_user_id,
            submitted_by=report.submitted_by,
            contact_name=report.contact_name,
            contact_email=report.contact_email,
            contact_phone=report.contact_phone,
            device_id=report.device_id,
        )
    return body


def staff_case_out(
    session: Session,
    case: Case,
    actor: identity.Actor,
    full: bool = True,
    photos: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    body = _common(session, case, photos)
    body.update(
        channel=case.channel,
        routing=case.routing,
        source_ref=case.source_ref,
        registered_at=iso(case.registered_at),
        dispatched_at=iso(case.dispatched_at),
        started_at=iso(case.started_at),
        resolved_at=iso(case.resolved_at),
        response_due=iso(case.response_due),
        resolution_due=iso(case.resolution_due),
        response_overdue=case.response_overdue,
        overdue=case.overdue,
        update_overdue=case.update_overdue,
        escalated=case.escalated,
        rework_count=case.rework_count,
        on_time=case.on_time,
        handled_on_time=case.handled_on_time,
        last_public_update_at=iso(case.last_public_update_at),
        allowed_actions=actions_for(actor, case),
    )
    if full:
        body["timeline"] = [
            event_out(e, False)
            for e in timeline.timeline(session, case_id=case.id, public_only=False)
        ]
        body["reports"] = [
            report_out(r, True) for r in queries.reports_of(session, case_id=case.id)
        ]
        body["merged_cases"] = queries.merged_cases(session, case_id=case.id)
        body["ratings"] = [
            {"stars": r.stars, "comment": r.comment, "at": iso(r.at)}
            for r in queries.ratings_of(session, case_id=case.id)
        ]
        body["disputes"] = [
            {
                "id": d.id,
                "note": d.note,
                "media": d.media_ids,
                "at": iso(d.at),
                "outcome": d.outcome,
                "answer_note": d.answer_note,
            }
            for d in queries.disputes_of(session, case_id=case.id)
        ]
    return body
