"""Open311 GET queries: the filters of requests and servicerequestupdates, checked, and the
cases they select."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.domains.governance import citizen
from cityloop.domains.governance import queries as governance_queries
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.workflow import OPEN311_CLOSED

DEFAULT_WINDOW = timedelta(days=90)  # GET requests with no dates: the spec's last 90 days
UPDATES_WINDOW = timedelta(hours=24)  # GET servicerequestupdates with no dates
SPEC_MAX_RECORDS = 1000
MAX_IDS = 1000
MAX_ID = 2**31 - 1  # case ids are 32-bit INTEGER columns; PostgreSQL refuses a larger literal


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
            Message("governance.iso_date_time_such", {"name": str(name)}),
            field=name,
        ) from exc
    if parsed.tzinfo is None:
        raise bad_request(Message("governance.time_zone_such_z", {"name": str(name)}), field=name)
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
            Message("governance.most_service_request_id", {"limit": str(MAX_IDS)}),
            field="service_request_id",
        )
    return [n for n in map(_request_id, ids) if n is not None]


def _page_size(page: int, page_size: int | None, max_page_size: int) -> int:
    """Pages are 1-based; the size defaults to the spec's 1,000 records (or the city's cap)."""
    size = page_size if page_size is not None else min(SPEC_MAX_RECORDS, max_page_size)
    if not 1 <= size <= max_page_size:
        raise bad_request(
            Message("governance.page_size_range", {"max_page_size": str(max_page_size)}),
            field="page_size",
        )
    if page < 1:
        raise bad_request(Message("governance.page_starts"), field="page")
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
    """The filters of GET requests, checked (400 naming the field), with the spec's defaults."""
    size = _page_size(page, page_size, max_page_size)
    if service_request_id is not None and _csv(service_request_id):
        return RequestQuery(ids=_request_ids(service_request_id), page=page, page_size=size)
    statuses = {s.lower() for s in _csv(status)}
    unknown = statuses - {"open", "closed"}
    if unknown:
        raise bad_request(
            Message("governance.status_open_closed", {"status": repr(sorted(unknown)[0])}), "status"
        )
    start = parse_datetime(start_date, "start_date")
    end = parse_datetime(end_date, "end_date")
    if start and end and start > end:
        raise bad_request(Message("governance.start_date_after_end"), field="start_date")
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


def find_requests(session: Session, *, query: RequestQuery) -> list[Case]:
    """The cases a GET requests query selects, newest first, one page of them."""
    q = query
    statement: Select[tuple[Case]] = select(Case)
    if q.ids is not None:
        statement = statement.where(Case.id.in_(q.ids))
    else:
        conditions = []
        if q.service_codes:
            conditions.append(Case.category_code.in_(q.service_codes))
        if q.statuses == {"open"}:
            conditions.append(Case.status.not_in(OPEN311_CLOSED))
        elif q.statuses == {"closed"}:
            conditions.append(Case.status.in_(OPEN311_CLOSED))
        if q.start is not None:
            conditions.append(Case.created_at >= q.start)
        if q.end is not None:
            conditions.append(Case.created_at <= q.end)
        if conditions:
            statement = statement.where(and_(*conditions))
    statement = (
        statement.order_by(Case.created_at.desc(), Case.id.desc())
        .offset((q.page - 1) * q.page_size)
        .limit(q.page_size)
    )
    return list(session.scalars(statement))


def find_request(
    session: Session, *, request_id: str
) -> tuple[Case, governance_queries.ReportPhotos] | None:
    """The case a service_request_id names, if any, with its reports' photos (one query)."""
    case_id = _request_id(request_id)
    if case_id is None:
        return None
    return governance_queries.case_and_report_photos(session, case_id=case_id)


def token_record(session: Session, *, token: str) -> dict[str, Any] | None:
    """The request a tracking token stands for, as Open311's token record."""
    report = citizen.report_by_token(session, token=token)
    if report is None:
        return None
    return {"token": token, "service_request_id": str(report.case_id)}


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
    """The filters of GET servicerequestupdates, checked, with the default window."""
    size = _page_size(page, page_size, max_page_size)
    start = parse_datetime(start_date, "start_date")
    end = parse_datetime(end_date, "end_date")
    if start and end and start > end:
        raise bad_request(Message("governance.start_date_after_end"), field="start_date")
    if start is None:
        start = (end or now) - UPDATES_WINDOW
    ids = None
    if service_request_id is not None and _csv(service_request_id):
        ids = _request_ids(service_request_id)
    return UpdateQuery(start, end, ids, page, size)
