"""The staff queue and the public map read a page one state at a time and merge it: the pages
must be exactly those of one query over all the states, sorted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from cityloop.base.db import utcnow
from cityloop.domains.governance import queries
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.workflow import OPEN_STATES, Status
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor
from tests.support.city import City, fresh_point

ADMIN = Actor(None, "admin", Role.ADMIN)
OPEN = sorted(s.value for s in OPEN_STATES)


def open_cases(city: City, count: int, category: str = "C-02-01") -> list[int]:
    ids = []
    for _ in range(count):
        lat, lon = fresh_point()
        ids.append(int(city.report(category=category, lat=lat, lon=lon)["case_id"]))
    return ids


def set_case(city: City, case_id: int, **values: object) -> None:
    with city.ctx.writing() as session:
        session.execute(update(Case).where(Case.id == case_id).values(**values))


def test_a_department_queue_by_deadline_is_soonest_first_with_undated_cases_last(
    city: City,
) -> None:
    ids = open_cases(city, 9)
    soon = utcnow() + timedelta(hours=2)
    states = ["dispatched", "in_progress", "resolved", "registered", "dispatched"] * 2
    for n, case_id in enumerate(ids):
        # Two cases share each deadline, so ties fall to the id; every third has none.
        due = None if n % 3 == 2 else soon + timedelta(hours=n // 2)
        set_case(city, case_id, department_code="roads", status=states[n], resolution_due=due)
    filters = queries.CaseFilter(status=OPEN, department="roads", sort="deadline")
    with city.ctx.reading() as session:
        expected = list(
            session.scalars(
                select(Case.id)
                .where(Case.department_code == "roads", Case.status.in_(OPEN))
                .order_by(*queries.SORTS["deadline"])
            )
        )
        pages = [
            queries.list_cases(session, actor=ADMIN, filters=filters, page=page, page_size=4)
            for page in (1, 2, 3, 4)
        ]
    assert [c.id for rows, _ in pages for c in rows] == expected
    assert {total for _, total in pages} == {len(expected)}
    assert set(ids) <= set(expected)


def test_the_public_map_shows_the_newest_accepted_and_recently_closed_cases(city: City) -> None:
    ids = open_cases(city, 6, category="E-02-01")
    long_ago = utcnow() - timedelta(days=40)
    set_case(city, ids[0], status=Status.CLOSED.value, closed_at=utcnow() - timedelta(days=1))
    set_case(city, ids[1], status=Status.CLOSED.value, closed_at=long_ago)
    set_case(city, ids[2], status=Status.SUBMITTED.value)
    set_case(city, ids[3], status=Status.DISPATCHED.value)
    set_case(city, ids[4], status=Status.REJECTED.value)
    set_case(city, ids[5], status=Status.IN_PROGRESS.value)
    with city.ctx.reading() as session:
        shown = queries.public_map_cases(
            session, bbox=None, category="E-02-01", recent_days=14, limit=2
        )
        everything = queries.public_map_cases(
            session, bbox=None, category="E-02-01", recent_days=14, limit=100
        )
    assert [c.id for c in shown] == [ids[5], ids[3]]
    assert [c.id for c in everything][:3] == [ids[5], ids[3], ids[0]]
    assert not {ids[1], ids[2], ids[4]} & {c.id for c in everything}
