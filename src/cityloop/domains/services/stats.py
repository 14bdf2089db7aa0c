"""Each department's counters: review steps decided on time (the on-time rate), steps running
late now, applications accepted, and the applicants' ratings (好差评); and each service's
outcomes per month of submission (the open dataset service-applications-stats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cityloop.domains.services import responses as out
from cityloop.domains.services.models import Application, ApplicationRating, ApplicationStep
from cityloop.domains.services.presenters import Departments
from cityloop.domains.services.workflow import DECIDED, Status, StepStatus


def department_stats(
    session: Session, *, since: datetime | None = None
) -> list[out.DepartmentStats]:
    """Every department with review work or ratings, busiest first."""
    steps = select(
        ApplicationStep.department_code,
        func.count().filter(ApplicationStep.status.in_(list(DECIDED))),
        func.count().filter(
            ApplicationStep.status.in_(list(DECIDED)),
            ApplicationStep.decided_at <= ApplicationStep.due_at,
        ),
        func.count().filter(ApplicationStep.status == StepStatus.ACTIVE),
        func.count().filter(
            ApplicationStep.status == StepStatus.ACTIVE, ApplicationStep.overdue.is_(True)
        ),
    ).group_by(ApplicationStep.department_code)
    ratings = select(
        ApplicationRating.department_code, func.count(), func.avg(ApplicationRating.score),
        func.sum(case((ApplicationRating.score <= 2, 1), else_=0)),
    ).group_by(ApplicationRating.department_code)  # fmt: skip
    accepted = (
        select(Application.department_code, func.count())
        .where(Application.accepted_at.is_not(None))
        .group_by(Application.department_code)
    )
    if since is not None:
        steps = steps.where(ApplicationStep.started_at >= since)
        ratings = ratings.where(ApplicationRating.at >= since)
        accepted = accepted.where(Application.accepted_at >= since)
    found: dict[str, dict[str, float | int | None]] = {}
    for code, decided, on_time, active, late in session.execute(steps):
        found.setdefault(code, {}).update(
            decided=decided, on_time=on_time, active=active, late=late
        )
    for code, count, average, poor in session.execute(ratings):
        found.setdefault(code, {}).update(
            ratings=count, average=float(average), poor=int(poor or 0)
        )
    for code, count in session.execute(accepted):
        found.setdefault(code, {}).update(accepted=count)
    names = Departments(session)
    answers = []
    for code, values in found.items():
        decided = int(values.get("decided") or 0)
        on_time = int(values.get("on_time") or 0)
        average = values.get("average")
        answers.append(
            out.DepartmentStats(
                department=names(code),
                accepted=int(values.get("accepted") or 0),
                steps_decided=decided,
                steps_on_time=on_time,
                on_time_rate=round(on_time / decided, 4) if decided else None,
                steps_active=int(values.get("active") or 0),
                steps_overdue=int(values.get("late") or 0),
                ratings=int(values.get("ratings") or 0),
                average_rating=round(float(average), 2) if average is not None else None,
                poor_ratings=int(values.get("poor") or 0),
            )
        )
    return sorted(answers, key=lambda a: (-(a.steps_decided + a.steps_active), a.department.code))


@dataclass
class ServiceMonth:
    """What became of the applications for one service submitted in one month (UTC)."""

    service: str
    month: str  # YYYY-MM
    submitted: int = 0
    approved: int = 0  # approved, or approved and the licence issued
    denied: int = 0
    not_accepted: int = 0
    withdrawn: int = 0
    decided: int = 0  # approved or denied, with a time limit (accepted)
    decided_on_time: int = 0
    ratings: int = 0
    score_total: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """The share of decided applications decided within their time limit."""
        return round(self.decided_on_time / self.decided, 4) if self.decided else None

    @property
    def average_rating(self) -> float | None:
        """The applicants' mean score (1 to 5)."""
        return round(self.score_total / self.ratings, 2) if self.ratings else None


def service_month_stats(session: Session) -> list[ServiceMonth]:
    """Per service and month of submission: how many applications were submitted, approved,
    denied, not accepted and withdrawn so far, the on-time rate and the mean rating."""
    query = (
        select(
            Application.service_code, Application.submitted_at, Application.status,
            Application.decided_at, Application.due_at, ApplicationRating.score,
        )
        .outerjoin(ApplicationRating, ApplicationRating.application_id == Application.id)
        .where(Application.submitted_at.is_not(None))
    )  # fmt: skip
    found: dict[tuple[str, str], ServiceMonth] = {}
    for service, submitted_at, status, decided_at, due_at, score in session.execute(query):
        month = submitted_at.astimezone(UTC).strftime("%Y-%m")
        row = found.setdefault((service, month), ServiceMonth(service, month))
        row.submitted += 1
        if status in (Status.APPROVED, Status.ISSUED):
            row.approved += 1
        elif status == Status.DENIED:
            row.denied += 1
        elif status == Status.NOT_ACCEPTED:
            row.not_accepted += 1
        elif status == Status.WITHDRAWN:
            row.withdrawn += 1
        if decided_at is not None and due_at is not None:
            row.decided += 1
            row.decided_on_time += decided_at <= due_at
        if score is not None:
            row.ratings += 1
            row.score_total += score
    return [found[key] for key in sorted(found)]
