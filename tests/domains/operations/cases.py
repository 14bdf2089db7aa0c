"""Hand-counted cases for the operations tests: governance rows with known times, written
straight to the database (the bridge then builds their facts, as it does from events)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cityloop.domains.governance.models import Case, CaseEvent, Rating, Report
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import User
from tests.support.city import fresh_point

# March 2030: far from "now", so the cases other tests file never fall in it.
MARCH = (datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 4, 1, tzinfo=UTC))
CATEGORY = "C-02-01"


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2030, month, day, hour, tzinfo=UTC)


def add_case(
    session: Session, *, stars: tuple[tuple[int, datetime], ...] = (), **fields: Any
) -> Case:
    """A case with these fields (and ratings of these stars at these times)."""
    lat, lon = fresh_point()  # inside the city: a proactive task files a case at a case's point
    values: dict[str, Any] = {
        "status": "closed",
        "category_code": CATEGORY,
        "priority": "normal",
        "channel": "app",
        "lat": lat,
        "lon": lon,
        "district_code": "RV01",
        "street_code": "RV01-S01",
        "grid_code": "RV01-S01-G01",
        **fields,
    }
    case = Case(**values)
    case.updated_at = case.created_at
    case.last_public_update_at = case.created_at
    session.add(case)
    session.flush()
    for index, (value, when) in enumerate(stars):
        report = Report(
            case_id=case.id,
            channel="app",
            is_origin=index == 0,
            lat=case.lat,
            lon=case.lon,
            tracking_token=f"ops-{case.id}-{index}",
            created_at=case.created_at,
        )
        session.add(report)
        session.flush()
        session.add(Rating(case_id=case.id, report_id=report.id, stars=value, at=when))
    session.flush()
    return case


def add_rework(session: Session, case: Case, when: datetime, department: str) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        at=when,
        action="reopen",
        from_status="closed",
        to_status="dispatched",
        actor="supervisor",
        actor_role="supervisor",
        department_code=department,
    )
    session.add(event)
    session.flush()
    return event


def march_cases(session: Session, year: int = 2030) -> dict[str, Case]:
    """Seven cases whose March 2030 figures are counted by hand in test_kpi_figures.py (the
    public transparency tests put them in a March that has passed)."""

    def at(day: int, hour: int = 0, month: int = 3) -> datetime:
        return datetime(year, month, day, hour, tzinfo=UTC)

    a = add_case(
        session,
        created_at=at(2, 9),
        registered_at=at(2, 9),
        dispatched_at=at(2, 10),
        response_due=datetime(year, 3, 2, 10, 30, tzinfo=UTC),
        started_at=datetime(year, 3, 2, 10, 20, tzinfo=UTC),
        resolution_due=at(5),
        resolved_at=at(4),
        handled_on_time=True,
        closed_at=at(4, 12),
        on_time=True,
        resolution="fixed",
        department_code="roads",
        stars=((5, at(5)),),
    )
    # Closed exactly at its deadline (on time), rated 2, sent back once on the 8th.
    b = add_case(
        session,
        created_at=at(3),
        registered_at=at(3),
        dispatched_at=at(3),
        response_due=at(3, 1),
        started_at=at(3, 2),
        resolution_due=at(10),
        resolved_at=at(10),
        handled_on_time=True,
        closed_at=at(10),
        on_time=True,
        resolution="fixed",
        rework_count=1,
        department_code="roads",
        street_code="RV01-S02",
        grid_code="RV01-S02-G01",
        stars=((2, at(11)),),
    )
    add_rework(session, b, at(8), "roads")
    # Due in March, closed in April: overdue at the end of March.
    c = add_case(
        session,
        created_at=at(20),
        registered_at=at(20),
        dispatched_at=at(20),
        response_due=at(20, 1),
        started_at=datetime(year, 3, 20, 0, 30, tzinfo=UTC),
        resolution_due=at(25),
        resolved_at=at(2, month=4),
        handled_on_time=False,
        closed_at=at(3, month=4),
        on_time=False,
        resolution="fixed",
        department_code="water",
        district_code="RV02",
        street_code="RV02-S01",
        grid_code="RV02-S01-G01",
    )
    # Registered in February, due on the first instant of March, closed late as referred.
    d = add_case(
        session,
        created_at=at(20, month=2),
        registered_at=at(20, month=2),
        dispatched_at=at(20, month=2),
        response_due=at(20, 1, month=2),
        started_at=datetime(year, 2, 20, 0, 30, tzinfo=UTC),
        resolution_due=at(1),
        resolved_at=at(1, 12),
        handled_on_time=False,
        closed_at=at(2),
        on_time=False,
        resolution="referred",
        department_code="water",
        district_code="RV02",
        street_code="RV02-S01",
        grid_code="RV02-S01-G02",
    )
    e = add_case(session, status="rejected", created_at=at(15))
    f = add_case(session, status="merged", created_at=at(16), registered_at=at(16))
    g = add_case(
        session,
        status="dispatched",
        created_at=at(25),
        registered_at=at(25),
        dispatched_at=at(25),
        response_due=at(25, 1),
        resolution_due=at(28),
        department_code="roads",
        channel="hotline",
    )
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g}


def june_cases(session: Session, year: int = 2026) -> list[Case]:
    """Six cases of June: five of one category in one street of RV02 (water), each closed on
    time 27 hours after it came in and rated 4 stars, and one RV01 case (roads) left overdue."""

    def at(day: int, hour: int = 0) -> datetime:
        return datetime(year, 6, day, hour, tzinfo=UTC)

    found = [
        add_case(
            session,
            created_at=at(day, 9),
            registered_at=at(day, 9),
            dispatched_at=at(day, 9),
            response_due=at(day, 10),
            started_at=at(day, 9),
            resolution_due=at(day + 3),
            resolved_at=at(day + 1),
            handled_on_time=True,
            closed_at=at(day + 1, 12),
            on_time=True,
            resolution="fixed",
            department_code="water",
            district_code="RV02",
            street_code="RV02-S01",
            grid_code="RV02-S01-G01",
            stars=((4, at(day + 2)),),
        )
        for day in range(1, 6)
    ]
    overdue = add_case(
        session,
        status="dispatched",
        created_at=at(10),
        registered_at=at(10),
        dispatched_at=at(10),
        response_due=at(10, 1),
        resolution_due=at(12),
        department_code="roads",
    )
    return [*found, overdue]


def staff_account(
    session: Session,
    username: str,
    role: str,
    *,
    department: str | None = None,
    district: str | None = None,
) -> User:
    """A staff account (password ``demo``) with an optional district scope."""
    user = identity.find_user(session, username=username)
    if user is None:
        user = identity.create_user(
            session, username=username, password="demo", role=role, department_code=department
        )
    user.district_code = district
    return user
