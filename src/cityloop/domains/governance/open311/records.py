"""Open311 request records and updates, built from an allow-list so reporter contact details
and internal notes cannot reach a response."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.domains.governance import queries as governance_queries
from cityloop.domains.governance import timeline
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, CaseEvent, Category, SlaTarget
from cityloop.domains.governance.open311.catalogue import wants_chinese
from cityloop.domains.governance.open311.queries import UpdateQuery
from cityloop.domains.governance.workflow import OPEN311_CLOSED
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import Department

# ---------------------------------------------------------------- request records


def event_text(event: CaseEvent, locale: str = "en") -> str:
    """What a citizen may read of one event, as Open311 status notes show it."""
    return timeline.public_text(event, separator=" — ", locale=locale)


_NOTE_TYPES = {"comment": "comment", "dispute": "dispute", "support": "support"}


def _note_type(event: CaseEvent) -> str:
    if event.action in _NOTE_TYPES:
        return _NOTE_TYPES[event.action]
    return "status_change" if event.from_status != event.to_status else "update"


def media_url(base_url: str, media_id: str) -> str:
    """A photo's absolute URL on the deployment's public base URL."""
    return f"{base_url.rstrip('/')}/api/v1/media/{media_id}"


@dataclass
class _Loaded:
    """Everything a page of records needs beyond the cases, in two queries, not two per case."""

    before: dict[int, list[str]]
    after: dict[int, list[str]]
    public_events: dict[int, list[CaseEvent]]


def _load(session: Session, case_ids: Sequence[int]) -> _Loaded:
    loaded = _Loaded({i: [] for i in case_ids}, {i: [] for i in case_ids}, {})
    if not case_ids:
        return loaded
    for case_id, photos in governance_queries.case_photos_many(
        session, case_ids=list(case_ids)
    ).items():
        loaded.before[case_id], loaded.after[case_id] = photos["before"], photos["after"]
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id.in_(case_ids), timeline.PUBLIC_EVENT_SQL)
        .order_by(CaseEvent.id)
    )
    for event in events:
        loaded.public_events.setdefault(event.case_id, []).append(event)
    return loaded


def _status_notes(case: Case, events: list[CaseEvent], locale: str) -> str | None:
    if case.status in OPEN311_CLOSED:
        # A closed request explains how it was closed: fixed, referred (to whom), not
        # actionable (why), duplicate, rejected or merged, even after later comments.
        closing = [e for e in events if e.to_status == case.status and e.from_status != e.to_status]
        if closing:
            return event_text(closing[-1], locale) or None
    if not events:
        return None
    return event_text(events[-1], locale) or None


def _area(index: geo.JurisdictionIndex, code: str | None, zh: bool) -> dict[str, Any] | None:
    if not code:
        return None
    area = index.areas.get(code)
    name = ((area.name_zh or area.name) if zh else area.name) if area else code
    return {"code": code, "name": name}


def _hold_lookups(session: Session, cases: Sequence[Case]) -> list[object]:
    """The page's categories, departments and SLA targets, read in three queries and held.

    The session's identity map keeps rows only while something references them, so without
    this each ``session.get`` below read its row again: two or three queries per record, most
    of a 1,000-record page's time."""
    codes = {c.category_code for c in cases}
    departments = {c.department_code for c in cases if c.department_code}
    if not codes:
        return []
    return [
        *session.scalars(select(Category).where(Category.code.in_(codes))),
        *session.scalars(select(Department).where(Department.code.in_(departments))),
        *session.scalars(select(SlaTarget).where(SlaTarget.category_code.in_(codes))),
    ]


def request_records(
    session: Session,
    *,
    cases: Sequence[Case],
    base_url: str,
    extensions: bool = False,
    locale: str | None = None,
) -> list[dict[str, Any]]:
    """Public records, built field by field from an allow-list."""
    # No contact details, no account, no internal note can get in.
    zh = wants_chinese(locale)
    reader = "zh-CN" if zh else "en"
    loaded = _load(session, [c.id for c in cases])
    held = _hold_lookups(session, cases)  # noqa: F841  (kept alive for the loop below)
    index = geo.jurisdiction_index(session) if extensions else None
    records: list[dict[str, Any]] = []
    for case in cases:
        category = session.get(Category, case.category_code)  # identity map: one query per code
        department = (
            identity.get_department(session, code=case.department_code)
            if case.department_code
            else None
        )
        events = loaded.public_events.get(case.id, [])
        shown = governance_queries.public_photos(
            case, {"before": loaded.before[case.id], "after": loaded.after[case.id]}
        )
        photos = shown["before"] + [m for m in shown["after"] if m not in shown["before"]]
        photo_urls = [media_url(base_url, m) for m in photos]
        # Only what this adapter itself put in source_ref, and only its public keys.
        given = case.source_ref if "open311_client" in case.source_ref else {}
        notice = None
        if case.merged_into:
            notice = Message("open311.merged", {"case": str(case.merged_into)}).render(reader)
        elif case.duplicate_of:
            notice = Message("open311.duplicate", {"case": str(case.duplicate_of)}).render(reader)
        record: dict[str, Any] = {
            "service_request_id": str(case.id),
            "status": "closed" if case.status in OPEN311_CLOSED else "open",
            "status_notes": _status_notes(case, events, reader),
            "service_name": (
                ((category.name_zh or category.name) if zh else category.name)
                if category
                else case.category_code
            ),
            "service_code": case.category_code,
            "description": governance_queries.public_description(case),
            "agency_responsible": (
                ((department.name_zh or department.name) if zh else department.name)
                if department
                else None
            ),
            "service_notice": notice,
            "requested_datetime": _iso(case.created_at),
            "updated_datetime": _iso(case.updated_at),
            "expected_datetime": _iso(governance_queries.expected_at(session, case=case)),
            "address": case.address,
            "address_id": given.get("address_id"),
            "zipcode": None,
            "lat": case.lat,
            "long": case.lon,
            # Our own copy when there is one; else the URL the client gave (never fetched).
            "media_url": photo_urls[0] if photo_urls else _given_media_url(case, given),
        }
        if extensions and index is not None:
            record["extended_attributes"] = {
                "channel": case.channel,
                "photos": photo_urls,
                "resolution": case.resolution if case.closed_at else None,
                "supporters": case.supporters,
                "district": _area(index, case.district_code, zh),
                "grid": _area(index, case.grid_code, zh),
            }
            record["notes"] = [
                {
                    "datetime": _iso(e.at),
                    "description": event_text(e, reader),
                    "type": _note_type(e),
                }
                for e in events
            ]
        records.append(record)
    return records


def _given_media_url(case: Case, given: dict[str, Any]) -> str | None:
    # The client's own photo URL is its reporter's content: held back like the description.
    return given.get("media_url") if case.content_public else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def request_updates(session: Session, *, query: UpdateQuery, base_url: str) -> list[dict[str, Any]]:
    """Public timeline events, oldest first: a feed a client replays in order."""
    q = query
    statement = select(CaseEvent).where(timeline.PUBLIC_EVENT_SQL, CaseEvent.at >= q.start)
    if q.end is not None:
        statement = statement.where(CaseEvent.at <= q.end)
    if q.ids is not None:
        statement = statement.where(CaseEvent.case_id.in_(q.ids))
    statement = (
        statement.order_by(CaseEvent.at, CaseEvent.id)
        .offset((q.page - 1) * q.page_size)
        .limit(q.page_size)
    )
    updates: list[dict[str, Any]] = []
    for event in session.scalars(statement):
        if not timeline.is_public_event(event):
            continue
        photos = timeline.public_attachments(event)
        updates.append(
            {
                "update_id": str(event.id),
                "service_request_id": str(event.case_id),
                "status": "closed" if event.to_status in OPEN311_CLOSED else "open",
                "updated_datetime": _iso(event.at),
                "description": event_text(event),
                "media_url": media_url(base_url, photos[0]) if photos else None,
            }
        )
    return updates
