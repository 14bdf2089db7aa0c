"""Open311 GeoReport v2 over governance: categories become services, cases become requests.

Nothing here decides anything about a case. Intake goes through governance's submit_report (so an
Open311 report is routed, deduplicated and counted like any other); this module only translates
the spec's field names and shapes to ours and back, and builds public records from an allow-list
so reporter contact details and internal notes cannot reach a response.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.domains.governance import citizen, queries, timeline
from cityloop.domains.governance.catalogue import active_category, list_categories
from cityloop.domains.governance.intake import IntakeResult, ReportInput
from cityloop.domains.governance.models import Case, CaseEvent, Category
from cityloop.domains.governance.workflow import MAX_TEXT, OPEN311_CLOSED
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import service as identity

DEFAULT_WINDOW = timedelta(days=90)  # GET requests with no dates: the spec's last 90 days
UPDATES_WINDOW = timedelta(hours=24)  # GET servicerequestupdates with no dates
SPEC_MAX_RECORDS = 1000
MAX_IDS = 1000
MAX_ID = 2**31 - 1  # case ids are 32-bit INTEGER columns; PostgreSQL refuses a larger literal

_OPEN311_CLOSED = frozenset(s.value for s in OPEN311_CLOSED)

# ---------------------------------------------------------------- services


_DATATYPE_DESCRIPTIONS = {
    "string": "Free text, one line",
    "text": "Free text",
    "number": "A number, such as 12 or 3.5",
    "datetime": "An ISO 8601 date and time with a time zone, such as 2024-05-01T08:30:00+08:00",
    "singlevaluelist": "One of the keys in values",
    "multivaluelist": "One or more of the keys in values, sent as attribute[code][]",
}


def _wants_chinese(locale: str | None) -> bool:
    """zh, zh-CN, zh_Hans…: Chinese names; anything else: English."""
    return (locale or "").lower().replace("_", "-").split("-")[0] == "zh"


def service_record(category: Category, locale: str | None = None) -> dict[str, Any]:
    zh = _wants_chinese(locale)
    return {
        "service_code": category.code,
        "service_name": (category.name_zh or category.name) if zh else category.name,
        "description": category.description,
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": ",".join(str(k) for k in category.keywords),
        "group": (category.major_name_zh or category.major_name) if zh else category.major_name,
    }


def service_records(session: Session, locale: str | None = None) -> list[dict[str, Any]]:
    return [service_record(c, locale) for c in list_categories(session)]


def service_definition(session: Session, code: str) -> dict[str, Any] | None:
    category = active_category(session, code=code)
    if category is None:
        return None
    attributes = sorted(category.attributes, key=lambda a: (a.get("order", 0), a["code"]))
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": a["code"],
                "datatype": a["datatype"],
                "required": bool(a.get("required")),
                "datatype_description": _DATATYPE_DESCRIPTIONS.get(a["datatype"], ""),
                "order": a.get("order", 0),
                "description": a.get("description", ""),
                "values": [{"key": k, "name": n} for k, n in a.get("values", [])],
            }
            for a in attributes
        ],
    }


# ---------------------------------------------------------------- POST requests.{fmt}

# Longest value each text field may carry: the column it lands in, or a sane bound.
_TEXT_LIMITS = {
    "api_key": 200,
    "jurisdiction_id": 200,
    "service_code": 20,
    "lat": 40,
    "long": 40,
    "address_string": 400,
    "address_id": 200,
    "email": 254,
    "device_id": 200,
    "account_id": 200,
    "first_name": 100,
    "last_name": 99,  # first + " " + last fits the 200-character contact name
    "phone": 40,
    "media_url": 2000,
}
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)

# Markup is stripped rather than refused: GeoReport v2 says "no HTML", and mobile clients paste
# rich text without knowing it; refusing would lose a real report over formatting.
_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_TAGS = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
_SPACES = re.compile(r"[ \t]{2,}")


def strip_html(text: str) -> str:
    # Unescape first so entity-encoded tags are stripped too; output is escaped again by the
    # JSON and XML writers.
    text = html.unescape(text)
    text = _COMMENTS.sub(" ", _BLOCKS.sub(" ", text))
    text = _TAGS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@dataclass
class Submission:
    """One POST requests.{fmt}, parsed and checked for shape (not yet against the database)."""

    api_key: str | None = None
    jurisdiction_id: str | None = None
    service_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str = ""
    media_url: str | None = None

    def report_input(self, client_name: str, media_ids: list[str]) -> ReportInput:
        # Without lat/long, an address_id is the only location text we have: geocode it.
        address = self.address_string
        if address is None and self.lat is None and self.lon is None:
            address = self.address_id
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or None
        # Staff-only provenance: the client, its own ids and the URL of a photo we do not fetch
        # (no runtime internet). account_id is private, like every reporter detail.
        source_ref = {
            "open311_client": client_name,
            "address_id": self.address_id,
            "account_id": self.account_id,
            "media_url": self.media_url,
        }
        return ReportInput(
            category=self.service_code,
            lat=self.lat,
            lon=self.lon,
            address=address,
            description=self.description,
            media_ids=media_ids,
            attributes=self.attributes,
            contact_name=name,
            contact_email=self.email,
            contact_phone=self.phone,
            device_id=self.device_id,
            source_ref={k: v for k, v in source_ref.items() if v is not None},
        )


def _coordinate(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise bad_request(f"{name} must be a decimal number (WGS84)", field=name) from exc
    if not math.isfinite(number):
        raise bad_request(f"{name} must be a finite number", field=name)
    return number


def parse_submission(items: Iterable[tuple[str, str]]) -> Submission:
    """Read the spec's form fields. ``items`` are the raw multi-items, so repeated
    ``attribute[code][]`` values survive; an empty value means "not given", as form clients
    send every field of their form whether filled or not. Unknown fields are ignored."""
    sub = Submission()
    singles: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    listed: set[str] = set()
    for key, raw in items:
        value = raw.strip()
        match = _ATTRIBUTE.match(key)
        if match:
            code = match.group(1)
            if match.group(2):
                listed.add(code)
            if value:
                attributes.setdefault(code, []).append(value)
            continue
        if key == "description":
            singles[key] = raw  # keep its line breaks; trimmed after stripping markup
        elif value:
            singles[key] = value  # a repeated single field: the last one wins, as in PHP
    for name, limit in _TEXT_LIMITS.items():
        if name in singles and len(singles[name]) > limit:
            raise bad_request(f"{name} is over {limit} characters", field=name)

    sub.api_key = singles.get("api_key")
    sub.jurisdiction_id = singles.get("jurisdiction_id")
    sub.service_code = singles.get("service_code")
    if "lat" in singles:
        sub.lat = _coordinate(singles["lat"], "lat")
    if "long" in singles:
        sub.lon = _coordinate(singles["long"], "long")
    sub.address_string = singles.get("address_string")
    sub.address_id = singles.get("address_id")
    # A code sent with [] or more than once is a list (multivaluelist); otherwise one value.
    sub.attributes = {
        code: values if (code in listed or len(values) > 1) else values[0]
        for code, values in attributes.items()
    }
    if "email" in singles:
        try:
            sub.email = _EMAIL.validate_python(singles["email"])
        except ValidationError as exc:
            raise bad_request("email is not a valid e-mail address", field="email") from exc
    sub.device_id = singles.get("device_id")
    sub.account_id = singles.get("account_id")
    sub.first_name = singles.get("first_name")
    sub.last_name = singles.get("last_name")
    sub.phone = singles.get("phone")
    description = singles.get("description", "")
    if len(description) > MAX_TEXT:
        raise bad_request(f"description is over {MAX_TEXT} characters", field="description")
    sub.description = strip_html(description)
    media_url = singles.get("media_url")
    if media_url is not None and not re.match(r"^https?://[^\s]+$", media_url, re.IGNORECASE):
        raise bad_request("media_url must be an http or https URL", field="media_url")
    sub.media_url = media_url
    return sub


def service_notice(session: Session, result: IntakeResult) -> str:
    case = result.case
    if result.joined_existing:
        return (
            f"Joined existing request {case.id} as a supporter; "
            "that request's updates apply to this report"
        )
    if case.department_code:
        department = identity.get_department(session, case.department_code)
        name = department.name if department else case.department_code
        return f"Received as request {case.id} and dispatched to {name}"
    return f"Received as request {case.id}; the city will review it"


# ---------------------------------------------------------------- GET requests.{fmt}


def parse_datetime(value: str | None, name: str) -> datetime | None:
    """ISO 8601 with a time zone. A '+' that reached us as a space (an unencoded query
    string) is put back, since that is the commonest client mistake with offsets."""
    if value is None or not value.strip():
        return None
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise bad_request(
            f"{name} must be an ISO 8601 date and time, such as 2024-05-01T00:00:00Z",
            field=name,
        ) from exc
    if parsed.tzinfo is None:
        raise bad_request(f"{name} needs a time zone, such as Z or +08:00", field=name)
    return parsed


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _request_id(value: str) -> int | None:
    """A service_request_id as a case id, or None when it cannot name one."""
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def _request_ids(value: str) -> list[int]:
    # An id that is not a number names no request; it simply matches nothing.
    ids = _csv(value)
    if len(ids) > MAX_IDS:
        raise bad_request(
            f"at most {MAX_IDS} service_request_id values", field="service_request_id"
        )
    return [n for n in map(_request_id, ids) if n is not None]


def _page_size(page: int, page_size: int | None, max_page_size: int) -> int:
    """Pages are 1-based; the size defaults to the spec's 1,000 records (or the city's cap)."""
    size = page_size if page_size is not None else min(SPEC_MAX_RECORDS, max_page_size)
    if not 1 <= size <= max_page_size:
        raise bad_request(f"page_size must be 1 to {max_page_size}", field="page_size")
    if page < 1:
        raise bad_request("page starts at 1", field="page")
    return size


@dataclass
class RequestQuery:
    ids: list[int] | None = None  # given: overrides every other filter
    service_codes: list[str] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)  # open, closed
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = SPEC_MAX_RECORDS


def parse_request_query(
    *,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
    page: int,
    page_size: int | None,
    max_page_size: int,
    now: datetime,
) -> RequestQuery:
    size = _page_size(page, page_size, max_page_size)
    if service_request_id is not None and _csv(service_request_id):
        return RequestQuery(ids=_request_ids(service_request_id), page=page, page_size=size)
    statuses = {s.lower() for s in _csv(status)}
    unknown = statuses - {"open", "closed"}
    if unknown:
        raise bad_request(f"status must be open or closed, not {sorted(unknown)[0]!r}", "status")
    start = parse_datetime(start_date, "start_date")
    end = parse_datetime(end_date, "end_date")
    if start and end and start > end:
        raise bad_request("start_date is after end_date", field="start_date")
    if start is None and end is None:
        start = now - DEFAULT_WINDOW
    elif start is None and end is not None:
        start = end - DEFAULT_WINDOW
    return RequestQuery(
        service_codes=_csv(service_code),
        statuses=statuses,
        start=start,
        end=end,
        page=page,
        page_size=size,
    )


def find_requests(session: Session, q: RequestQuery) -> list[Case]:
    query: Select[tuple[Case]] = select(Case)
    if q.ids is not None:
        query = query.where(Case.id.in_(q.ids))
    else:
        conditions = []
        if q.service_codes:
            conditions.append(Case.category_code.in_(q.service_codes))
        if q.statuses == {"open"}:
            conditions.append(Case.status.not_in(_OPEN311_CLOSED))
        elif q.statuses == {"closed"}:
            conditions.append(Case.status.in_(_OPEN311_CLOSED))
        if q.start is not None:
            conditions.append(Case.created_at >= q.start)
        if q.end is not None:
            conditions.append(Case.created_at <= q.end)
        if conditions:
            query = query.where(and_(*conditions))
    query = (
        query.order_by(Case.created_at.desc(), Case.id.desc())
        .offset((q.page - 1) * q.page_size)
        .limit(q.page_size)
    )
    return list(session.scalars(query))


def find_request(session: Session, request_id: str) -> Case | None:
    case_id = _request_id(request_id)
    return session.get(Case, case_id) if case_id is not None else None


def token_record(session: Session, token: str) -> dict[str, Any] | None:
    report = citizen.report_by_token(session, token=token)
    if report is None:
        return None
    return {"token": token, "service_request_id": str(report.case_id)}


# ---------------------------------------------------------------- request records


def event_text(event: CaseEvent) -> str:
    """What a citizen may read of one event, as Open311 status notes show it."""
    return timeline.public_text(event, separator=" — ")


_NOTE_TYPES = {"comment": "comment", "dispute": "dispute", "support": "support"}


def _note_type(event: CaseEvent) -> str:
    if event.action in _NOTE_TYPES:
        return _NOTE_TYPES[event.action]
    return "status_change" if event.from_status != event.to_status else "update"


def media_url(base_url: str, media_id: str) -> str:
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
    for case_id, photos in queries.case_photos_many(session, case_ids=list(case_ids)).items():
        loaded.before[case_id], loaded.after[case_id] = photos["before"], photos["after"]
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id.in_(case_ids), timeline.PUBLIC_EVENT_SQL)
        .order_by(CaseEvent.id)
    )
    for event in events:
        loaded.public_events.setdefault(event.case_id, []).append(event)
    return loaded


def _status_notes(case: Case, events: list[CaseEvent]) -> str | None:
    if case.status in _OPEN311_CLOSED:
        # A closed request explains how it was closed: fixed, referred (to whom), not
        # actionable (why), duplicate, rejected or merged, even after later comments.
        closing = [e for e in events if e.to_status == case.status and e.from_status != e.to_status]
        if closing:
            return event_text(closing[-1]) or None
    if not events:
        return None
    return event_text(events[-1]) or None


def _area(index: geo.JurisdictionIndex, code: str | None, zh: bool) -> dict[str, Any] | None:
    if not code:
        return None
    area = index.areas.get(code)
    name = ((area.name_zh or area.name) if zh else area.name) if area else code
    return {"code": code, "name": name}


def request_records(
    session: Session,
    cases: Sequence[Case],
    base_url: str,
    *,
    extensions: bool = False,
    locale: str | None = None,
) -> list[dict[str, Any]]:
    """Public records, built field by field from an allow-list: no contact details, no account,
    no internal note can get in."""
    zh = _wants_chinese(locale)
    loaded = _load(session, [c.id for c in cases])
    index = geo.jurisdiction_index(session) if extensions else None
    records: list[dict[str, Any]] = []
    for case in cases:
        category = session.get(Category, case.category_code)  # identity map: one query per code
        department = (
            identity.get_department(session, case.department_code) if case.department_code else None
        )
        events = loaded.public_events.get(case.id, [])
        shown = queries.public_photos(
            case, {"before": loaded.before[case.id], "after": loaded.after[case.id]}
        )
        photos = shown["before"] + [m for m in shown["after"] if m not in shown["before"]]
        photo_urls = [media_url(base_url, m) for m in photos]
        # Only what this adapter itself put in source_ref, and only its public keys.
        given = case.source_ref if "open311_client" in case.source_ref else {}
        notice = None
        if case.merged_into:
            notice = f"Merged into request {case.merged_into}"
        elif case.duplicate_of:
            notice = f"Duplicate of request {case.duplicate_of}"
        record: dict[str, Any] = {
            "service_request_id": str(case.id),
            "status": "closed" if case.status in _OPEN311_CLOSED else "open",
            "status_notes": _status_notes(case, events),
            "service_name": (
                ((category.name_zh or category.name) if zh else category.name)
                if category
                else case.category_code
            ),
            "service_code": case.category_code,
            "description": queries.public_description(case),
            "agency_responsible": (
                ((department.name_zh or department.name) if zh else department.name)
                if department
                else None
            ),
            "service_notice": notice,
            "requested_datetime": _iso(case.created_at),
            "updated_datetime": _iso(case.updated_at),
            "expected_datetime": _iso(queries.expected_at(session, case=case)),
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
                {"datetime": _iso(e.at), "description": event_text(e), "type": _note_type(e)}
                for e in events
            ]
        records.append(record)
    return records


def _given_media_url(case: Case, given: dict[str, Any]) -> str | None:
    # The client's own photo URL is its reporter's content: held back like the description.
    return given.get("media_url") if case.content_public else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------- servicerequestupdates


@dataclass
class UpdateQuery:
    start: datetime
    end: datetime | None
    ids: list[int] | None
    page: int
    page_size: int


def parse_update_query(
    *,
    start_date: str | None,
    end_date: str | None,
    service_request_id: str | None,
    page: int,
    page_size: int | None,
    max_page_size: int,
    now: datetime,
) -> UpdateQuery:
    size = _page_size(page, page_size, max_page_size)
    start = parse_datetime(start_date, "start_date")
    end = parse_datetime(end_date, "end_date")
    if start and end and start > end:
        raise bad_request("start_date is after end_date", field="start_date")
    if start is None:
        start = (end or now) - UPDATES_WINDOW
    ids = None
    if service_request_id is not None and _csv(service_request_id):
        ids = _request_ids(service_request_id)
    return UpdateQuery(start, end, ids, page, size)


def request_updates(session: Session, q: UpdateQuery, base_url: str) -> list[dict[str, Any]]:
    """Public timeline events, oldest first: a feed a client replays in order."""
    query = select(CaseEvent).where(timeline.PUBLIC_EVENT_SQL, CaseEvent.at >= q.start)
    if q.end is not None:
        query = query.where(CaseEvent.at <= q.end)
    if q.ids is not None:
        query = query.where(CaseEvent.case_id.in_(q.ids))
    query = (
        query.order_by(CaseEvent.at, CaseEvent.id)
        .offset((q.page - 1) * q.page_size)
        .limit(q.page_size)
    )
    updates: list[dict[str, Any]] = []
    for event in session.scalars(query):
        if not timeline.is_public_event(event):
            continue
        photos = timeline.public_attachments(event)
        updates.append(
            {
                "update_id": str(event.id),
                "service_request_id": str(event.case_id),
                "status": "closed" if event.to_status in _OPEN311_CLOSED else "open",
                "updated_datetime": _iso(event.at),
                "description": event_text(event),
                "media_url": media_url(base_url, photos[0]) if photos else None,
            }
        )
    return updates
