"""Reading cases: who may see which case, the staff list with its filters, photos, the public
map and the live feed's changes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request, forbidden, not_found
from cityloop.domains.governance.catalogue import cached_sla
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, CaseEvent, Dispute, Rating, Report
from cityloop.domains.governance.timeline import PUBLIC_EVENT_SQL, is_public_event
from cityloop.domains.governance.workflow import DEPARTMENT_SCOPED, OPEN_STATES, Status
from cityloop.platforms.application.identity.roles import CITY_WIDE_ROLES, Caller, Role
from cityloop.platforms.application.identity.service import Actor

# Staff who may list cases: the city-wide roles, the departments (their own cases) and the
# hotline and inspectors (who take reports and check for duplicates).
CASE_READERS = CITY_WIDE_ROLES | DEPARTMENT_SCOPED | {Role.HOTLINE, Role.INSPECTOR}


def can_see(actor: Actor, case: Case) -> bool:
    """Whether this actor may read this case: departments see only their own."""
    if actor.role == Caller.SYSTEM or actor.role in CITY_WIDE_ROLES:
        return True
    if actor.role in DEPARTMENT_SCOPED:
        return case.department_code is not None and case.department_code == actor.department_code
    return actor.role in (Role.HOTLINE, Role.INSPECTOR)


def get_case_for(session: Session, *, actor: Actor, case_id: int, lock: bool = False) -> Case:
    """The case if this actor may see it (locked for update when ``lock``), else a 404."""
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update()
    case = session.scalar(query)
    # Another department's case reads as missing: its existence is not this user's business.
    if case is None or not can_see(actor, case):
        raise not_found("case", case_id)
    return case


def public_description(case: Case) -> str | None:
    """The case's description if the public may read it (not held for moderation, not
    rejected)."""
    return case.description if case.content_public else None


def public_photos(case: Case, photos: dict[str, list[str]]) -> dict[str, list[str]]:
    """The case's photos the public may see: the reporters' only with its description."""
    if case.content_public:
        return photos
    return {"before": [], "after": photos.get("after", [])}


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


_NEVER = datetime.max.replace(tzinfo=UTC)


def _apply_filter(query: Select[Any], actor: Actor, f: CaseFilter) -> Select[Any]:
    if actor.role in DEPARTMENT_SCOPED:
        query = query.where(Case.department_code == actor.department_code)
    conditions = []
    for status in f.status:
        if status not in set(Status):
            raise bad_request(
                Message("governance.unknown_status", {"status": repr(status)}), field="status"
            )
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
    session: Session, *, actor: Actor, filters: CaseFilter, page: int = 1, page_size: int = 50
) -> tuple[list[Case], int]:
    """One page of the cases this actor may see, and how many match in all."""
    if filters.sort not in SORTS:
        raise bad_request(
            Message("governance.sort_choices", {"items": ", ".join(SORTS)}), field="sort"
        )
    if actor.role not in CASE_READERS:
        raise forbidden(Message("governance.staff_account"))
    base = _apply_filter(select(Case), actor, filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    offset = (page - 1) * page_size
    if _splits(actor, filters, offset + page_size):
        return _page_by_status(session, actor, filters, offset, page_size), total
    rows = session.scalars(base.order_by(*SORTS[filters.sort]).offset(offset).limit(page_size))
    return list(rows), total


# A queue sorted by deadline over several states (a department's open cases) is read one state
# at a time, each in the order of ix_cases_department_queue and cut at the page, then merged:
# one sorted read of the whole backlog costs as much as the backlog, this as much as the page.
SPLIT_UP_TO = 1000  # rows from each state; deeper pages read the backlog once, sorted


def _splits(actor: Actor, filters: CaseFilter, rows: int) -> bool:
    return (
        filters.sort == "deadline"
        and (filters.department is not None or actor.role in DEPARTMENT_SCOPED)
        and len(set(filters.status)) > 1
        and rows <= SPLIT_UP_TO
    )


def _page_by_status(
    session: Session, actor: Actor, filters: CaseFilter, offset: int, page_size: int
) -> list[Case]:
    parts = []
    for status in sorted(set(filters.status)):
        just_one = replace(filters, status=[status])
        one = _apply_filter(select(Case.resolution_due, Case.id), actor, just_one)
        # NULLs sort first in an index: the dated cases, then the undated, each in index order.
        # Only the keys (the index has them), all in one statement; the page's rows are read
        # once chosen.
        dated = one.where(Case.resolution_due.is_not(None)).order_by(Case.resolution_due, Case.id)
        undated = one.where(Case.resolution_due.is_(None)).order_by(Case.id)
        parts += [_cut(dated, offset + page_size), _cut(undated, offset + page_size)]
    keys = sorted(
        (due is None, due or _NEVER, case_id) for due, case_id in session.execute(union_all(*parts))
    )
    return _by_ids(session, [case_id for _, _, case_id in keys[offset : offset + page_size]])


def _cut(query: Select[Any], rows: int) -> Select[Any]:
    """``query``'s first ``rows`` rows, as a part of a UNION ALL that keeps its order and limit."""
    return select(query.limit(rows).subquery())


def _by_ids(session: Session, ids: list[int]) -> list[Case]:
    """The cases with these ids, in this order."""
    rows = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    return [rows[i] for i in ids]


def reports_of(session: Session, *, case_id: int) -> list[Report]:
    """Every report on the case: the first reporter's and each supporter's."""
    return list(
        session.scalars(select(Report).where(Report.case_id == case_id).order_by(Report.id))
    )


def case_photos(session: Session, *, case_id: int) -> dict[str, list[str]]:
    """Before: the reporters' photos. After: the department's proof photos."""
    return case_photos_many(session, case_ids=[case_id])[case_id]


def case_photos_many(session: Session, *, case_ids: list[int]) -> dict[int, dict[str, list[str]]]:
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


# Each case's reports' photo lists, in report order: what the "before" photos are made of.
ReportPhotos = dict[int, list[list[str]]]


@dataclass
class PublicParts:
    """What a public record shows beyond the case row: its photos (as :func:`case_photos`,
    before the public filter) and its public timeline rows, oldest first."""

    photos: dict[str, list[str]]
    events: list[CaseEvent]


# The statements of a public record's read, built once: building one costs more CPU than its
# SQLite query (about 0.1 ms a read, most of it in SQLAlchemy's coercions).
_CASE_AND_PHOTOS = (
    select(Case, Report.media_ids)
    .outerjoin(Report, Report.case_id == Case.id)
    .where(Case.id == bindparam("case_id"))
    .order_by(Report.id)
)
_REPORT_PHOTOS = (
    select(Report.case_id, Report.media_ids)
    .where(Report.case_id.in_(bindparam("case_ids", expanding=True)))
    .order_by(Report.id)
)
_PUBLIC_EVENTS = (
    select(CaseEvent)
    .where(
        CaseEvent.case_id.in_(bindparam("case_ids", expanding=True)),
        or_(PUBLIC_EVENT_SQL, CaseEvent.action == "resolve"),
    )
    .order_by(CaseEvent.id)
)


def case_and_report_photos(session: Session, *, case_id: int) -> tuple[Case, ReportPhotos] | None:
    """The case and its reports' photo lists in one query (a join), for one public record."""
    rows = session.execute(_CASE_AND_PHOTOS, {"case_id": case_id}).all()
    if not rows:
        return None
    return rows[0][0], {case_id: [media for _, media in rows if media is not None]}


def public_parts(
    session: Session, *, case_ids: list[int], report_photos: ReportPhotos | None = None
) -> dict[int, PublicParts]:
    """The photos and public timeline rows of these cases: one query for the timeline rows
    (public ones and proof-of-fix ones), and one for the reports' photos unless
    ``report_photos`` came with the cases (:func:`case_and_report_photos`)."""
    parts = {i: PublicParts({"before": [], "after": []}, []) for i in case_ids}
    if not case_ids:
        return parts
    if report_photos is None:
        report_photos = {i: [] for i in case_ids}
        for case_id, media_ids in session.execute(_REPORT_PHOTOS, {"case_ids": case_ids}):
            report_photos[case_id].append(media_ids)
    for case_id, lists in report_photos.items():
        before = parts[case_id].photos["before"]
        for media_ids in lists:
            before.extend(m for m in media_ids if m not in before)
    for event in session.scalars(_PUBLIC_EVENTS, {"case_ids": case_ids}):
        part = parts[event.case_id]
        if event.action == "resolve":
            part.photos["after"].extend(event.attachments)
        if is_public_event(event):
            part.events.append(event)
    return parts


def first_public_photos(session: Session, *, cases: list[Case]) -> dict[int, str]:
    """The first reporter photo of each case that has one the public may see."""
    shown = [case.id for case in cases if case.content_public]
    return {
        case_id: found["before"][0]
        for case_id, found in case_photos_many(session, case_ids=shown).items()
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
    """Accepted cases still in hand, and those closed in the last ``recent_days``."""
    # New, unregistered reports stay off the map until the supervision centre accepts them.
    # One state at a time, newest first in ix_cases_status_id and cut at the limit, then
    # merged: the OR of all states read every closed case ever and sorted what it kept.
    shown = [*sorted(s.value for s in OPEN_STATES if s != Status.SUBMITTED), Status.CLOSED.value]
    parts = []
    for status in shown:
        query = select(Case.id).where(Case.status == status)
        if status == Status.CLOSED.value:
            query = query.where(Case.closed_at >= utcnow() - timedelta(days=recent_days))
        if bbox:
            min_lon, min_lat, max_lon, max_lat = bbox
            query = query.where(
                Case.lon.between(min_lon, max_lon), Case.lat.between(min_lat, max_lat)
            )
        if category:
            query = query.where(Case.category_code == category)
        parts.append(_cut(query.order_by(Case.id.desc()), limit))
    ids = sorted(session.scalars(union_all(*parts)), reverse=True)
    return _by_ids(session, ids[:limit])


def expected_at(session: Session, *, case: Case) -> datetime | None:
    """When the city expects the problem gone: the deadline once dispatched, else an estimate."""
    if case.status not in OPEN_STATES:
        return None
    if case.resolution_due:
        return case.resolution_due
    sla = cached_sla(session, category_code=case.category_code, priority=case.priority)
    return case.created_at + timedelta(minutes=sla.resolution_minutes) if sla else None


def merged_cases(session: Session, *, case_id: int) -> list[int]:
    """The cases merged into this one."""
    return list(session.scalars(select(Case.id).where(Case.merged_into == case_id)))


def ratings_of(session: Session, *, case_id: int) -> list[Rating]:
    """The citizens' ratings of the case."""
    return list(session.scalars(select(Rating).where(Rating.case_id == case_id)))


def disputes_of(session: Session, *, case_id: int) -> list[Dispute]:
    """Every dispute of the case's close, answered or not."""
    return list(session.scalars(select(Dispute).where(Dispute.case_id == case_id)))


def open_disputes(session: Session, *, actor: Actor) -> list[Dispute]:
    """The supervision centre's queue of unanswered disputes."""
    if actor.role not in CITY_WIDE_ROLES:
        raise forbidden(Message("governance.dispute_queue_supervision_centre"))
    return list(
        session.scalars(select(Dispute).where(Dispute.outcome.is_(None)).order_by(Dispute.id))
    )


def changes_since(
    session: Session, *, actor: Actor, after_event_id: int, limit: int = 200
) -> tuple[int, list[tuple[CaseEvent, Case]]]:
    """Timeline rows after a cursor on cases the actor may see, and the new cursor."""
    # The cursor is the newest row scanned, so rows the actor may not see still move it on.
    rows = session.execute(
        select(CaseEvent, Case)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.id > after_event_id)
        .order_by(CaseEvent.id)
        .limit(limit)
    ).all()
    cursor = rows[-1][0].id if rows else after_event_id
    return cursor, [(event, case) for event, case in rows if can_see(actor, case)]
