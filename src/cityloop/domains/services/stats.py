"""Each department's counters: review steps decided on time (the on-time rate), steps running
late now, applications accepted, and the applicants' ratings (好差评)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cityloop.domains.services import responses as out
from cityloop.domains.services.models import Application, ApplicationRating, ApplicationStep
from cityloop.domains.services.presenters import Departments
from cityloop.domains.services.workflow import DECIDED, StepStatus


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
