"""Governance rules called as service functions, the way CLI commands and workers call them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from cityloop.domains.governance.catalogue import require_category
from cityloop.domains.governance.intake import ReportInput, submit_report
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.routing import route
from cityloop.domains.governance.workflow import TRANSITIONS, Status, allowed_actions
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity.service import ANONYMOUS, SYSTEM
from tests.support.city import City, fresh_point

CITIZEN = ANONYMOUS


def _label(city: City, code: str) -> tuple[float, float]:
    with city.ctx.reading() as session:
        lon, lat = geo.jurisdiction_index(session).label_points[code]
    return lat, lon


def test_a_district_rule_beats_the_category_fallback(city: City) -> None:
    # Demo routing: overflowing bins go to sanitation, but to urbanmgmt in Old Town (RV01).
    with city.ctx.reading() as session:
        bins = require_category(session, code="C-03-01")
        assert route(session, category=bins, district_code="RV01").department_code == "urbanmgmt"
        fallback = route(session, category=bins, district_code="RV02")
        assert fallback.department_code == "sanitation"
        assert "any district" in fallback.explanation


def test_the_case_stores_why_it_went_where_it_did(city: City) -> None:
    lat, lon = _label(city, "RV01-S02")
    with city.ctx.writing() as session:
        result = submit_report(
            session,
            actor=CITIZEN,
            data=ReportInput(category="C-03-01", lat=lat, lon=lon),
            allow_dedupe=False,
        )
        routing = result.case.routing
    assert routing["department"] == "urbanmgmt"
    assert routing["explanation"].endswith("in Old Town goes to City Management Enforcement")
    # Stored as a code with both languages' names, so each reader sees it in their own.
    stored = routing["explanation_message"]
    assert stored["code"] == "routing.district_rule"
    assert stored["params"]["district"] == "Old Town"
    assert stored["params"]["district_zh"] and stored["params"]["department_zh"]


def test_every_point_in_a_grid_label_resolves_to_that_grid(city: City) -> None:
    with city.ctx.reading() as session:
        index = geo.jurisdiction_index(session)
        grids = [c for c in index.label_points if c.count("-") == 2]
        for code in grids:
            lon, lat = index.label_points[code]
            placement = index.place(lon, lat)
            assert placement is not None and placement.grid is not None
            assert placement.grid.code == code
            assert code.startswith(placement.street.code)  # type: ignore[union-attr]


def test_the_table_alone_decides_which_actions_a_state_allows() -> None:
    assert allowed_actions("submitted", "dispatcher") == [
        "register",
        "reject",
        "merge",
        "comment",
        "publish",
    ]
    assert "verify" in allowed_actions("resolved", "supervisor")
    assert allowed_actions("merged", "admin") == ["comment"]
    assert all(t.sources for t in TRANSITIONS.values())


def test_system_channel_reports_keep_their_source(city: City) -> None:
    lat, lon = fresh_point()
    with city.ctx.writing() as session:
        result = submit_report(
            session,
            actor=SYSTEM,
            data=ReportInput(
                category="C-01-01",
                lat=lat,
                lon=lon,
                attributes={"cover_state": "displaced"},
                device_id="urn:ngsi-ld:ManholeCover:mc-0042",
                source_ref={"device": "mc-0042", "alarm": 17},
            ),
        )
        assert result.case.channel == "system"
        assert result.case.source_ref == {"device": "mc-0042", "alarm": 17}
        assert result.case.status == Status.DISPATCHED


def test_simultaneous_reports_of_one_problem_make_one_case(city: City) -> None:
    lat, lon = fresh_point()

    def submit(_: int) -> int:
        with city.ctx.writing() as session:
            result = submit_report(
                session, actor=CITIZEN, data=ReportInput(category="C-02-01", lat=lat, lon=lon)
            )
            return result.case.id

    with ThreadPoolExecutor(max_workers=6) as pool:
        case_ids = set(pool.map(submit, range(12)))
    assert len(case_ids) == 1
    with city.ctx.reading() as session:
        case = session.get(Case, case_ids.pop())
        assert case is not None and case.supporters == 11
        assert session.scalar(select(func.count()).where(Case.lat == lat, Case.lon == lon)) == 1


def test_every_guard_and_check_the_table_names_is_evaluated_and_none_is_idle() -> None:
    from cityloop.domains.governance.actions import CHECKS, GUARDS

    assert {g for t in TRANSITIONS.values() for g in t.guards} == set(GUARDS)
    assert {c for t in TRANSITIONS.values() for c in t.checks} == set(CHECKS)


def test_only_reopen_counts_as_rework() -> None:
    assert [t.action for t in TRANSITIONS.values() if t.counts_as_rework] == ["reopen"]
