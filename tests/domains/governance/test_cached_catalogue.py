"""Public records take category names, department names and SLA targets from the process's
cache (``base.lookups``); a staff change through the configuration services shows on the very
next read, and a public record costs one or two queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cityloop.domains.governance.actions import ActionInput, apply_action
from cityloop.domains.governance.config import categories
from cityloop.domains.governance.config.schemas import CategoryCreate, CategoryEdit
from cityloop.domains.governance.intake import ReportInput, submit_report
from cityloop.platforms.application.identity import departments
from cityloop.platforms.application.identity.service import ANONYMOUS, SYSTEM, Actor
from tests.support.city import City, fresh_point
from tests.support.configuration import category_body, fresh_code
from tests.support.statements import statements_sent

ADMIN = Actor(1, "admin", "admin")


def _department(city: City) -> str:
    code = fresh_code("cache").lower()
    with city.ctx.writing() as session:
        departments.add(
            session, code=code, name="Tree care", name_zh="树木养护", kind="department", actor=ADMIN
        )
    return code


def _new_category(city: City, **changes: Any) -> str:
    code = fresh_code("CC")
    with city.ctx.writing() as session:
        categories.create_category(
            session, data=CategoryCreate(**category_body(code, **changes)), actor=ADMIN
        )
    return code


def _case(city: City, category: str, *, dispatch_to: str | None = None) -> int:
    lat, lon = fresh_point()
    with city.ctx.writing() as session:
        case = submit_report(
            session,
            actor=ANONYMOUS,
            data=ReportInput(category=category, lat=lat, lon=lon, attributes={"size": "small"}),
            allow_dedupe=False,
        ).case
        if dispatch_to:
            apply_action(session, case_id=case.id, actor=SYSTEM, data=ActionInput("register"))
            apply_action(
                session,
                case_id=case.id,
                actor=SYSTEM,
                data=ActionInput("dispatch", department=dispatch_to),
            )
        return case.id


def _record(city: City, case_id: int, **params: str) -> dict[str, Any]:
    response = city.client.get(f"/open311/v2/requests/{case_id}.json", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json()[0])


def _page(city: City, case_id: int) -> dict[str, Any]:
    response = city.client.get(f"/api/v1/public/cases/{case_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _edit(city: City, code: str, version: int, **changes: Any) -> None:
    with city.ctx.writing() as session:
        categories.edit_category(
            session,
            code=code,
            version=version,
            data=CategoryEdit(**category_body(**changes)),
            actor=ADMIN,
        )


def test_a_renamed_category_shows_on_the_next_read(city: City) -> None:
    department = _department(city)
    code = _new_category(city, default_department=department)
    case_id = _case(city, code)
    assert _record(city, case_id)["service_name"] == "Fallen branch"
    assert _page(city, case_id)["category"]["name"] == "Fallen branch"
    _edit(city, code, 1, name="Fallen bough", name_zh="树杈掉落", default_department=department)
    assert _record(city, case_id)["service_name"] == "Fallen bough"
    assert _record(city, case_id, locale="zh-CN")["service_name"] == "树杈掉落"
    assert _page(city, case_id)["category"]["name_zh"] == "树杈掉落"


def test_a_changed_sla_target_moves_the_expected_time_on_the_next_read(city: City) -> None:
    department = _department(city)
    code = _new_category(city, default_department=department)
    case_id = _case(city, code)
    before = datetime.fromisoformat(_record(city, case_id)["expected_datetime"])
    sla = [
        {"priority": "normal", "response_minutes": 120, "resolution_minutes": 2880},
        {"priority": "urgent", "response_minutes": 30, "resolution_minutes": 240},
    ]
    _edit(city, code, 1, sla=sla, default_department=department)
    after = datetime.fromisoformat(_record(city, case_id)["expected_datetime"])
    assert (after - before).total_seconds() == 1440 * 60
    assert _page(city, case_id)["expected_at"] == after.isoformat()


def test_a_renamed_department_shows_on_the_next_read(city: City) -> None:
    department = _department(city)
    code = _new_category(city, default_department=department)
    case_id = _case(city, code, dispatch_to=department)
    assert _record(city, case_id)["agency_responsible"] == "Tree care"
    assert _page(city, case_id)["department"]["name"] == "Tree care"
    with city.ctx.writing() as session:
        departments.rename(
            session,
            code=department,
            version=1,
            name="Urban forestry",
            name_zh="城市林业",
            kind="department",
            actor=ADMIN,
        )
    assert _record(city, case_id)["agency_responsible"] == "Urban forestry"
    assert _record(city, case_id, locale="zh-CN")["agency_responsible"] == "城市林业"
    assert _page(city, case_id)["department"]["name"] == "Urban forestry"


def test_a_public_record_costs_two_queries_once_the_catalogue_is_cached(city: City) -> None:
    department = _department(city)
    code = _new_category(city, default_department=department)
    case_id = _case(city, code, dispatch_to=department)
    _record(city, case_id, extensions="true")  # warms the caches
    _page(city, case_id)
    with statements_sent(city) as statements:
        _record(city, case_id, extensions="true")
    assert len(_row_reads(statements)) <= 2, statements
    with statements_sent(city) as statements:
        _page(city, case_id)
    assert len(_row_reads(statements)) <= 2, statements


def _row_reads(statements: list[str]) -> list[str]:
    # A cache's fingerprint (an aggregate, at most once a second) may fall in the counted read.
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and "count(" not in s]
