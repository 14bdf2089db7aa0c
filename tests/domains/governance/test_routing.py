"""Routing reads its rules and the department names from the process's caches
(``base.lookups``): the decision and its explanation are the ones the tables give, a rule edit
routes the very next report in this process, and another process's edit after the recheck."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from cityloop.domains.governance import routing
from cityloop.domains.governance.catalogue import list_categories, require_category
from cityloop.domains.governance.config import categories, rules
from cityloop.domains.governance.config.schemas import CategoryCreate, RoutingRuleIn
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Category, RoutingRule
from cityloop.domains.governance.routing import RoutingDecision, route
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import departments
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.application.identity.service import Actor
from tests.support.city import City
from tests.support.configuration import category_body, fresh_code
from tests.support.statements import statements_sent

ADMIN = Actor(1, "admin", "admin")


def _from_the_tables(session: Session, category: Category, district: str) -> RoutingDecision:
    """The decision as the rules and departments tables give it, read row by row."""
    found = session.scalars(
        select(RoutingRule)
        .where(
            RoutingRule.category_code == category.code,
            or_(RoutingRule.district_code == district, RoutingRule.district_code.is_(None)),
        )
        .order_by(RoutingRule.id)
    ).all()
    specific = [r for r in found if r.district_code == district]
    fallback = [r for r in found if r.district_code is None]
    rule = (specific or fallback or [None])[0]
    code = rule.department_code if rule else category.default_department
    area = geo.jurisdiction_index(session).areas[district]
    department = session.get(Department, code)
    names = (department.name, department.name_zh or department.name) if department else (code, code)
    params = {
        "category": category.name,
        "category_zh": category.name_zh or category.name,
        "district": area.name if specific else "",
        "district_zh": (area.name_zh or area.name) if specific else "",
        "department": names[0],
        "department_zh": names[1],
    }
    if rule is not None:
        params["rule"] = str(rule.id)
    kind = "district_rule" if specific else "city_rule" if fallback else "category_default"
    return RoutingDecision(code, rule.id if rule else None, Message(f"routing.{kind}", params))


def test_every_decision_and_its_explanation_is_the_one_the_tables_give(city: City) -> None:
    _category(city)  # a category with no rule: routed to its default department
    kinds: set[str] = set()
    with city.ctx.reading() as session:
        features = geo.feature_collection(session, level="district")["features"]
        for category in list_categories(session):
            for district in [feature["id"] for feature in features]:
                cached = route(session, category=category, district_code=district)
                assert cached == _from_the_tables(session, category, district)
                kinds.add(cached.message.code)
    assert kinds == {"routing.district_rule", "routing.city_rule", "routing.category_default"}


def _category(city: City) -> str:
    code = fresh_code("RT")
    with city.ctx.writing() as session:
        categories.create_category(session, data=CategoryCreate(**category_body(code)), actor=ADMIN)
    return code


def _department_of(city: City, code: str, district: str) -> tuple[str, int | None]:
    with city.ctx.reading() as session:
        decision = route(
            session, category=require_category(session, code=code), district_code=district
        )
    return decision.department_code, decision.rule_id


@pytest.fixture
def trusted_for_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    """No recheck within the test: only a change event can refresh the cached rules."""
    monkeypatch.setattr(routing._rules, "recheck_seconds", 3600.0)
    monkeypatch.setattr(departments._names, "recheck_seconds", 3600.0)


@pytest.mark.usefixtures("trusted_for_an_hour")
def test_a_rule_added_edited_or_deleted_routes_the_next_report_in_this_process(
    city: City,
) -> None:
    code = _category(city)
    assert _department_of(city, code, "RV01") == ("parks", None)
    with city.ctx.writing() as session:
        rule = rules.add_rule(
            session, data=RoutingRuleIn(category=code, district="RV01", department="roads"),
            actor=ADMIN,
        )  # fmt: skip
        rule_id = rule.id
    assert _department_of(city, code, "RV01") == ("roads", rule_id)
    with city.ctx.writing() as session:
        rules.edit_rule(
            session, rule_id=rule_id, version=1,
            data=RoutingRuleIn(category=code, district="RV01", department="water"), actor=ADMIN,
        )  # fmt: skip
    assert _department_of(city, code, "RV01") == ("water", rule_id)
    with city.ctx.writing() as session:
        rules.delete_rule(session, rule_id=rule_id, version=2, actor=ADMIN)
    assert _department_of(city, code, "RV01") == ("parks", None)


def test_a_rule_another_process_wrote_routes_after_the_recheck(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _category(city)
    monkeypatch.setattr(routing._rules, "recheck_seconds", 3600.0)
    assert _department_of(city, code, "RV02") == ("parks", None)
    # Written straight to the table, as another process would: this one hears no event.
    with city.ctx.writing() as session:
        session.execute(
            insert(RoutingRule).values(
                category_code=code, district_code=None, department_code="roads"
            )
        )
    assert _department_of(city, code, "RV02") == ("parks", None)  # within the window
    monkeypatch.setattr(routing._rules, "recheck_seconds", 0.0)
    department, rule_id = _department_of(city, code, "RV02")
    assert department == "roads" and rule_id is not None
    with city.ctx.writing() as session:
        session.execute(delete(RoutingRule).where(RoutingRule.id == rule_id))
    assert _department_of(city, code, "RV02") == ("parks", None)


@pytest.mark.usefixtures("trusted_for_an_hour")
def test_routing_reads_no_table_once_the_caches_are_warm(city: City) -> None:
    with city.ctx.reading() as session:
        bins = require_category(session, code="C-03-01")
        route(session, category=bins, district_code="RV01")
        with statements_sent(city) as statements:
            route(session, category=bins, district_code="RV01")
            route(session, category=bins, district_code="RV02")
    assert statements == []
