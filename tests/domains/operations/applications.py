"""Hand-counted applications for the operations tests: services rows with known times, written
straight to the database (the bridge then builds their facts, as it does from events)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.domains.services.models import Application, ApplicationRating, Service
from cityloop.platforms.application.identity.models import User


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2030, month, day, hour, tzinfo=UTC)


# name: (department, status, submitted, due, decided, (stars, rated at) or None)
APPLICATIONS: dict[str, tuple[Any, ...]] = {
    "a": ("urbanmgmt", "approved", at(2), at(10, 12), at(9), (5, at(12))),  # early
    "b": ("urbanmgmt", "denied", at(3), at(15), at(15), (2, at(20))),  # exactly at the limit
    "c": ("urbanmgmt", "issued", at(5), at(20), at(25), (4, at(2, 0, 4))),  # late; rated in April
    "d": ("urbanmgmt", "approved", at(20, 0, 2), at(1), at(2), (4, at(3))),  # February's; late
    "e": ("urbanmgmt", "under_review", at(28), at(10, 0, 4), None, None),  # undecided
    "f": ("urbanmgmt", "not_accepted", at(10), None, at(11), None),  # refused: not a decision
    "g": ("urbanmgmt", "approved", at(30), at(12, 0, 4), at(3, 0, 4), None),  # decided in April
    "h": ("roads", "approved", at(6), None, at(8), (5, at(9))),  # no time limit
    "i": ("urbanmgmt", "draft", None, None, None, None),  # never submitted
}


def march_applications(session: Session) -> dict[str, Application]:
    """The applications above, by the demo citizen, for the first service of the catalogue."""
    citizen = session.scalars(select(User).where(User.username == "citizen")).one()
    service = session.scalars(select(Service).order_by(Service.code)).first()
    assert service is not None
    found = {}
    for name, (department, status, sent, due, decided, rating) in APPLICATIONS.items():
        application = Application(
            service_code=service.code,
            service_version=service.current_version,
            applicant_id=citizen.id,
            department_code=department,
            status=status,
            submitted_at=sent,
            due_at=due,
            decided_at=decided,
            created_at=sent or at(1),
        )
        session.add(application)
        session.flush()
        if rating:
            stars, when = rating
            session.add(
                ApplicationRating(
                    application_id=application.id,
                    score=stars,
                    department_code=department,
                    at=when,
                )
            )
        found[name] = application
    session.flush()
    return found
