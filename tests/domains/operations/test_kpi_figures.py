"""Every KPI figure of a hand-counted month, on each engine: the cases are governance rows with
known times, the bridge turns them into facts, and operations counts them."""

from __future__ import annotations

from typing import Any

import pytest

from cityloop.bridges import case_facts
from cityloop.domains.operations import kpis
from cityloop.domains.operations.cuts import Cut, Period
from tests.domains.operations.cases import MARCH, march_cases
from tests.support.city import City

PERIOD = Period(*MARCH)


@pytest.fixture(scope="module")
def march(city: City) -> dict[str, int]:
    with city.ctx.writing() as session:
        cases = march_cases(session)
        case_facts.reconcile(session)
        return {name: case.id for name, case in cases.items()}


def figures(city: City, by: str | None = None, **filters: str) -> dict[str, dict[str, Any]]:
    with city.ctx.reading() as session:
        return kpis.figures(session, cut=Cut(PERIOD, by, filters))


def test_the_city_figures_of_march_are_the_hand_counted_ones(
    city: City, march: dict[str, int]
) -> None:
    found = figures(city)[kpis.CITY]
    # Registered in March: a, b, c, g and the merged f (d was registered in February).
    assert found["registered"] == 5
    # Due in March: a, b, c, g, and d (due at the first instant of March).
    assert found["due"] == 5
    # Closed by the end of March: a, b (exactly at its deadline) and d; c closed in April.
    assert found["closed"] == 3
    assert found["closed_on_time"] == 2
    assert found["closure_rate"] == 0.6
    assert found["on_time_closure_rate"] == 0.4
    # Overdue at the end of March: c (closed after the period) and g (still open).
    assert found["overdue"] == 2
    # Resolved in March: a and b by their deadline, d late.
    assert (found["resolved"], found["resolved_on_time"]) == (3, 2)
    assert found["on_time_handling_rate"] == 0.6667
    assert found["rework"] == 1
    # Closed in March: a (51 h), b (168 h) and d (240 h); d was referred, not fixed.
    assert found["closed_in_period"] == 3
    assert found["median_hours_to_close"] == 168.0
    assert found["p90_hours_to_close"] == 240.0
    assert (found["fixed"], found["resolution_rate"]) == (2, 0.6667)
    # Response deadlines in March: a, b, c and g; a and c were started in time.
    assert (found["response_due"], found["responded_on_time"]) == (4, 2)
    assert found["response_rate"] == 0.5
    # Ratings in March: 5 and 2 stars.
    assert (found["ratings"], found["satisfaction"]) == (2, 3.5)
    assert (found["satisfied"], found["satisfaction_rate"]) == (1, 0.5)


def test_a_cut_by_department_splits_the_city_and_the_median_of_two_is_their_mean(
    city: City, march: dict[str, int]
) -> None:
    found = figures(city, by="department")
    assert set(found) == {kpis.CITY, "roads", "water", "unassigned"}
    roads, water = found["roads"], found["water"]
    assert (roads["registered"], roads["due"], roads["closed"], roads["overdue"]) == (3, 3, 2, 1)
    assert (roads["median_hours_to_close"], roads["p90_hours_to_close"]) == (109.5, 168.0)
    assert (roads["rework"], roads["ratings"]) == (1, 2)
    assert (water["registered"], water["due"], water["closed"], water["overdue"]) == (1, 2, 1, 1)
    assert (water["closed_on_time"], water["median_hours_to_close"]) == (0, 240.0)
    assert (water["response_due"], water["responded_on_time"]) == (1, 1)
    # The merged case had no department: it is counted, under "unassigned".
    assert found["unassigned"]["registered"] == 1
    # The city row is the same with or without the cut.
    assert found[kpis.CITY] == figures(city)[kpis.CITY]


def test_filters_and_cuts_on_area_category_and_channel(city: City, march: dict[str, int]) -> None:
    by_district = figures(city, by="district")
    assert (by_district["RV01"]["due"], by_district["RV02"]["due"]) == (3, 2)
    streets = figures(city, by="street", district="RV01")
    assert set(streets) - {kpis.CITY} == {"RV01-S01", "RV01-S02"}
    assert streets["RV01-S02"]["rework"] == 1
    grids = figures(city, by="grid", district="RV02", street="RV02-S01")
    assert grids["RV02-S01-G02"]["closed"] == 1
    assert figures(city, by="channel")["hotline"]["overdue"] == 1
    assert figures(city, category="C-02-01")[kpis.CITY]["due"] == 5
    assert figures(city, category="no-such")[kpis.CITY]["due"] == 0
