"""Governance's built-in datasets: cases published one by one only from crowded grid cells, with
a description only when a person accepted it in moderation; counts per cell; the departments'
monthly indicators as the operations KPIs count them; and each rebuilt after a case changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from cityloop.domains.governance.datasets import case_points
from cityloop.domains.governance.models import Category
from cityloop.domains.operations import kpis
from cityloop.domains.operations.cuts import Cut, Period
from cityloop.platforms.data.catalogue import build
from tests.support.catalogue import points_in_one_cell, rows, state
from tests.support.city import City, fresh_point

VENDING = "E-04-02"  # street vending: moderated in the demo city (a person reads reports first)
POTHOLE = "C-02-01"  # not moderated
ABANDONED = "E-04-03"  # used by no cluster here: a lone case of it stays lone


def _report(city: City, category: str, point: tuple[float, float], description: str) -> int:
    lat, lon = point
    body = city.report(category=category, lat=lat, lon=lon, description=description)
    return int(body["case_id"])


@pytest.fixture(scope="module")
def vending(city: City) -> list[int]:
    """Five street-vending cases in one grid cell today: the first accepted (registered) by the
    dispatcher and dispatched, the second rejected, the others waiting for a person to read
    them."""
    with city.ctx.writing() as session:  # as the demo city has it, whatever a test did before
        session.execute(update(Category).where(Category.code == VENDING).values(moderated=True))
    cases = [
        _report(city, VENDING, point, f"fruit stall number {n} blocks the pavement")
        for n, point in enumerate(points_in_one_cell(city))
    ]
    city.act(cases[0], "dispatcher", action="register")
    city.act(cases[0], "dispatcher", action="dispatch", department="urbanmgmt")
    city.act(cases[1], "dispatcher", action="reject", note="Not a public road")
    return cases


@pytest.fixture(scope="module")
def potholes(city: City) -> list[int]:
    """Five pothole cases (an unmoderated category) in one grid cell today, all registered."""
    cases = [
        _report(city, POTHOLE, point, f"pothole number {n}")
        for n, point in enumerate(points_in_one_cell(city))
    ]
    for case_id in cases:
        city.act(case_id, "dispatcher", action="register")
    return cases


@pytest.fixture(scope="module")
def lone(city: City, vending: list[int], potholes: list[int]) -> int:
    """One abandoned-vehicle case alone in its cell; then every dataset built."""
    case_id = _report(city, ABANDONED, fresh_point(), "a rusty van")
    city.drain()
    for name in ("cases", "cases-by-cell", "case-kpis"):
        build.build(city.ctx, name=name)
    return case_id


def test_the_cases_of_a_crowded_cell_are_published_at_its_centre(
    city: City, vending: list[int], lone: int
) -> None:
    published = {row["ref"]: row for row in rows(city, "cases")}
    assert {str(case_id) for case_id in vending} <= set(published)
    places = {(published[str(c)]["lat"], published[str(c)]["lon"]) for c in vending}
    assert len(places) == 1
    assert {published[str(c)]["cell"] for c in vending} == {published[str(vending[0])]["cell"]}
    assert published[str(vending[1])]["status"] == "rejected"
    assert {published[str(c)]["category"] for c in vending} == {VENDING}
    assert published[str(vending[0])]["day"] == datetime.now(UTC).date().isoformat()


def test_only_a_description_a_person_accepted_in_moderation_is_published(
    city: City, vending: list[int], potholes: list[int], lone: int
) -> None:
    published = {row["ref"]: row["description"] for row in rows(city, "cases")}
    assert published[str(vending[0])] == "fruit stall number 0 blocks the pavement"
    assert [published[str(c)] for c in vending[1:]] == ["", "", "", ""]
    # Registered by a person, but in a category no one moderates: nobody read it for the public.
    assert [published[str(c)] for c in potholes] == ["", "", "", "", ""]


def test_a_lone_case_is_neither_published_nor_counted(
    city: City, vending: list[int], lone: int
) -> None:
    assert str(lone) not in {row["ref"] for row in rows(city, "cases")}
    cells = rows(city, "cases-by-cell")
    assert ABANDONED not in {row["category"] for row in cells}
    [crowded] = [row for row in cells if row["category"] == VENDING]
    assert crowded["count"] == 5
    assert crowded["day"] == datetime.now(UTC).date().isoformat()


def test_merged_cases_are_left_out_of_the_points(city: City) -> None:
    point = fresh_point()
    target = _report(city, ABANDONED, point, "a burnt-out car")
    # A second fresh point: an offset one could fall outside the city at its edge.
    merged = _report(city, ABANDONED, fresh_point(), "the same burnt-out car")
    city.act(merged, "dispatcher", action="merge", merge_into=target)
    with city.ctx.reading() as session:
        refs = {p.ref for p in case_points(session, settings=city.ctx.settings)}
    assert str(target) in refs and str(merged) not in refs


def test_the_monthly_indicators_are_those_the_operations_kpis_count(
    city: City, vending: list[int], lone: int
) -> None:
    now = datetime.now(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    city.drain()  # the case facts follow the case events (which mark the datasets out of date)
    build.refresh(city.ctx)
    with city.ctx.reading() as session:
        expected = kpis.figures(session, cut=Cut(Period(start, end), "department"))
    expected.pop(kpis.CITY)
    this_month = {
        row["department"]: row
        for row in rows(city, "case-kpis")
        if row["month"] == f"{start:%Y-%m}"
    }
    assert set(this_month) == set(expected) and expected
    for code, figures in expected.items():
        row = this_month[code]
        for key in ("registered", "due", "closed", "closed_on_time", "overdue", "rework"):
            assert row[key] == figures[key], (code, key)
        assert row["median_hours_to_close"] == figures["median_hours_to_close"]
    assert sum(row["registered"] for row in this_month.values()) >= 6
    assert this_month["urbanmgmt"]["department_name_zh"] == "城市管理执法局"
    assert this_month["unassigned"]["department_name"] == "Unassigned"  # registered, not sent


def test_a_new_case_marks_the_case_datasets_out_of_date_and_the_refresh_rebuilds_them(
    city: City, lone: int
) -> None:
    names = ("cases", "cases-by-cell", "case-kpis")
    built_at = {name: state(city, name)[1] for name in names}
    assert not any(state(city, name)[0] for name in names)
    _report(city, ABANDONED, fresh_point(), "a trailer with flat tyres")
    city.drain()
    assert all(state(city, name)[0] for name in names)
    assert set(build.refresh(city.ctx)) >= set(names)
    for name in names:
        dirty, refreshed_at = state(city, name)
        assert not dirty and refreshed_at and refreshed_at > (built_at[name] or refreshed_at)
