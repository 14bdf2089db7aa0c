"""Periods, dimensions and scope: the checks every operations query shares.

A cut is a period [start, end), at most one ``by`` dimension to group on, and filters on any
dimension. The actor's scope narrows the filters: a department's staff see their department, an
account with a district scope sees that district. The scope is applied here, in the service, so
no route can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cityloop.base.problems import Problem, bad_request, forbidden
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import DIMENSIONS
from cityloop.platforms.application.identity.roles import DEPARTMENT_ROLES, OPERATIONS_READERS
from cityloop.platforms.application.identity.service import Actor

# City → district → street → grid → the case list: each level is the same query one step deeper.
DRILL_DOWN = ("district", "street", "grid")
# The longest period one query may cover: a year and a day (a leap year's comparison fits).
MAX_PERIOD = timedelta(days=367)
# A group with no value (a case not yet dispatched has no department).
NONE_KEY = "unassigned"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - (self.end - self.start), self.start)


@dataclass(frozen=True)
class Cut:
    """A period, an optional dimension to group by, and filters (already scoped)."""

    period: Period
    by: str | None = None
    filters: dict[str, str] = field(default_factory=dict)


def period(start: datetime | None, end: datetime | None, *, default_days: int = 30) -> Period:
    """A checked period: both ends with a time zone, start before end, at most MAX_PERIOD."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=default_days)
    if start.tzinfo is None or end.tzinfo is None:
        raise bad_request(Message("operations.period_needs_time_zone"), field="start")
    if start >= end:
        raise bad_request(Message("operations.start_before_end"), field="start")
    if end - start > MAX_PERIOD:
        raise bad_request(
            Message("operations.period_too_long", {"days": str(MAX_PERIOD.days)}), field="end"
        )
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def month_period(month: str) -> Period:
    """The calendar month ``YYYY-MM`` (UTC) as a period."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(Message("operations.bad_month"), field="month") from None
    following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, following)


def dimension(value: str | None, *, field_name: str = "by") -> str | None:
    """A known dimension (or None)."""
    if value is None or value == "":
        return None
    if value not in DIMENSIONS:
        raise bad_request(
            Message(
                "operations.unknown_dimension",
                {"value": repr(value), "dimensions": ", ".join(DIMENSIONS)},
            ),
            field=field_name,
        )
    return value


def require_reader(actor: Actor) -> None:
    """Only staff who work with cases (and leaders) read the operations centre."""
    if actor.role not in OPERATIONS_READERS:
        raise forbidden(Message("operations.readers"))


def scoped(actor: Actor, filters: dict[str, str | None]) -> dict[str, str]:
    """The filters as ``actor`` may see them: their department or district is forced on."""
    require_reader(actor)
    chosen = {name: value for name, value in filters.items() if value}
    for name in chosen:
        dimension(name, field_name=name)
    if actor.role in DEPARTMENT_ROLES:
        if not actor.department_code:
            raise forbidden(Message("operations.no_department"))
        chosen["department"] = actor.department_code
    if actor.district_code:
        chosen["district"] = actor.district_code
    return chosen


def within_scope(actor: Actor, **values: str | None) -> bool:
    """Whether a thing with these dimension values is inside ``actor``'s scope."""
    try:
        scope = scoped(actor, {})
    except Problem:
        return False
    return all(values.get(name) == value for name, value in scope.items())
