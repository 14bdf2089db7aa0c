"""Department performance indicators after CJ/T 292: what the city's leaders watch move.

Definitions (for a period [start, end)):
- registered 立案数: cases registered in the period.
- due 应结案数: cases whose resolution deadline fell in the period.
- closed 结案数: due cases that are closed; closure_rate 结案率 = closed / due.
- closed_on_time 按期结案数: due cases closed by their deadline; on_time_closure_rate 按期结案率.
- handled_on_time 按期处置率: cases resolved in the period by their deadline / cases resolved.
- rework 返工数: reopen actions in the period.
- overdue 超期数: due cases past their deadline and still not closed at ``end``.
- median_hours_to_close: over cases closed in the period, report to close.
- satisfaction: mean stars of ratings given in the period.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.domains.governance.models import Case, CaseEvent, Rating
from cityloop.domains.governance.workflow import DEPARTMENT_SCOPED, Status
from cityloop.platforms.application.identity.service import Actor

ALL = "*"


@dataclass
class Indicators:
    registered: int = 0
    due: int = 0
    closed: int = 0
    closed_on_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    rework: int = 0
    overdue: int = 0
    ratings: int = 0
    stars_total: int = 0
    hours_to_close: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        hours = body.pop("hours_to_close")
        stars_total = body.pop("stars_total")
        body["closure_rate"] = _rate(self.closed, self.due)
        body["on_time_closure_rate"] = _rate(self.closed_on_time, self.due)
        body["on_time_handling_rate"] = _rate(self.resolved_on_time, self.resolved)
        body["median_hours_to_close"] = round(statistics.median(hours), 2) if hours else None
        body["satisfaction"] = round(stars_total / self.ratings, 2) if self.ratings else None
        return body


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compute(
    session: Session, *, start: datetime, end: datetime, department: str | None = None
) -> dict[str, Any]:
    """Indicators for the whole city (``"*"``) and per department, over [start, end)."""
    figures: dict[str, Indicators] = defaultdict(Indicators)

    def bump(dept: str | None, name: str, amount: int = 1) -> None:
        for key in (ALL, dept or "unassigned"):
            setattr(figures[key], name, getattr(figures[key], name) + amount)

    def in_period(value: datetime | None) -> bool:
        return value is not None and start <= value < end

    query = select(Case).where(
        (Case.registered_at.between(start, end))
        | (Case.resolution_due.between(start, end))
        | (Case.closed_at.between(start, end))
        | (Case.resolved_at.between(start, end))
    )
    if department:
        query = query.where(Case.department_code == department)
    for case in session.scalars(query):
        dept = case.department_code
        if in_period(case.registered_at):
            bump(dept, "registered")
        if in_period(case.resolution_due):
            bump(dept, "due")
            if case.status == Status.CLOSED and case.closed_at and case.closed_at < end:
                bump(dept, "closed")
                if case.on_time:
                    bump(dept, "closed_on_time")
            elif (
                case.status not in (Status.REJECTED, Status.MERGED)
                and case.resolution_due
                and case.resolution_due < end
            ):
                bump(dept, "overdue")
        if in_period(case.resolved_at):
            bump(dept, "resolved")
            if case.handled_on_time:
                bump(dept, "resolved_on_time")
        if case.status == Status.CLOSED and in_period(case.closed_at):
            hours = (case.closed_at - case.created_at).total_seconds() / 3600  # type: ignore[operator]
            for key in (ALL, dept or "unassigned"):
                figures[key].hours_to_close.append(hours)

    reopen = select(CaseEvent.department_code).where(
        CaseEvent.action == "reopen", CaseEvent.at >= start, CaseEvent.at < end
    )
    if department:
        reopen = reopen.where(CaseEvent.department_code == department)
    for (dept,) in session.execute(reopen):
        bump(dept, "rework")

    ratings = select(Rating.stars, Case.department_code).join(Case, Case.id == Rating.case_id)
    ratings = ratings.where(Rating.at >= start, Rating.at < end)
    if department:
        ratings = ratings.where(Case.department_code == department)
    for stars, dept in session.execute(ratings):
        bump(dept, "ratings")
        bump(dept, "stars_total", stars)

    city = figures.pop(ALL, Indicators())
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "city": city.as_dict(),
        "departments": {code: f.as_dict() for code, f in sorted(figures.items())},
    }


def compute_for(
    session: Session, *, actor: Actor, start: datetime, end: datetime, department: str | None
) -> dict[str, Any]:
    """:func:`compute` as ``actor`` may see it: a department's staff see their own figures."""
    if actor.role in DEPARTMENT_SCOPED:
        department = actor.department_code
    return compute(session, start=start, end=end, department=department)
