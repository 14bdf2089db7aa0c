"""Intake: a report from any channel either joins an open case of the same problem nearby or
opens a new case, located, routed and (for urgent categories) dispatched at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict
from cityloop.domains.governance import citizen, events, timeline
from cityloop.domains.governance.actions import ActionInput, apply_action
from cityloop.domains.governance.catalogue import require_category, validate_attributes
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, Category, Report
from cityloop.domains.governance.routing import RoutingDecision, route
from cityloop.domains.governance.workflow import (
    MAX_TEXT,
    OPEN_STATES,
    Channel,
    Priority,
    Status,
    is_open_to_join,
)
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity.roles import STAFF_ROLES, Caller, Role
from cityloop.platforms.application.identity.service import SYSTEM, Actor
from cityloop.platforms.application.media import service as media


@dataclass
class ReportInput:
    category: str | None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    description: str = ""
    media_ids: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    device_id: str | None = None
    priority: str | None = None
    source_ref: dict[str, Any] = field(default_factory=dict)
    # "Me too": support this case directly instead of searching for a duplicate.
    join_case_id: int | None = None
    # The reporter's language, so updates reach them in it.
    locale: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    report: Report
    joined_existing: bool


# Channels by the role of who files; staff in the console file on the staff channel.
_CHANNEL_OF_ROLE: dict[str, Channel] = {
    Role.HOTLINE: Channel.HOTLINE,
    Role.INSPECTOR: Channel.INSPECTOR,
    Caller.OPEN311: Channel.OPEN311,
    Caller.SYSTEM: Channel.SYSTEM,
}


def channel_for(actor: Actor) -> Channel:
    """The channel a report from this actor arrives on."""
    if actor.role in _CHANNEL_OF_ROLE:
        return _CHANNEL_OF_ROLE[actor.role]
    if actor.role in STAFF_ROLES:
        return Channel.STAFF  # filed by city staff in the console, not by the public
    return Channel.APP


def _locate(session: Session, data: ReportInput) -> tuple[float, float, geo.Placement]:
    lat, lon = data.lat, data.lon
    if (lat is None) != (lon is None):
        raise bad_request(Message("governance.give_both_lat_long"), field="lat")
    if lat is None or lon is None:
        if not data.address:
            raise bad_request(Message("governance.location_required_lat_long"), field="lat")
        found = geo.geocode(session, text=data.address)
        if found is None:
            raise bad_request(
                Message("governance.address_was_found_city", {"address": repr(data.address)}),
                field="address_string",
            )
        lon, lat, _ = found
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request(Message("governance.lat_within_long_within"), field="lat")
    placement = geo.place_point(session, lon=lon, lat=lat)
    if placement is None:
        metrics.INPUT_REJECTED.inc(reason="outside_city")
        raise bad_request(
            Message(
                "governance.outside_city",
                {"lat": format(lat, ".6f"), "lon": format(lon, ".6f")},
            ),
            field="lat",
            type_="outside-city",
        )
    return lat, lon, placement


# Built once: under load, building the expression cost as much as running it. The second form
# also bounds the cases' age (the category's dedupe window).
_NEARBY_OPEN = select(Case).where(
    Case.category_code == bindparam("category"),
    Case.status.in_([s.value for s in OPEN_STATES]),
    Case.lat.between(bindparam("min_lat"), bindparam("max_lat")),
    Case.lon.between(bindparam("min_lon"), bindparam("max_lon")),
)
_NEARBY_OPEN_SINCE = _NEARBY_OPEN.where(Case.created_at >= bindparam("since"))


def nearby_open_cases(
    session: Session,
    *,
    category: Category,
    lat: float,
    lon: float,
    radius_m: float,
    since: datetime | None = None,
) -> list[tuple[float, Case]]:
    """Open cases of this category within ``radius_m``, nearest first, as (metres, case)."""
    min_lon, min_lat, max_lon, max_lat = geo.bounding_box(lon, lat, radius_m)
    params: dict[str, Any] = {
        "category": category.code,
        "min_lat": min_lat,
        "max_lat": max_lat,
        "min_lon": min_lon,
        "max_lon": max_lon,
    }
    query = _NEARBY_OPEN
    if since is not None:
        query, params["since"] = _NEARBY_OPEN_SINCE, since
    found = [(geo.distance_m(lon, lat, c.lon, c.lat), c) for c in session.scalars(query, params)]
    return sorted(
        ((d, c) for d, c in found if d <= radius_m), key=lambda pair: (pair[0], pair[1].id)
    )


def find_duplicate(
    session: Session, *, category: Category, lat: float, lon: float, now: datetime
) -> Case | None:
    """The nearest open case of the same category within the category's radius and window."""
    nearby = nearby_open_cases(
        session,
        category=category,
        lat=lat,
        lon=lon,
        radius_m=category.dedupe_radius_m,
        since=now - timedelta(hours=category.dedupe_window_hours),
    )
    return nearby[0][1] if nearby else None


def _serialise_intake(session: Session, category_code: str) -> None:
    """On PostgreSQL, two reports of one category wait for each other so dedupe sees both.
    SQLite writers are already serialised by BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"intake:{category_code}"}
        )


@dataclass(frozen=True)
class PreparedReport:
    """A report checked, located and routed, ready to be written: everything that needs no
    write lock is done before it is taken."""

    data: ReportInput
    channel: str
    category: Category
    description: str
    priority: str
    attributes: dict[str, Any]
    media_ids: list[str]
    lat: float
    lon: float
    placement: geo.Placement
    decision: RoutingDecision
    reporter_user_id: int | None


def prepare_report(
    session: Session,
    *,
    actor: Actor,
    data: ReportInput,
    channel: str | None = None,
    reporter_user_id: int | None = None,
) -> PreparedReport:
    """Check a report, place its point and route it; reads only, so it runs before the write."""
    channel = channel or channel_for(actor)
    if channel not in set(Channel):
        raise bad_request(
            Message("governance.unknown_channel", {"channel": repr(channel)}), field="channel"
        )
    category = require_category(session, code=data.category)
    description = (data.description or "").strip()
    if len(description) > MAX_TEXT:
        raise bad_request(
            Message("governance.description_over_characters", {"limit": str(MAX_TEXT)}),
            field="description",
        )
    # Only city staff set a priority; a public report takes its category's.
    priority = (data.priority if actor.is_staff else None) or category.priority
    if priority not in set(Priority):
        raise bad_request(
            Message("governance.priority_choices", {"items": ", ".join(p.value for p in Priority)}),
            field="priority",
        )
    attributes = validate_attributes(category, data.attributes)
    media_ids = media.require_media(session, media_ids=data.media_ids, field="media")
    lat, lon, placement = _locate(session, data)
    decision = route(session, category=category, district_code=placement.district.code)
    return PreparedReport(
        data=data,
        channel=channel,
        category=category,
        description=description,
        priority=priority,
        attributes=attributes,
        media_ids=media_ids,
        lat=lat,
        lon=lon,
        placement=placement,
        decision=decision,
        reporter_user_id=reporter_user_id,
    )


def record_report(
    session: Session, *, prepared: PreparedReport, actor: Actor, allow_dedupe: bool = True
) -> IntakeResult:
    """Write a prepared report: joined to the open case it duplicates, or a new case."""
    data, category = prepared.data, prepared.category
    now = utcnow()
    _serialise_intake(session, category.code)
    report = Report(
        channel=prepared.channel,
        created_at=now,
        description=prepared.description,
        lat=prepared.lat,
        lon=prepared.lon,
        address=data.address,
        media_ids=prepared.media_ids,
        attributes=prepared.attributes,
        reporter_user_id=prepared.reporter_user_id,
        submitted_by=actor.username if actor.user_id else None,
        contact_name=data.contact_name,
        contact_email=data.contact_email,
        contact_phone=data.contact_phone,
        device_id=data.device_id,
        tracking_token=secrets.token_urlsafe(18),
        short_code=citizen.new_short_code(session),
        locale=data.locale,
    )
    existing: Case | None = None
    if data.join_case_id is not None:
        existing = session.get(Case, data.join_case_id)
        if existing is None or not is_open_to_join(existing.status):
            raise conflict(
                Message(
                    "governance.case_open_report_problem", {"join_case_id": str(data.join_case_id)}
                )
            )
    elif allow_dedupe:
        existing = find_duplicate(
            session, category=category, lat=prepared.lat, lon=prepared.lon, now=now
        )
    if existing is not None:
        return join_open_case(session, case=existing, report=report, actor=actor)
    return open_new_case(
        session,
        report=report,
        actor=actor,
        category=category,
        priority=prepared.priority,
        placement=prepared.placement,
        decision=prepared.decision,
        source_ref=data.source_ref,
    )


def submit_report(
    session: Session,
    *,
    actor: Actor,
    data: ReportInput,
    channel: str | None = None,
    reporter_user_id: int | None = None,
    allow_dedupe: bool = True,
) -> IntakeResult:
    """Check a report, then add it to the open case it duplicates or open a new case."""
    prepared = prepare_report(
        session, actor=actor, data=data, channel=channel, reporter_user_id=reporter_user_id
    )
    return record_report(session, prepared=prepared, actor=actor, allow_dedupe=allow_dedupe)


def join_open_case(session: Session, *, case: Case, report: Report, actor: Actor) -> IntakeResult:
    """Add a checked report to an open case as one more supporter."""
    report.case_id = case.id
    session.add(report)
    session.flush()  # the report's id, for its timeline row and event
    # Changed after that flush, so the case's one UPDATE goes with its timeline row's INSERT.
    case.supporters += 1
    case.updated_at = report.created_at
    timeline.record(
        session,
        case=case,
        action="support",
        actor=actor,
        to_status=case.status,
        message=Message("supported"),
        data={"report_id": report.id, "channel": report.channel},
    )
    emit(
        session, events.CaseSupported(case_id=case.id, report_id=report.id, channel=report.channel)
    )
    metrics.REPORTS_RECEIVED.inc_on_commit(session, channel=report.channel, outcome="joined")
    return IntakeResult(case, report, True)


def open_new_case(
    session: Session,
    *,
    report: Report,
    actor: Actor,
    category: Category,
    priority: str,
    placement: geo.Placement,
    decision: RoutingDecision,
    source_ref: dict[str, Any],
) -> IntakeResult:
    """Open a case for a checked and routed report, dispatched now if the category says."""
    now = report.created_at
    case = Case(
        status=Status.SUBMITTED,
        category_code=category.code,
        priority=priority,
        channel=report.channel,
        description=report.description,
        lat=report.lat,
        lon=report.lon,
        address=report.address,
        district_code=placement.district.code,
        street_code=placement.street.code if placement.street else None,
        grid_code=placement.grid.code if placement.grid else None,
        routing=decision.as_dict(),
        source_ref=source_ref,
        created_at=now,
        updated_at=now,
        last_public_update_at=now,
        content_public=not category.moderated,
    )
    session.add(case)
    session.flush()
    report.case_id = case.id
    report.is_origin = True
    session.add(report)
    session.flush()
    timeline.record(
        session,
        case=case,
        action="submit",
        actor=actor,
        to_status=Status.SUBMITTED,
        from_status=None,
        # The case's own time: its last public update stays as written, with no UPDATE.
        at=now,
        message=Message("received"),
        data={"report_id": report.id, "channel": report.channel, "routing": decision.as_dict()},
    )
    emit(
        session,
        events.CaseCreated(
            case_id=case.id,
            category=category.code,
            district=case.district_code,
            channel=report.channel,
            priority=priority,
        ),
    )
    metrics.REPORTS_RECEIVED.inc_on_commit(session, channel=report.channel, outcome="created")
    if category.auto_dispatch:
        register = ActionInput(
            "register", note="Auto-registered", note_message=Message("note.auto_registered")
        )
        apply_action(session, case_id=case.id, actor=SYSTEM, data=register, opened=case)
        dispatch = ActionInput(
            "dispatch",
            department=decision.department_code,
            note="Auto-dispatched",
            note_message=Message("note.auto_dispatched"),
        )
        apply_action(session, case_id=case.id, actor=SYSTEM, data=dispatch, opened=case)
    return IntakeResult(case, report, False)
