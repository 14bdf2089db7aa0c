"""The services domain's figures in the operations centre (issue 11), counted exactly over the
application facts (no rollups: a city's applications are thousands a month, not millions).

The facts are written by ``cityloop.bridges.application_facts`` from services' events; each is
upserted whole, so a redelivered event changes nothing. Definitions, for a period [start, end):
- services_submitted: applications submitted in the period.
- services_decided: applications decided (approved or denied) in the period;
  services_decided_with_deadline: those that had a time limit (承诺时限), and
  services_decided_on_time: those decided at or before it;
  services_on_time_rate 按时办结率 = decided on time / decided with a deadline.
- services_ratings: the applicants' ratings (好差评) given in the period;
  services_satisfaction = their mean stars; services_satisfaction_rate 满意率 = ratings of 4 or
  5 stars / ratings (the cases' definition).
Scope: the figures are cut by department only. Applications are filed with a department, not a
place, so the location, category and channel of a cut do not apply to them (see
docs/operations-centre.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, literal_column, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.domains.operations.cuts import Period
from cityloop.domains.operations.models import ApplicationFactRow

DECIDED = ("approved", "denied")
# The dimensions of a cut these figures can honour; any other filter is not applied to them.
APPLIES_TO = ("department",)
COUNTS = (
    "services_submitted",
    "services_decided",
    "services_decided_with_deadline",
    "services_decided_on_time",
    "services_ratings",
    "services_satisfied",
)
RATES = ("services_on_time_rate", "services_satisfaction", "services_satisfaction_rate")
FIGURES = COUNTS + RATES


@dataclass(frozen=True)
class ApplicationFact:
    """One application as the operations centre counts it (codes and times only)."""

    application_id: int
    service: str
    department: str
    status: str
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    decided_at: datetime | None = None
    outcome: str | None = None
    stars: int | None = None
    rated_at: datetime | None = None
    district: str | None = None
    channel: str | None = None

    def row_values(self) -> dict[str, Any]:
        """The columns of its ``ops_application_facts`` row."""
        decided = self.decided_at if self.outcome in DECIDED else None
        on_time = None
        if decided is not None and self.due_at is not None:
            on_time = decided <= self.due_at  # exactly at the deadline is on time
        hours = None
        if decided is not None and self.submitted_at is not None:
            hours = round((decided - self.submitted_at).total_seconds() / 3600, 4)
        return {
            "application_id": self.application_id,
            "service": self.service,
            "department": self.department,
            "district": self.district,
            "channel": self.channel,
            "status": self.status,
            "submitted_at": self.submitted_at,
            "due_at": self.due_at,
            "decided_at": decided,
            "outcome": self.outcome if decided is not None else None,
            "on_time": on_time,
            "stars": self.stars,
            "rated_at": self.rated_at if self.stars is not None else None,
            "hours_to_decide": hours,
        }


def record_application(session: Session, *, fact: ApplicationFact) -> bool:
    """Upsert one application's fact; True when the row was added or changed."""
    values = fact.row_values()
    row = session.get(ApplicationFactRow, fact.application_id)
    if row is None:
        session.add(ApplicationFactRow(**values, recorded_at=utcnow()))
        return True
    changed = any(getattr(row, name) != value for name, value in values.items())
    if changed:
        for name, value in values.items():
            setattr(row, name, value)
        row.recorded_at = utcnow()
    return changed


def forget_applications(session: Session, *, keep: Iterable[int], above: int, below: int) -> int:
    """Delete the facts of applications in (above, below] not in ``keep``; how many went."""
    f = ApplicationFactRow
    gone = select(f.application_id).where(
        f.application_id > above, f.application_id <= below, f.application_id.not_in(list(keep))
    )
    ids = list(session.scalars(gone))
    if ids:
        session.execute(delete(f).where(f.application_id.in_(ids)))
    return len(ids)


def highest_application_id(session: Session) -> int:
    """The largest application id with a fact (0 when none)."""
    return int(session.scalar(select(func.max(ApplicationFactRow.application_id))) or 0)


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def empty() -> dict[str, Any]:
    """The figures of a unit with no applications in the period."""
    return with_rates(dict.fromkeys(COUNTS, 0), stars_total=0)


def with_rates(counts: dict[str, int], *, stars_total: int) -> dict[str, Any]:
    """The counts with their rates beside them."""
    ratings = counts["services_ratings"]
    return {
        **counts,
        "services_on_time_rate": _rate(
            counts["services_decided_on_time"], counts["services_decided_with_deadline"]
        ),
        "services_satisfaction": round(stars_total / ratings, 2) if ratings else None,
        "services_satisfaction_rate": _rate(counts["services_satisfied"], ratings),
    }


def figures(
    session: Session, *, period: Period, by: str | None, filters: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The services figures of the period for the city (key ``"*"``, within a department
    filter) and, when ``by`` is the department, per department."""
    f = ApplicationFactRow
    department = filters.get("department")
    scope = [f.department == department] if department else []
    grouped = by == "department"
    key = (f.department if grouped else literal_column("'*'")).label("g")

    def within(column: Any) -> Any:
        return and_(column >= period.start, column < period.end)

    def grouping(query: Any) -> Any:
        return query.group_by(f.department) if grouped else query

    counts: dict[str, dict[str, int]] = {}
    stars: dict[str, int] = {}

    def add(group: str, **values: int) -> None:
        found = counts.setdefault(group, dict.fromkeys(COUNTS, 0))
        for name, value in values.items():
            found[name] += int(value or 0)

    submitted = select(key, func.count()).where(within(f.submitted_at), *scope)
    for group, count in session.execute(grouping(submitted)):
        if count:
            add(group, services_submitted=count)
    decided = select(
        key,
        func.count(),
        _flag(f.on_time.is_not(None)),
        _flag(f.on_time.is_(True)),
    ).where(within(f.decided_at), *scope)
    for group, count, with_deadline, on_time in session.execute(grouping(decided)):
        if count:
            add(
                group,
                services_decided=count,
                services_decided_with_deadline=with_deadline,
                services_decided_on_time=on_time,
            )
    rated = select(key, func.count(), func.sum(f.stars), _flag(f.stars >= 4)).where(
        within(f.rated_at), *scope
    )
    for group, count, total, satisfied in session.execute(grouping(rated)):
        if count:
            add(group, services_ratings=count, services_satisfied=satisfied)
            stars[group] = stars.get(group, 0) + int(total or 0)
    answer: dict[str, dict[str, Any]] = {}
    city = dict.fromkeys(COUNTS, 0)
    for group, values in counts.items():
        for name in COUNTS:
            city[name] += values[name]
        if grouped:
            answer[group] = with_rates(values, stars_total=stars.get(group, 0))
    return {"*": with_rates(city, stars_total=sum(stars.values())), **dict(sorted(answer.items()))}


def applies(filters: dict[str, str]) -> bool:
    """Whether the services figures are exactly those of the cut: False when it is filtered on
    a dimension applications do not carry (they are then the city's, or the department's)."""
    return all(name in APPLIES_TO for name in filters)


def delta(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    """Each services figure minus its previous value (None where either is missing)."""
    answer: dict[str, float | None] = {}
    for name in FIGURES:
        now, before = current.get(name), previous.get(name)
        answer[name] = None if now is None or before is None else round(now - before, 4)
    return answer
