"""Which entries of the access log a reader asks for: by purpose, department, field, time,
and (for staff) by data subject and reader. Query values are checked here, so a bad one is a
422 naming it, never an empty page that looks like "nobody read anything"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast
from sqlalchemy.orm import Session

from cityloop.base.problems import unprocessable
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.data.access import catalogue
from cityloop.platforms.data.access.messages import Message
from cityloop.platforms.data.access.models import DataAccess

# A "+" offset sent unencoded in a query string arrives as a space ("09:00:00 08:00").
UNENCODED_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


@dataclass(frozen=True)
class AccessFilter:
    """Conditions on entries; None leaves a condition out. ``since`` is inclusive and
    ``before`` exclusive, both aware datetimes."""

    purpose: str | None = None
    department: str | None = None
    field: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    actor: str | None = None
    user_id: int | None = None
    enterprise_uscc: str | None = None

    def apply(self, query: Select[tuple[DataAccess]]) -> Select[tuple[DataAccess]]:
        """The query narrowed to the entries this filter lets through."""
        if self.user_id is not None:
            query = query.where(DataAccess.user_id == self.user_id)
        if self.enterprise_uscc is not None:
            query = query.where(DataAccess.enterprise_uscc == self.enterprise_uscc)
        if self.purpose is not None:
            query = query.where(DataAccess.purpose == self.purpose)
        if self.department is not None:
            query = query.where(DataAccess.actor_department == self.department)
        if self.actor is not None:
            query = query.where(DataAccess.actor == self.actor)
        if self.field is not None:
            # ``fields`` is a JSON list of catalogue codes on both engines; a quoted code is
            # found exactly in its text (codes hold no quotes, and autoescape covers "_").
            text = cast(DataAccess.fields, String)
            query = query.where(text.contains(f'"{self.field}"', autoescape=True))
        if self.since is not None:
            query = query.where(DataAccess.at >= self.since)
        if self.before is not None:
            query = query.where(DataAccess.at < self.before)
        return query

    def described(self) -> dict[str, str | int]:
        """The conditions set, for an audit entry or an export's heading."""
        values = {
            "purpose": self.purpose, "department": self.department, "field": self.field,
            "since": self.since.isoformat() if self.since else None,
            "before": self.before.isoformat() if self.before else None,
            "actor": self.actor, "user_id": self.user_id, "uscc": self.enterprise_uscc,
        }  # fmt: skip
        return {key: value for key, value in values.items() if value is not None}


def moment(value: str | None, *, name: str, zone: ZoneInfo, end: bool = False) -> datetime | None:
    """An ISO date or date-time from a query; a date alone means its whole day and a time
    without an offset the city's clock. For ``end`` the exclusive bound after it."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=zone)
            return start + timedelta(days=1) if end else start
        found = datetime.fromisoformat(UNENCODED_PLUS.sub(r"\1+\2", text))
    except ValueError:
        raise unprocessable(
            Message("access.iso_date_date_time", {"name": str(name), "value": repr(value)}),
            field=name,
        ) from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone)
    # An entry at exactly ``until`` is in: stored times go to the microsecond on both engines.
    return found + timedelta(microseconds=1) if end else found


def _code(value: str | None, table: dict[str, tuple[str, str]], name: str) -> str | None:
    if value is None or not value.strip():
        return None
    if value.strip() not in table:
        raise unprocessable(
            Message(
                "access.choices",
                {
                    "name": str(name),
                    "items": ", ".join(sorted(table)),
                    "value": repr(value),
                },
            ),
            field=name,
        )
    return value.strip()


def access_filter(
    session: Session,
    *,
    zone: ZoneInfo,
    purpose: str | None = None,
    department: str | None = None,
    field: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> AccessFilter:
    """The filter a reader's query asks for; 422 naming the first value that is not valid."""
    department = (department or "").strip() or None
    if department is not None and identity.get_department(session, code=department) is None:
        raise unprocessable(
            Message("access.department_does_exist", {"department": repr(department)}),
            field="department",
        )
    start = moment(since, name="since", zone=zone)
    before = moment(until, name="until", zone=zone, end=True)
    if start is not None and before is not None and start >= before:
        raise unprocessable(Message("access.until_before_since"), field="until")
    return AccessFilter(
        purpose=_code(purpose, catalogue.PURPOSES, "purpose"),
        department=department,
        field=_code(field, catalogue.FIELDS, "field"),
        since=start,
        before=before,
    )
