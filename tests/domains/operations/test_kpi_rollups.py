"""The KPI rollups, on each engine: random facts, written, rewritten and forgotten one by one
(each change applying its delta), give the same figures from the rollups as from the facts for
random cuts and periods; the reconcile then finds nothing to fix, and it finds and repairs a
tampered, a lost and a stray rollup row."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from cityloop.domains.operations import facts, kpis, rollups
from cityloop.domains.operations.cuts import Cut, Period
from cityloop.domains.operations.facts import CaseFact, RatingFact, ReworkFact
from cityloop.domains.operations.models import DIMENSIONS, LiveChange
from cityloop.domains.operations.rollup_tables import day_rollups, due_rollups, grain_for
from tests.support.city import City

# 2041: a year no other test files cases in, so its figures are this module's facts alone.
EPOCH = datetime(2041, 1, 1, tzinfo=UTC)
SPAN_DAYS = 40
FIRST_ID = 1_900_000_000
FIRST_CHILD_ID = 1_600_000_000  # ratings and reworks: ten ids per case
DEPARTMENTS = ("rollup-a", "rollup-b", None)
DISTRICTS = ("RX1", "RX2")
CATEGORIES = ("K-01", "K-02", "K-03")
CHANNELS = ("app", "hotline")
STATUSES = ("closed", "closed", "closed", "dispatched", "resolved", "rejected", "merged")


def _moment(rng: random.Random) -> datetime:
    return EPOCH + timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))


def _child_id(case_id: int, n: int) -> int:
    return FIRST_CHILD_ID + (case_id - FIRST_ID) * 10 + n


def random_fact(rng: random.Random, case_id: int) -> CaseFact:
    """A case with random dimensions, times, status and child facts (some times missing)."""
    district = rng.choice(DISTRICTS)
    street = rng.choice((f"{district}-S1", f"{district}-S2", None))
    created = _moment(rng)

    def later(hours: float) -> datetime | None:
        return created + timedelta(hours=rng.random() * hours) if rng.random() < 0.85 else None

    status = rng.choice(STATUSES)
    closed_at = created + timedelta(hours=rng.random() * 900) if status == "closed" else None
    resolution_due = later(400)
    response_due = later(24)
    started_at = later(30)
    return CaseFact(
        case_id=case_id,
        category=rng.choice(CATEGORIES),
        priority="normal",
        channel=rng.choice(CHANNELS),
        department=rng.choice(DEPARTMENTS),
        district=district,
        street=street,
        grid=None if street is None else rng.choice((f"{street}-G1", f"{street}-G2")),
        lat=30.0,
        lon=120.0,
        status=status,
        created_at=created,
        registered_at=later(2),
        dispatched_at=later(3),
        started_at=started_at,
        resolved_at=later(500),
        closed_at=closed_at,
        response_due=response_due,
        resolution_due=resolution_due,
        on_time=rng.choice((True, False, None)),
        handled_on_time=rng.choice((True, False, None)),
        rework_count=0,
        resolution=rng.choice(("fixed", "referred", None)),
        ratings=tuple(
            RatingFact(_child_id(case_id, n), rng.randint(1, 5), _moment(rng))
            for n in range(rng.choice((0, 0, 1, 2)))
        ),
        reworks=tuple(
            ReworkFact(_child_id(case_id, 5 + n), _moment(rng), rng.choice(DEPARTMENTS))
            for n in range(rng.choice((0, 0, 0, 1)))
        ),
    )


@pytest.fixture(scope="module")
def random_facts(city: City) -> list[CaseFact]:
    """300 random cases recorded (in batches, as the relay's consumer does), a third rewritten
    with other values (one by one), a tenth forgotten."""
    rng = random.Random(11)
    recorded = [random_fact(rng, FIRST_ID + n) for n in range(300)]
    with city.ctx.writing() as session:
        for start in range(0, len(recorded), 70):
            facts.record_cases(session, facts=recorded[start : start + 70])
        for index in range(0, len(recorded), 3):
            other = random_fact(rng, recorded[index].case_id)
            recorded[index] = replace(other, ratings=other.ratings[:1])
            facts.record_case(session, fact=recorded[index])
        gone = [fact.case_id for fact in recorded[::10]]
        for case_id in gone:
            facts.forget_cases(session, keep=(), below=case_id, above=case_id - 1)
    return [fact for fact in recorded if fact.case_id not in gone]


def random_cut(rng: random.Random) -> Cut:
    """A period that may start and end inside a day (or lie within one), a dimension to cut
    by and filters that a rollup grain holds."""
    start = EPOCH + timedelta(minutes=rng.randrange(-3 * 1440, SPAN_DAYS * 1440))
    if rng.random() < 0.3:
        start = start.replace(hour=0, minute=0)
    length = timedelta(minutes=rng.choice((90, 1440, 3 * 1440 + 17, 10 * 1440, 30 * 1440)))
    by = rng.choice((None, *DIMENSIONS))
    filters: dict[str, str] = {}
    if rng.random() < 0.5:
        filters["district"] = rng.choice(DISTRICTS)
    if rng.random() < 0.3:
        filters["department"] = rng.choice(DEPARTMENTS[:2])  # type: ignore[assignment]
    return Cut(Period(start, start + length), by, filters)


def _close(from_rollups: float | None, exact: float | None) -> bool:
    """A percentile from the histogram lies in the exact value's bucket: off by less than the
    bucket's width, which is at most its lower edge (or half an hour), plus the rounding."""
    if from_rollups is None or exact is None:
        return from_rollups is exact
    return abs(from_rollups - exact) <= max(0.5, exact) + 0.25


def test_random_facts_give_the_same_figures_from_the_rollups_as_from_the_facts(
    city: City, random_facts: list[CaseFact]
) -> None:
    rng = random.Random(5)
    compared = 0
    with city.ctx.reading() as session:
        for _ in range(120):
            cut = random_cut(rng)
            if grain_for({name for name in (cut.by, *cut.filters) if name}) is None:
                continue
            from_rollups = kpis.tallies(session, cut=cut)
            exact = kpis.fact_tallies(session, cut=cut)
            assert from_rollups.keys() == exact.keys(), cut
            for key, tally in exact.items():
                got = from_rollups[key]
                for name in kpis.COUNTS:
                    assert getattr(got, name) == getattr(tally, name), (cut, key, name)
                assert _close(got.median_hours, tally.median_hours), (cut, key)
                assert _close(got.p90_hours, tally.p90_hours), (cut, key)
            compared += 1
    assert compared > 60
    # The cuts were not empty: the facts count what was recorded.
    whole = Cut(Period(EPOCH - timedelta(days=30), EPOCH + timedelta(days=SPAN_DAYS + 60)))
    with city.ctx.reading() as session:
        registered = kpis.tallies(session, cut=whole)[kpis.CITY].registered
    assert registered == sum(1 for fact in random_facts if fact.registered_at is not None)


def test_the_deltas_leave_nothing_for_the_reconcile_to_fix(
    city: City, random_facts: list[CaseFact]
) -> None:
    with city.ctx.writing() as session:
        drift = rollups.reconcile(session)
    assert drift.checked > 1000
    assert (drift.fixed, drift.removed) == (0, 0)


def _row_of(session: Any, grain: str, department: str) -> dict[str, Any]:
    query = (
        select(day_rollups)
        .where(day_rollups.c.grain == grain, day_rollups.c.department == department)
        .where(day_rollups.c.registered > 0)
        .limit(1)
    )
    row = session.execute(query).one()
    return dict(row._mapping)


def test_the_reconcile_finds_and_repairs_drift(city: City, random_facts: list[CaseFact]) -> None:
    period = Cut(Period(EPOCH, EPOCH + timedelta(days=SPAN_DAYS)), "department")
    with city.ctx.reading() as session:
        right = kpis.figures(session, cut=period)
    with city.ctx.writing() as session:
        tampered = _row_of(session, "department", "rollup-a")
        session.execute(
            update(day_rollups)
            .where(*[day_rollups.c[k] == tampered[k] for k in ("grain", "day", *DIMENSIONS)])
            .values(registered=day_rollups.c.registered + 5)
        )
        session.execute(
            delete(due_rollups).where(
                due_rollups.c.grain == "department", due_rollups.c.department == "rollup-b"
            )
        )
        stray = {**tampered, "day": tampered["day"] + timedelta(days=1000), "registered": 9}
        session.execute(insert(day_rollups), [stray])
    with city.ctx.reading() as session:
        wrong = kpis.figures(session, cut=period)
    assert wrong["rollup-a"]["registered"] == right["rollup-a"]["registered"] + 5
    assert wrong["rollup-b"]["due"] == 0 < right["rollup-b"]["due"]
    with city.ctx.writing() as session:
        # What the nightly job runs after the facts (whose cases these random facts are not).
        drift = rollups.reconcile(session)
    assert drift.removed == 1  # the stray row
    assert drift.fixed >= 2  # the tampered row, and the lost rows put back
    with city.ctx.reading() as session:
        assert kpis.figures(session, cut=period) == right
    with city.ctx.writing() as session:
        again = rollups.reconcile(session)
    assert (again.fixed, again.removed) == (0, 0)


def test_a_batch_notes_each_changed_case_once_on_the_live_feed_and_skips_the_unchanged(
    city: City,
) -> None:
    rng = random.Random(5)
    first = FIRST_ID + 50_000
    batch = [random_fact(rng, first + n) for n in range(6)]
    with city.ctx.writing() as session:
        assert facts.record_cases(session, facts=batch[:3]) == 3
        mark = session.scalar(select(func.max(LiveChange.id))) or 0
        again = [*batch[:3], *batch[3:]]  # three unchanged, three new
        assert facts.record_cases(session, facts=again) == 3
        noted = session.scalars(
            select(LiveChange.ref).where(LiveChange.id > mark).order_by(LiveChange.id)
        ).all()
        assert noted == [str(fact.case_id) for fact in batch[3:]]
        facts.forget_cases(session, keep=(), below=first + 5, above=first - 1)
