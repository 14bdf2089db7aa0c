"""Governance rules: intake, routing, dedupe, the workflow, SLA, and what citizens may see.

Every function takes a session and leaves committing to the caller, so one HTTP request, CLI
command or event handler is one transaction.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict, forbidden, not_found
from cityloop.domains.governance import events
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import (
    Case,
    CaseEvent,
    Category,
    Dispute,
    Rating,
    Report,
    RoutingRule,
    SlaTarget,
)
from cityloop.domains.governance.workflow import (
    DEPARTMENT_SCOPED,
    OPEN_STATES,
    TRANSITIONS,
    Resolution,
    Status,
    Transition,
    allowed_actions,
)
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES, Role
from cityloop.platforms.application.identity.service import SYSTEM, Actor
from cityloop.platforms.application.media import service as media

CHANNELS = ("app", "hotline", "inspector", "staff", "open311", "system")
PRIORITIES = ("urgent", "normal", "low")
MAX_DESCRIPTION = 4000


# ---------------------------------------------------------------- catalogue


def list_categories(session: Session, include_inactive: bool = False) -> list[Category]:
    query = select(Category).order_by(Category.kind, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query))


def get_category(session: Session, code: str) -> Category | None:
    return session.get(Category, code)


def require_category(session: Session, code: str | None, field: str = "category") -> Category:
    if not code:
        raise bad_request("a category is required", field=field)
    category = session.get(Category, code)
    if category is None or not category.active:
        raise bad_request(f"unknown category {code!r}", field=field, type_="unknown-category")
    return category


def sla_for(session: Session, category_code: str, priority: str) -> SlaTarget | None:
    return session.get(SlaTarget, (category_code, priority))


# ---------------------------------------------------------------- routing


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str
    rule_id: int | None
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department_code,
            "rule_id": self.rule_id,
            "explanation": self.explanation,
        }


def route(session: Session, category: Category, district_code: str) -> RoutingDecision:
    """The most specific rule wins: (category, district), then (category, any district)."""
    rules = session.scalars(
        select(RoutingRule).where(
            RoutingRule.category_code == category.code,
            or_(RoutingRule.district_code == district_code, RoutingRule.district_code.is_(None)),
        )
    ).all()
    specific = [r for r in rules if r.district_code == district_code]
    if specific:
        rule = specific[0]
        return RoutingDecision(
            rule.department_code,
            rule.id,
            f"rule #{rule.id}: category {category.code} in district {district_code} "
            f"goes to {rule.department_code}",
        )
    fallback = [r for r in rules if r.district_code is None]
    if fallback:
        rule = fallback[0]
        return RoutingDecision(
            rule.department_code,
            rule.id,
            f"rule #{rule.id}: category {category.code} in any district "
            f"goes to {rule.department_code}",
        )
    return RoutingDecision(
        category.default_department,
        None,
        f"no routing rule: the default department of category {category.code}",
    )


# ---------------------------------------------------------------- intake


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


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    report: Report
    joined_existing: bool


def channel_for(actor: Actor) -> str:
    if actor.role in (Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER, Role.WORKER):
        return "staff"  # filed by city staff in the console, not by the public
    return {
        Role.HOTLINE: "hotline",
        Role.INSPECTOR: "inspector",
        "open311": "open311",
        "system": "system",
    }.get(actor.role, "app")


def _validate_attributes(category: Category, given: dict[str, Any]) -> dict[str, Any]:
    """Check values against the category's Open311 attribute definitions."""
    definitions = {a["code"]: a for a in category.attributes}
    clean: dict[str, Any] = {}
    for code, value in given.items():
        spec = definitions.get(code)
        if spec is None:
            raise bad_request(
                f"category {category.code} has no attribute {code!r}", field=f"attribute[{code}]"
            )
        datatype = spec["datatype"]
        allowed = {k for k, _ in spec.get("values", [])}
        if datatype == "multivaluelist":
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if str(v) not in allowed]
            if bad:
                raise bad_request(
                    f"{bad[0]!r} is not a value of {code}", field=f"attribute[{code}]"
                )
            clean[code] = [str(v) for v in values]
        elif datatype == "singlevaluelist":
            if str(value) not in allowed:
                raise bad_request(f"{value!r} is not a value of {code}", field=f"attribute[{code}]")
            clean[code] = str(value)
        elif datatype == "number":
            # bool is an int to Python, and a 400-digit JSON integer overflows a float.
            try:
                number = None if isinstance(value, bool) else float(value)
            except (TypeError, ValueError, OverflowError):
                number = None
            if number is None or not math.isfinite(number):
                raise bad_request(f"{code} must be a finite number", field=f"attribute[{code}]")
            clean[code] = number
        elif datatype == "datetime":
            try:
                clean[code] = datetime.fromisoformat(str(value)).isoformat()
            except ValueError as exc:
                raise bad_request(
                    f"{code} must be an ISO 8601 datetime", field=f"attribute[{code}]"
                ) from exc
        else:
            if len(str(value)) > 2000:
                raise bad_request(f"{code} is too long", field=f"attribute[{code}]")
            clean[code] = str(value)
    for code, spec in definitions.items():
        if spec.get("required") and code not in clean:
            raise bad_request(f"attribute {code} is required", field=f"attribute[{code}]")
    return clean


def check_report_attributes(
    session: Session, category_code: str, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The attributes a report of this category would be filed with, or a 400 naming one."""
    return _validate_attributes(require_category(session, category_code), attributes)


def _locate(session: Session, data: ReportInput) -> tuple[float, float, geo.Placement]:
    lat, lon = data.lat, data.lon
    if (lat is None) != (lon is None):
        raise bad_request("give both lat and long, or an address", field="lat")
    if lat is None or lon is None:
        if not data.address:
            raise bad_request("a location is required: lat and long, or an address", field="lat")
        found = geo.geocode(session, data.address)
        if found is None:
            raise bad_request(
                f"the address {data.address!r} was not found in the city; give lat and long",
                field="address_string",
            )
        lon, lat, _ = found
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("lat must be within ±90 and long within ±180", field="lat")
    placement = geo.place_point(session, lon, lat)
    if placement is None:
        metrics.INPUT_REJECTED.inc(reason="outside_city")
        raise bad_request(
            f"the point ({lat:.6f}, {lon:.6f}) is outside the city's jurisdictions",
            field="lat",
            type_="outside-city",
        )
    return lat, lon, placement


def nearby_open_cases(
    session: Session,
    category: Category,
    lat: float,
    lon: float,
    radius_m: float,
    since: datetime | None = None,
) -> list[tuple[float, Case]]:
    """Open cases of this category within ``radius_m``, nearest first, as (metres, case)."""
    min_lon, min_lat, max_lon, max_lat = geo.bounding_box(lon, lat, radius_m)
    query = select(Case).where(
        Case.category_code == category.code,
        Case.status.in_([s.value for s in OPEN_STATES]),
        Case.lat.between(min_lat, max_lat),
        Case.lon.between(min_lon, max_lon),
    )
    if since is not None:
        query = query.where(Case.created_at >= since)
    found = [(geo.distance_m(lon, lat, c.lon, c.lat), c) for c in session.scalars(query)]
    return sorted(
        ((d, c) for d, c in found if d <= radius_m), key=lambda pair: (pair[0], pair[1].id)
    )


def find_duplicate(
    session: Session, category: Category, lat: float, lon: float, now: datetime
) -> Case | None:
    """The nearest open case of the same category within the category's radius and window."""
    window = now - timedelta(hours=category.dedupe_window_hours)
    nearby = nearby_open_cases(session, category, lat, lon, category.dedupe_radius_m, window)
    return nearby[0][1] if nearby else None


def _serialise_intake(session: Session, category_code: str) -> None:
    """On PostgreSQL, two reports of one category wait for each other so dedupe sees both.
    SQLite writers are already serialised by BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"intake:{category_code}"}
        )


def submit_report(
    session: Session,
    actor: Actor,
    data: ReportInput,
    *,
    channel: str | None = None,
    reporter_user_id: int | None = None,
    allow_dedupe: bool = True,
) -> IntakeResult:
    channel = channel or channel_for(actor)
    if channel not in CHANNELS:
        raise bad_request(f"unknown channel {channel!r}", field="channel")
    category = require_category(session, data.category)
    description = (data.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise bad_request(f"description is over {MAX_DESCRIPTION} characters", field="description")
    # Only city staff set a priority; a public report takes its category's.
    priority = (data.priority if actor.is_staff else None) or category.priority
    if priority not in PRIORITIES:
        raise bad_request(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    attributes = _validate_attributes(category, data.attributes)
    media_ids = media.require_media(session, data.media_ids, field="media")
    lat, lon, placement = _locate(session, data)
    now = utcnow()
    _serialise_intake(session, category.code)

    report = Report(
        channel=channel,
        created_at=now,
        description=description,
        lat=lat,
        lon=lon,
        address=data.address,
        media_ids=media_ids,
        attributes=attributes,
        reporter_user_id=reporter_user_id,
        submitted_by=actor.username if actor.user_id else None,
        contact_name=data.contact_name,
        contact_email=data.contact_email,
        contact_phone=data.contact_phone,
        device_id=data.device_id,
        tracking_token=secrets.token_urlsafe(18),
    )

    if data.join_case_id is not None:
        existing = session.get(Case, data.join_case_id)
        if existing is None or Status(existing.status) not in OPEN_STATES:
            raise conflict(f"case {data.join_case_id} is not open; report the problem anew")
    elif allow_dedupe:
        existing = find_duplicate(session, category, lat, lon, now)
    else:
        existing = None
    if existing is not None:
        report.case_id = existing.id
        session.add(report)
        existing.supporters += 1
        existing.updated_at = now
        session.flush()
        _record(
            session,
            existing,
            "support",
            actor,
            existing.status,
            message=Message("supported"),
            data={"report_id": report.id, "channel": channel},
        )
        emit(session, events.CASE_SUPPORTED, events.AGGREGATE, existing.id, {
            "case_id": existing.id, "report_id": report.id, "channel": channel,
        })  # fmt: skip
        metrics.REPORTS_RECEIVED.inc(channel=channel, outcome="joined")
        return IntakeResult(existing, report, True)

    decision = route(session, category, placement.district.code)
    case = Case(
        status=Status.SUBMITTED,
        category_code=category.code,
        priority=priority,
        channel=channel,
        description=description,
        lat=lat,
        lon=lon,
        address=data.address,
        district_code=placement.district.code,
        street_code=placement.street.code if placement.street else None,
        grid_code=placement.grid.code if placement.grid else None,
        routing=decision.as_dict(),
        source_ref=data.source_ref,
        created_at=now,
        updated_at=now,
        last_public_update_at=now,
    )
    session.add(case)
    session.flush()
    report.case_id = case.id
    report.is_origin = True
    session.add(report)
    session.flush()
    _record(
        session,
        case,
        "submit",
        actor,
        Status.SUBMITTED,
        from_status=None,
        message=Message("received"),
        data={"report_id": report.id, "channel": channel, "routing": decision.as_dict()},
    )
    emit(session, events.CASE_CREATED, events.AGGREGATE, case.id, {
        "case_id": case.id, "category": category.code, "district": case.district_code,
        "channel": channel, "priority": priority,
    })  # fmt: skip
    metrics.REPORTS_RECEIVED.inc(channel=channel, outcome="created")
    if category.auto_dispatch:
        apply_action(session, case.id, SYSTEM, ActionInput("register", note="Auto-registered"))
        apply_action(
            session,
            case.id,
            SYSTEM,
            ActionInput("dispatch", department=decision.department_code, note="Auto-dispatched"),
        )
    return IntakeResult(case, report, False)


# ---------------------------------------------------------------- workflow


@dataclass
class ActionInput:
    action: str
    note: str | None = None
    department: str | None = None
    attachments: list[str] = field(default_factory=list)
    resolution: str | None = None
    referred_to: str | None = None
    merge_into: int | None = None
    public: bool | None = None


def can_see(actor: Actor, case: Case) -> bool:
    if actor.role == "system" or actor.role in CITY_WIDE_ROLES:
        return True
    if actor.role in DEPARTMENT_SCOPED:
        return case.department_code is not None and case.department_code == actor.department_code
    return actor.role in (Role.HOTLINE, Role.INSPECTOR)


def get_case_for(session: Session, actor: Actor, case_id: int, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update()
    case = session.scalar(query)
    # Another department's case reads as missing: its existence is not this user's business.
    if case is None or not can_see(actor, case):
        raise not_found("case", case_id)
    return case


def actions_for(actor: Actor, case: Case) -> list[str]:
    if not can_see(actor, case):
        return []
    names = allowed_actions(case.status, actor.role)
    return [n for n in names if _guard_ok(TRANSITIONS[n], case, None) is None]


def _guard_ok(transition: Transition, case: Case, data: ActionInput | None) -> str | None:
    """None if the named guard holds, else the reason it does not."""
    guard = transition.guard
    if guard == "open_dispute" and not case.dispute_open:
        return "there is no open dispute on this case"
    if guard == "dispute_if_closed" and case.status == Status.CLOSED and not case.dispute_open:
        return "a closed case is reopened only in answer to a citizen's dispute"
    if data is None:
        return None
    if guard == "other_department" and data.department and data.department == case.department_code:
        return f"the case is already with {data.department}"
    return None


def _needs(transition: Transition, data: ActionInput) -> None:
    if "note" in transition.needs and not (data.note and data.note.strip()):
        raise bad_request(f"{transition.action} needs a note", field="note")
    if "department" in transition.needs and not data.department:
        raise bad_request(f"{transition.action} needs a department", field="department")
    if "resolution" in transition.needs and data.resolution is None:
        raise bad_request(
            f"{transition.action} needs a resolution: " + ", ".join(r.value for r in Resolution),
            field="resolution",
        )
    if "merge_into" in transition.needs and data.merge_into is None:
        raise bad_request("merge needs merge_into: the case to merge into", field="merge_into")
    if transition.public_reason and data.public is False:
        raise bad_request(
            f"the note of {transition.action} is its public reason; it cannot be internal",
            field="public",
        )
    if (
        transition.action == "verify"
        and data.resolution == Resolution.NOT_ACTIONABLE
        and data.public is False
    ):
        raise bad_request("a not-actionable close states its reason publicly", field="public")
    if data.note and len(data.note) > MAX_DESCRIPTION:
        raise bad_request(f"note is over {MAX_DESCRIPTION} characters", field="note")


def _record(
    session: Session,
    case: Case,
    action: str,
    actor: Actor,
    to_status: str,
    *,
    from_status: str | object | None = ...,
    message: Message | None = None,
    note: str | None = None,
    note_public: bool = False,
    attachments: list[str] | None = None,
    data: dict[str, Any] | None = None,
    department_update: bool = True,
    notify: bool = True,
) -> CaseEvent:
    """Append a timeline row. A public row normally counts as the department's public update
    (resetting update_overdue) and notifies followers; ``department_update`` and ``notify``
    turn either off for rows the department did not write."""
    now = utcnow()
    public_message = message.render() if message else None
    if message:
        data = {**(data or {}), "message": message.as_dict()}
    event = CaseEvent(
        case_id=case.id,
        at=now,
        action=action,
        from_status=case.status if from_status is ... else from_status,
        to_status=to_status,
        actor=actor.username,
        actor_role=actor.role,
        department_code=case.department_code,
        public_message=public_message,
        note=note,
        note_public=bool(note and note_public),
        attachments=attachments or [],
        data=data or {},
    )
    session.add(event)
    session.flush()
    if (public_message or event.note_public) and department_update:
        case.last_public_update_at = now
        case.update_overdue = False
    if (public_message or event.note_public) and notify:
        emit(session, events.CASE_PUBLIC_UPDATE, events.AGGREGATE, case.id, {
            "case_id": case.id, "event_id": event.id, "action": action, "status": to_status,
        })  # fmt: skip
    return event


def _department_params(department: Any) -> dict[str, str]:
    return {"department": department.name, "department_zh": department.name_zh or department.name}


def _set_deadlines(session: Session, case: Case, now: datetime) -> None:
    sla = sla_for(session, case.category_code, case.priority)
    if sla is None:
        return
    case.response_due = now + timedelta(minutes=sla.response_minutes)
    case.resolution_due = now + timedelta(minutes=sla.resolution_minutes)


def apply_action(session: Session, case_id: int, actor: Actor, data: ActionInput) -> Case:
    transition = TRANSITIONS.get(data.action)
    if transition is None:
        raise bad_request(
            f"unknown action {data.action!r}; actions are {', '.join(TRANSITIONS)}",
            field="action",
        )
    case = get_case_for(session, actor, case_id, lock=True)
    if actor.role != "system" and actor.role not in transition.roles:
        raise forbidden(f"a {actor.role} may not {data.action} a case")
    if actor.role in DEPARTMENT_SCOPED and case.department_code != actor.department_code:
        raise forbidden(f"case {case.id} is not with your department")
    if Status(case.status) not in transition.sources:
        raise conflict(
            f"cannot {data.action} a case that is {case.status}",
            type_="illegal-transition",
            case_status=case.status,
            allowed_actions=actions_for(actor, case),
        )
    reason = _guard_ok(transition, case, data)
    if reason:
        raise conflict(reason, type_="illegal-transition", case_status=case.status)
    _needs(transition, data)
    attachments = media.require_media(session, data.attachments, field="attachments")

    now = utcnow()
    from_status = case.status
    to_status = transition.target or Status(case.status)
    note_public = transition.note_public if data.public is None else data.public
    effect = _EFFECTS.get(transition.action)
    step = Step(session, case, actor, data, attachments, now)
    message = effect(step) if effect else None
    case.status = to_status
    case.updated_at = now
    event = _record(
        session,
        case,
        transition.action,
        actor,
        to_status,
        from_status=from_status,
        message=message,
        note=data.note.strip() if data.note else None,
        note_public=note_public,
        attachments=attachments,
        data={
            k: v
            for k, v in {
                "department": data.department,
                "resolution": data.resolution,
                "referred_to": data.referred_to,
                "merge_into": data.merge_into,
            }.items()
            if v is not None
        },
    )
    emit(session, events.CASE_TRANSITIONED, events.AGGREGATE, case.id, {
        "case_id": case.id, "action": transition.action, "from": from_status, "to": to_status,
        "department": case.department_code, "event_id": event.id,
    })  # fmt: skip
    if actor.role != "system":
        identity.audit(
            session, actor, f"case.{transition.action}", f"case:{case.id}", {"to": to_status}
        )
    metrics.CASE_ACTIONS.inc(action=transition.action)
    return case


@dataclass(frozen=True)
class Step:
    """One action being applied: what an effect function may read and change."""

    session: Session
    case: Case
    actor: Actor
    data: ActionInput
    attachments: list[str]
    now: datetime


def _register(step: Step) -> Message:
    step.case.registered_at = step.now
    return Message("registered")


def _reject(step: Step) -> Message:
    step.case.closed_at = step.now
    return Message("rejected", {"reason": step.data.note or ""})


def _merge(step: Step) -> Message:
    case, session, target_id = step.case, step.session, step.data.merge_into
    if target_id == case.id:
        raise bad_request("a case cannot be merged into itself", field="merge_into")
    target = session.get(Case, target_id)
    if target is None or not can_see(step.actor, target):
        raise bad_request(f"case {target_id} does not exist", field="merge_into")
    if Status(target.status) not in OPEN_STATES:
        raise conflict(f"case {target_id} is {target.status}; merge into an open case")
    # The merged case's reporters become supporters of the target and follow it from now on.
    moved = session.scalars(select(Report).where(Report.case_id == case.id)).all()
    for report in moved:
        report.case_id = target.id
        report.is_origin = False
    target.supporters += len(moved)
    target.updated_at = step.now
    case.merged_into = target.id
    case.closed_at = step.now
    _record(
        session,
        target,
        "absorb",
        step.actor,
        target.status,
        message=Message("absorbed", {"case": str(case.id)}),
        data={"merged_case": case.id, "reports": [r.id for r in moved]},
    )
    return Message("merged", {"case": str(target.id)})


def _dispatch(step: Step) -> Message:
    case = step.case
    department = identity.require_department(step.session, step.data.department or "")
    routed = case.routing.get("department")
    if department.code != routed:
        override = f"dispatched to {department.code} by {step.actor.username} instead of {routed}"
        case.routing = {**case.routing, "override": override}
    case.department_code = department.code
    case.dispatched_at = step.now
    _set_deadlines(step.session, case, step.now)
    return Message("assigned", _department_params(department))


def _start(step: Step) -> Message:
    step.case.started_at = step.case.started_at or step.now
    return Message("started")


def _resolve(step: Step) -> Message:
    case = step.case
    proposed = step.data.resolution or Resolution.FIXED
    if proposed not in set(Resolution):
        raise bad_request(f"unknown resolution {proposed!r}", field="resolution")
    if proposed == Resolution.FIXED and not step.attachments:
        raise bad_request("resolving as fixed needs a proof photo", field="attachments")
    case.resolved_at = step.now
    case.resolution = proposed
    case.handled_on_time = case.resolution_due is None or step.now <= case.resolution_due
    return Message("resolved")


def _verify(step: Step) -> Message:
    case, data = step.case, step.data
    resolution = data.resolution or ""
    if resolution not in set(Resolution):
        raise bad_request(
            f"resolution must be one of {', '.join(r.value for r in Resolution)}",
            field="resolution",
        )
    if resolution == Resolution.REFERRED and not (data.referred_to and data.referred_to.strip()):
        raise bad_request(
            "a referred case names the outside body: referred_to", field="referred_to"
        )
    if resolution == Resolution.NOT_ACTIONABLE and not (data.note and data.note.strip()):
        raise bad_request("a not-actionable close gives its reason as the note", field="note")
    duplicate_of: int | None = None
    if resolution == Resolution.DUPLICATE:
        duplicate_of = data.merge_into
        if (
            duplicate_of is None
            or duplicate_of == case.id
            or step.session.get(Case, duplicate_of) is None
        ):
            raise bad_request(
                "a duplicate close names the other case: merge_into", field="merge_into"
            )
    case.resolution = resolution
    case.resolution_note = data.note
    case.referred_to = data.referred_to.strip() if data.referred_to else None
    case.duplicate_of = duplicate_of
    case.closed_at = step.now
    case.on_time = case.resolution_due is None or step.now <= case.resolution_due
    case.dispute_open = False
    params = {
        Resolution.FIXED: {},
        Resolution.REFERRED: {"body": case.referred_to or ""},
        Resolution.NOT_ACTIONABLE: {"reason": data.note or ""},
        Resolution.DUPLICATE: {"case": str(duplicate_of)},
    }
    return Message(f"closed_{resolution}", params[Resolution(resolution)])


def _reopen(step: Step) -> Message:
    case = step.case
    case.rework_count += 1
    if case.dispute_open:
        _answer_disputes(step.session, case, step.actor, "reopened", step.data.note, step.now)
    case.dispute_open = False
    case.resolved_at = case.closed_at = case.started_at = None
    case.resolution = case.resolution_note = None
    case.on_time = case.handled_on_time = None
    # Rework gets a fresh deadline; on-time figures still count the rework against the department.
    _set_deadlines(step.session, case, step.now)
    case.overdue = case.response_overdue = False
    return Message("reopened")


def _uphold(step: Step) -> Message:
    _answer_disputes(step.session, step.case, step.actor, "upheld", step.data.note, step.now)
    step.case.dispute_open = False
    return Message("upheld", {"reason": step.data.note or ""})


def _reassign(step: Step) -> Message:
    case = step.case
    department = identity.require_department(step.session, step.data.department or "")
    previous = case.department_code
    case.department_code = department.code
    case.started_at = None
    # The SLA clock keeps running: handing a case on does not buy time.
    case.routing = {**case.routing, "reassigned": f"{previous} → {department.code}"}
    return Message("handed_over", _department_params(department))


def _escalate(step: Step) -> None:
    step.case.escalated = True
    emit(step.session, events.CASE_ESCALATED, events.AGGREGATE, step.case.id, {
        "case_id": step.case.id, "department": step.case.department_code,
        "by": step.actor.username, "reason": "manual",
    })  # fmt: skip


# What each action does beyond moving the state; whether it is allowed is the table's business.
_EFFECTS: dict[str, Callable[[Step], Message | None]] = {
    "register": _register,
    "reject": _reject,
    "merge": _merge,
    "dispatch": _dispatch,
    "start": _start,
    "resolve": _resolve,
    "verify": _verify,
    "reopen": _reopen,
    "uphold": _uphold,
    "reassign": _reassign,
    "escalate": _escalate,
}


def _answer_disputes(
    session: Session, case: Case, actor: Actor, outcome: str, note: str | None, now: datetime
) -> None:
    for dispute in session.scalars(
        select(Dispute).where(Dispute.case_id == case.id, Dispute.outcome.is_(None))
    ):
        dispute.outcome = outcome
        dispute.answered_at = now
        dispute.answered_by = actor.username
        dispute.answer_note = note


# ---------------------------------------------------------------- queries


@dataclass
class CaseFilter:
    status: list[str] = field(default_factory=list)
    category: str | None = None
    district: str | None = None
    street: str | None = None
    grid: str | None = None
    department: str | None = None
    channel: str | None = None
    overdue: bool | None = None
    escalated: bool | None = None
    disputed: bool | None = None
    q: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: str = "-created"


SORTS = {
    "created": (Case.created_at.asc(), Case.id.asc()),
    "-created": (Case.created_at.desc(), Case.id.desc()),
    "updated": (Case.updated_at.asc(), Case.id.asc()),
    "-updated": (Case.updated_at.desc(), Case.id.desc()),
    # Soonest deadline first; cases without one last.
    "deadline": (Case.resolution_due.is_(None), Case.resolution_due.asc(), Case.id.asc()),
}


def _apply_filter(query: Select[Any], actor: Actor, f: CaseFilter) -> Select[Any]:
    if actor.role in DEPARTMENT_SCOPED:
        query = query.where(Case.department_code == actor.department_code)
    conditions = []
    for status in f.status:
        if status not in set(Status):
            raise bad_request(f"unknown status {status!r}", field="status")
    if f.status:
        conditions.append(Case.status.in_(f.status))
    for column, value in (
        (Case.category_code, f.category),
        (Case.district_code, f.district),
        (Case.street_code, f.street),
        (Case.grid_code, f.grid),
        (Case.department_code, f.department),
        (Case.channel, f.channel),
    ):
        if value:
            conditions.append(column == value)
    if f.overdue is not None:
        conditions.append(Case.overdue.is_(f.overdue))
    if f.escalated is not None:
        conditions.append(Case.escalated.is_(f.escalated))
    if f.disputed is not None:
        conditions.append(Case.dispute_open.is_(f.disputed))
    if f.created_after:
        conditions.append(Case.created_at >= f.created_after)
    if f.created_before:
        conditions.append(Case.created_at < f.created_before)
    if f.q:
        pattern = f"%{f.q.strip()}%"
        if f.q.strip().isdigit():
            conditions.append(or_(Case.id == int(f.q), Case.description.ilike(pattern)))
        else:
            conditions.append(or_(Case.description.ilike(pattern), Case.address.ilike(pattern)))
    return query.where(and_(*conditions)) if conditions else query


def list_cases(
    session: Session, actor: Actor, f: CaseFilter, page: int = 1, page_size: int = 50
) -> tuple[list[Case], int]:
    if f.sort not in SORTS:
        raise bad_request(f"sort must be one of {', '.join(SORTS)}", field="sort")
    if actor.role not in CITY_WIDE_ROLES | DEPARTMENT_SCOPED | {Role.HOTLINE, Role.INSPECTOR}:
        raise forbidden("this needs a staff account")
    base = _apply_filter(select(Case), actor, f)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(
        base.order_by(*SORTS[f.sort]).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), total


def is_public_event(event: CaseEvent) -> bool:
    """Whether citizens may see a timeline row: the one rule every public view applies."""
    return bool(event.public_message or event.note_public)


# The same rule as a SQL condition, for queries that filter many rows at once.
PUBLIC_EVENT_SQL = or_(
    and_(CaseEvent.public_message.is_not(None), CaseEvent.public_message != ""),
    CaseEvent.note_public.is_(True),
)


def timeline(session: Session, case_id: int, public_only: bool) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    rows = list(session.scalars(query))
    if public_only:
        rows = [e for e in rows if is_public_event(e)]
    return rows


def reports_of(session: Session, case_id: int) -> list[Report]:
    return list(
        session.scalars(select(Report).where(Report.case_id == case_id).order_by(Report.id))
    )


def case_photos(session: Session, case_id: int) -> dict[str, list[str]]:
    """Before: the reporters' photos. After: the department's proof photos."""
    return case_photos_many(session, [case_id])[case_id]


def case_photos_many(session: Session, case_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """:func:`case_photos` for many cases in two queries (list, map and queue views)."""
    photos: dict[int, dict[str, list[str]]] = {i: {"before": [], "after": []} for i in case_ids}
    if not case_ids:
        return photos
    for case_id, media_ids in session.execute(
        select(Report.case_id, Report.media_ids)
        .where(Report.case_id.in_(case_ids))
        .order_by(Report.id)
    ):
        before = photos[case_id]["before"]
        before.extend(m for m in media_ids if m not in before)
    for case_id, attachments in session.execute(
        select(CaseEvent.case_id, CaseEvent.attachments)
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.action == "resolve")
        .order_by(CaseEvent.id)
    ):
        photos[case_id]["after"].extend(attachments)
    return photos


def first_photos(session: Session, case_ids: list[int]) -> dict[int, str]:
    """The first reporter photo of each case that has one."""
    return {
        case_id: found["before"][0]
        for case_id, found in case_photos_many(session, case_ids).items()
        if found["before"]
    }


def public_map_cases(
    session: Session,
    *,
    bbox: tuple[float, float, float, float] | None,
    category: str | None,
    recent_days: int,
    limit: int,
) -> list[Case]:
    """What the public map shows: cases the city has accepted and still works on, and those
    closed in the last ``recent_days``. New, unregistered reports stay off it until registered."""
    query = select(Case).where(
        or_(
            Case.status.in_([s.value for s in OPEN_STATES if s != Status.SUBMITTED]),
            (Case.status == Status.CLOSED.value)
            & (Case.closed_at >= utcnow() - timedelta(days=recent_days)),
        )
    )
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(Case.lon.between(min_lon, max_lon), Case.lat.between(min_lat, max_lat))
    if category:
        query = query.where(Case.category_code == category)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def expected_at(session: Session, case: Case) -> datetime | None:
    """When the city expects the problem gone: the deadline once dispatched, else an estimate."""
    if case.status not in OPEN_STATES:
        return None
    if case.resolution_due:
        return case.resolution_due
    sla = sla_for(session, case.category_code, case.priority)
    return case.created_at + timedelta(minutes=sla.resolution_minutes) if sla else None


def merged_cases(session: Session, case_id: int) -> list[int]:
    return list(session.scalars(select(Case.id).where(Case.merged_into == case_id)))


def ratings_of(session: Session, case_id: int) -> list[Rating]:
    return list(session.scalars(select(Rating).where(Rating.case_id == case_id)))


def disputes_of(session: Session, case_id: int) -> list[Dispute]:
    return list(session.scalars(select(Dispute).where(Dispute.case_id == case_id)))


def open_disputes(session: Session, actor: Actor) -> list[Dispute]:
    if actor.role not in CITY_WIDE_ROLES:
        raise forbidden("the dispute queue is for the supervision centre")
    return list(
        session.scalars(select(Dispute).where(Dispute.outcome.is_(None)).order_by(Dispute.id))
    )


# ---------------------------------------------------------------- citizen side


def report_by_token(session: Session, token: str) -> Report | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Report).where(Report.tracking_token == token))


def follower_report(session: Session, case: Case, user_id: int | None, token: str | None) -> Report:
    """The report through which this citizen follows the case: theirs by account or token."""
    if token:
        report = report_by_token(session, token)
        if report is not None and report.case_id == case.id:
            return report
    if user_id is not None:
        report = session.scalar(
            select(Report)
            .where(Report.case_id == case.id, Report.reporter_user_id == user_id)
            .order_by(Report.id)
        )
        if report is not None:
            return report
    raise forbidden("only a reporter or supporter of this case may do this")


def public_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    return case


def rate_case(
    session: Session,
    case_id: int,
    stars: int,
    comment: str,
    *,
    user_id: int | None,
    token: str | None,
    window_hours: int,
) -> Rating:
    case = public_case(session, case_id)
    if case.status != Status.CLOSED:
        raise conflict("a case is rated once it is closed", type_="illegal-transition")
    if not 1 <= stars <= 5:
        raise bad_request("stars must be 1 to 5", field="stars")
    if case.closed_at and utcnow() > case.closed_at + timedelta(hours=window_hours):
        raise conflict("the rating window for this case has passed", type_="window-passed")
    report = follower_report(session, case, user_id, token)
    rating = session.scalar(select(Rating).where(Rating.report_id == report.id))
    if rating is None:
        rating = Rating(case_id=case.id, report_id=report.id, stars=stars, comment=comment)
        session.add(rating)
    else:  # a citizen may change their mind; one rating per report
        rating.stars, rating.comment, rating.at = stars, comment, utcnow()
    session.flush()
    _record(
        session,
        case,
        "evaluate",
        Actor(None, "citizen", Role.CITIZEN),
        case.status,
        data={"stars": stars, "report_id": report.id},
    )
    return rating


def dispute_case(
    session: Session,
    case_id: int,
    note: str,
    media_ids: list[str],
    *,
    user_id: int | None,
    token: str | None,
    window_hours: int,
) -> Dispute:
    case = public_case(session, case_id)
    if case.status != Status.CLOSED:
        raise conflict("only a closed case can be disputed", type_="illegal-transition")
    if case.closed_at and utcnow() > case.closed_at + timedelta(hours=window_hours):
        raise conflict(
            f"the dispute window ({window_hours} h after close) has passed", type_="window-passed"
        )
    if not note.strip():
        raise bad_request("say what is still wrong", field="note")
    report = follower_report(session, case, user_id, token)
    ids = media.require_media(session, media_ids, field="media")
    dispute = Dispute(case_id=case.id, report_id=report.id, note=note.strip(), media_ids=ids)
    session.add(dispute)
    case.dispute_open = True
    case.updated_at = utcnow()
    session.flush()
    _record(
        session,
        case,
        "dispute",
        Actor(None, "citizen", Role.CITIZEN),
        case.status,
        message=Message("disputed"),
        note=note.strip(),
        note_public=True,
        attachments=ids,
        data={"dispute_id": dispute.id, "report_id": report.id},
    )
    emit(session, events.CASE_ESCALATED, events.AGGREGATE, case.id, {
        "case_id": case.id, "department": case.department_code, "by": "citizen",
        "reason": "dispute",
    })  # fmt: skip
    return dispute


def my_reports(session: Session, user_id: int) -> list[tuple[Report, Case]]:
    rows = session.execute(
        select(Report, Case)
        .join(Case, Case.id == Report.case_id)
        .where(Report.reporter_user_id == user_id)
        .order_by(Report.id.desc())
    ).all()
    return [(r, c) for r, c in rows]


def followers(session: Session, case_id: int) -> list[Report]:
    """Every report that follows the case: the reporter and every supporter."""
    return reports_of(session, case_id)


# ---------------------------------------------------------------- SLA sweep


@dataclass
class SweepResult:
    overdue: list[int] = field(default_factory=list)
    response_overdue: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)


def sweep_deadlines(session: Session, now: datetime | None = None) -> SweepResult:
    """Flag late cases: overdue ones are escalated; silent ones are flagged to their department."""
    now = now or utcnow()
    result = SweepResult()
    active = [Status.DISPATCHED.value, Status.IN_PROGRESS.value]
    for case in session.scalars(
        select(Case).where(
            Case.status.in_(active), Case.overdue.is_(False), Case.resolution_due < now
        )
    ):
        case.overdue = True
        case.escalated = True
        _record(
            session,
            case,
            "overdue",
            SYSTEM,
            case.status,
            note=f"Past its resolution deadline {case.resolution_due:%Y-%m-%d %H:%M} UTC",
            data={"due": case.resolution_due.isoformat() if case.resolution_due else None},
        )
        emit(session, events.CASE_ESCALATED, events.AGGREGATE, case.id, {
            "case_id": case.id, "department": case.department_code, "by": "scheduler",
            "reason": "overdue",
        })  # fmt: skip
        result.overdue.append(case.id)
    for case in session.scalars(
        select(Case).where(
            Case.status == Status.DISPATCHED.value,
            Case.response_overdue.is_(False),
            Case.response_due < now,
        )
    ):
        case.response_overdue = True
        _record(session, case, "response_overdue", SYSTEM, case.status,
                note="No response within the response target")  # fmt: skip
        result.response_overdue.append(case.id)
    intervals = {c.code: c.update_interval_hours for c in list_categories(session, True)}
    open_states = [s.value for s in OPEN_STATES if s != Status.RESOLVED]
    for case in session.scalars(
        select(Case).where(Case.status.in_(open_states), Case.update_overdue.is_(False))
    ):
        interval = timedelta(hours=intervals.get(case.category_code, 72))
        if case.last_public_update_at + interval < now:
            case.update_overdue = True
            _record(session, case, "stale", SYSTEM, case.status,
                    note=f"No public update for over {interval}; post one")  # fmt: skip
            emit(session, events.CASE_FLAGGED, events.AGGREGATE, case.id, {
                "case_id": case.id, "department": case.department_code, "reason": "no_update",
            })  # fmt: skip
            result.stale.append(case.id)
    return result


def public_event(session: Session, event_id: int) -> CaseEvent | None:
    event = session.get(CaseEvent, event_id)
    if event is None or not is_public_event(event):
        return None
    return event


def changes_since(
    session: Session, actor: Actor, after_event_id: int, limit: int = 200
) -> tuple[int, list[tuple[CaseEvent, Case]]]:
    """Timeline rows after ``after_event_id`` on cases the actor may see (the live queue feed),
    and the newest id scanned, so rows the actor may not see still move the cursor on."""
    rows = session.execute(
        select(CaseEvent, Case)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.id > after_event_id)
        .order_by(CaseEvent.id)
        .limit(limit)
    ).all()
    cursor = rows[-1][0].id if rows else after_event_id
    return cursor, [(event, case) for event, case in rows if can_see(actor, case)]


def latest_event_id(session: Session) -> int:
    return session.scalar(select(func.max(CaseEvent.id))) or 0


# ---------------------------------------------------------------- sensors


def record_device_normal(
    session: Session, case_id: int, *, device_id: str, alarm_id: int, alarm_type: str
) -> CaseEvent | None:
    """A public timeline line: the sensor behind this case reports normal again.

    The case keeps its status: a sensor going quiet is not proof of a fix, so closing still
    goes through the supervision centre's verification. The line is the sensor's, not the
    department's: it neither counts as the department's public update nor resets
    update_overdue. At most one line per alarm, and followers are notified only when the
    previous public line was not already a device_normal one, so a flapping sensor does not
    flood them."""
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
        .where(CaseEvent.case_id == case_id, PUBLIC_EVENT_SQL)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return _record(
        session,
        case,
        "device_normal",
        SYSTEM,
        case.status,
        from_status=case.status,
        message=Message("device_normal", {"device": device_id}),
        data={"device_id": device_id, "alarm_id": alarm_id, "alarm_type": alarm_type},
        department_update=False,
        notify=latest_public != "device_normal",
    )


def open_device_case(session: Session, device_id: str, category_code: str) -> int | None:
    """The open (not closed, rejected or merged) case this device reported in this category.

    A sensor that raises the same alarm again while its case is open adds no report: it is one
    device, not one more citizen."""
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
