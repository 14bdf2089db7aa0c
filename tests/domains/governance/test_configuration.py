"""The configuration rules as service functions: versions and stale edits, rule conflicts, SLA
and attribute checks, the department guard, and the audit trail of every edit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cityloop.base.problems import Problem
from cityloop.domains.governance.catalogue import get_category
from cityloop.domains.governance.config import categories, rules
from cityloop.domains.governance.config.schemas import (
    CategoryCreate,
    CategoryEdit,
    PointTestIn,
    RoutingRuleIn,
)
from cityloop.domains.governance.intake import ReportInput, submit_report
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import departments, versions
from cityloop.platforms.application.identity.models import AuditEntry
from cityloop.platforms.application.identity.service import ANONYMOUS, Actor
from tests.support.city import City
from tests.support.configuration import category_body, fresh_code

ADMIN = Actor(1, "admin", "admin")


def _label(city: City, code: str) -> tuple[float, float]:
    with city.ctx.reading() as session:
        lon, lat = geo.jurisdiction_index(session).label_points[code]
    return lat, lon


def _new_category(city: City, **changes: Any) -> str:
    code = fresh_code("EV")
    with city.ctx.writing() as session:
        categories.create_category(
            session, data=CategoryCreate(**category_body(code, **changes)), actor=ADMIN
        )
    return code


def _refused(city: City, work: Any) -> Problem:
    with pytest.raises(Problem) as caught, city.ctx.writing() as session:
        work(session)
    return caught.value


def test_each_edit_of_a_category_is_a_version_naming_the_fields_it_changed(city: City) -> None:
    code = _new_category(city)
    edit = CategoryEdit(**category_body(name="Fallen tree branch", priority="urgent"))
    with city.ctx.writing() as session:
        category = categories.edit_category(session, code=code, version=1, data=edit, actor=ADMIN)
        assert category.version == 2
    with city.ctx.reading() as session:
        found = versions.history(session, kind="category", key=code)
        assert [v.version for v in found] == [2, 1]
        assert found[0].changes == ["name", "priority"]
        assert found[0].state["name"] == "Fallen tree branch"
        assert found[0].actor == "admin"
        trail = session.scalars(
            select(AuditEntry).where(AuditEntry.target == f"category:{code}")
        ).all()
        assert sorted(a.action for a in trail) == ["category.create", "category.edit"]


def test_an_edit_made_on_an_old_version_is_refused_naming_the_current_one(city: City) -> None:
    code = _new_category(city)
    edit = CategoryEdit(**category_body(name="First"))
    with city.ctx.writing() as session:
        categories.edit_category(session, code=code, version=1, data=edit, actor=ADMIN)
    refused = _refused(
        city,
        lambda s: categories.edit_category(s, code=code, version=1, data=edit, actor=ADMIN),
    )
    assert refused.status == 409 and refused.extra["current_version"] == 2
    missing = _refused(
        city,
        lambda s: categories.edit_category(s, code=code, version=None, data=edit, actor=ADMIN),
    )
    assert missing.status == 428 and missing.field == "version"


@pytest.mark.parametrize(
    ("sla", "field"),
    [
        (
            [{"priority": "normal", "response_minutes": 600, "resolution_minutes": 60}],
            "sla[0].response_minutes",
        ),
        (
            [
                {"priority": "normal", "response_minutes": 6, "resolution_minutes": 60},
                {"priority": "normal", "response_minutes": 6, "resolution_minutes": 60},
            ],
            "sla[1].priority",
        ),
        ([{"priority": "urgent", "response_minutes": 6, "resolution_minutes": 60}], "sla"),
    ],
)
def test_sla_targets_must_make_sense(city: City, sla: list[Any], field: str) -> None:
    body = CategoryCreate(**category_body(fresh_code("EV"), sla=sla))
    refused = _refused(city, lambda s: categories.create_category(s, data=body, actor=ADMIN))
    assert refused.status == 400 and refused.field == field


def _attribute(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "q",
        "datatype": "string",
        "order": 1,
        "description": "Q?",
        "description_zh": "问？",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ([_attribute(datatype="singlevaluelist")], "attributes[0].values"),
        (
            [_attribute(values=[{"key": "a", "name": "A", "name_zh": "甲"}])],
            "attributes[0].values",
        ),
        (
            [
                _attribute(
                    datatype="multivaluelist",
                    values=[
                        {"key": "a", "name": "A", "name_zh": "甲"},
                        {"key": "a", "name": "B", "name_zh": "乙"},
                    ],
                )
            ],
            "attributes[0].values",
        ),
        ([_attribute(), _attribute(order=2)], "attributes[1].code"),
        ([_attribute(), _attribute(code="r")], "attributes[1].order"),
    ],
)
def test_attributes_are_checked_strictly(city: City, attributes: list[Any], field: str) -> None:
    body = CategoryCreate(**category_body(fresh_code("EV"), attributes=attributes))
    refused = _refused(city, lambda s: categories.create_category(s, data=body, actor=ADMIN))
    assert refused.status == 400 and refused.field == field


def test_attributes_are_stored_in_the_shape_reports_are_checked_against(city: City) -> None:
    code = _new_category(city)
    with city.ctx.reading() as session:
        found = get_category(session, code=code)
        assert found is not None
        size = found.attributes[0]
    assert size["values"] == [["small", "Small"], ["large", "Blocks the way"]]
    assert size["values_zh"] == [["small", "小"], ["large", "挡路"]]
    assert size["description_zh"] == "有多大？"


def test_a_deactivated_category_takes_no_new_reports_but_its_cases_go_on(city: City) -> None:
    code = _new_category(city)
    lat, lon = _label(city, "RV02-S01")
    with city.ctx.writing() as session:
        case = submit_report(
            session,
            actor=ANONYMOUS,
            data=ReportInput(category=code, lat=lat, lon=lon, attributes={"size": "small"}),
            allow_dedupe=False,
        ).case
        case_id = case.id
        categories.set_category_active(session, code=code, version=1, active=False, actor=ADMIN)
    refused = _refused(
        city,
        lambda s: submit_report(
            s, actor=ANONYMOUS, data=ReportInput(category=code, lat=lat, lon=lon)
        ),
    )
    assert refused.status == 400 and refused.field == "category"
    with city.ctx.reading() as session:
        from cityloop.domains.governance.models import Case

        assert session.get(Case, case_id).status == "submitted"  # type: ignore[union-attr]


def test_a_second_rule_for_the_same_category_and_district_is_a_conflict(city: City) -> None:
    code = _new_category(city)
    with city.ctx.writing() as session:
        first = rules.add_rule(
            session,
            data=RoutingRuleIn(category=code, district="RV01", department="roads"),
            actor=ADMIN,
        )
        first_id = first.id
    refused = _refused(
        city,
        lambda s: rules.add_rule(
            s, data=RoutingRuleIn(category=code, district="RV01", department="water"), actor=ADMIN
        ),
    )
    assert refused.status == 409 and refused.extra["rule_id"] == first_id
    # Two "any district" rules clash as well, though the database lets two NULLs by.
    with city.ctx.writing() as session:
        rules.add_rule(session, data=RoutingRuleIn(category=code, department="roads"), actor=ADMIN)
    refused = _refused(
        city,
        lambda s: rules.add_rule(
            s, data=RoutingRuleIn(category=code, department="water"), actor=ADMIN
        ),
    )
    assert refused.status == 409


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"category": "NOPE", "district": "RV01", "department": "roads"}, "category"),
        ({"category": "C-03-01", "district": "RV01-S01", "department": "roads"}, "district"),
        ({"category": "C-03-01", "district": "RV09", "department": "roads"}, "district"),
        ({"category": "C-03-01", "district": "RV02", "department": "nobody"}, "department"),
    ],
)
def test_a_rule_names_things_that_exist(city: City, rule: dict[str, str], field: str) -> None:
    refused = _refused(city, lambda s: rules.add_rule(s, data=RoutingRuleIn(**rule), actor=ADMIN))
    assert refused.status == 400 and refused.field == field


def test_a_rule_edit_and_delete_are_versioned(city: City) -> None:
    code = _new_category(city)
    with city.ctx.writing() as session:
        rule = rules.add_rule(
            session,
            data=RoutingRuleIn(category=code, district="RV03", department="roads"),
            actor=ADMIN,
        )
        rule_id = rule.id
        rules.edit_rule(
            session,
            rule_id=rule_id,
            version=1,
            data=RoutingRuleIn(category=code, district="RV03", department="water"),
            actor=ADMIN,
        )
    refused = _refused(
        city, lambda s: rules.delete_rule(s, rule_id=rule_id, version=1, actor=ADMIN)
    )
    assert refused.status == 409 and refused.extra["current_version"] == 2
    with city.ctx.writing() as session:
        rules.delete_rule(session, rule_id=rule_id, version=2, actor=ADMIN)
    with city.ctx.reading() as session:
        found = versions.history(session, kind="routing-rule", key=str(rule_id))
    assert [(v.version, v.action) for v in found] == [(3, "delete"), (2, "edit"), (1, "create")]
    assert found[1].changes == ["department"]


def test_test_a_point_names_the_rule_the_intake_would_follow(city: City) -> None:
    code = _new_category(city)
    lat, lon = _label(city, "RV01-S02")
    with city.ctx.writing() as session:
        rule = rules.add_rule(
            session,
            data=RoutingRuleIn(category=code, district="RV01", department="roads"),
            actor=ADMIN,
        )
        rule_id = rule.id
    with city.ctx.reading() as session:
        probe = rules.probe_point(session, data=PointTestIn(category=code, lat=lat, lon=lon))
        assert probe.placement.district.code == "RV01"
        assert probe.placement.street is not None and probe.placement.street.code == "RV01-S02"
        assert probe.rule is not None and probe.rule.id == rule_id
        assert probe.decision.department_code == "roads"
        assert probe.sla is not None and probe.resolution_due is not None
        assert (probe.resolution_due - probe.now).total_seconds() == 1440 * 60
        elsewhere = _label(city, "RV02-S01")
        other = rules.probe_point(
            session, data=PointTestIn(category=code, lat=elsewhere[0], lon=elsewhere[1])
        )
        assert other.rule is None and other.decision.department_code == "parks"
    with city.ctx.writing() as session:
        case = submit_report(
            session,
            actor=ANONYMOUS,
            data=ReportInput(category=code, lat=lat, lon=lon, attributes={"size": "large"}),
            allow_dedupe=False,
        ).case
        assert case.routing["department"] == "roads"
        assert case.routing["rule_id"] == rule_id


def test_a_point_outside_the_city_is_refused_naming_lat(city: City) -> None:
    with city.ctx.reading() as session, pytest.raises(Problem) as caught:
        rules.probe_point(session, data=PointTestIn(category="C-03-01", lat=1.0, lon=1.0))
    assert caught.value.status == 400 and caught.value.field == "lat"


def test_a_department_in_use_cannot_be_deactivated(city: City) -> None:
    dept = fresh_code("d").lower()
    code = _new_category(city)
    lat, lon = _label(city, "RV03-S01")
    with city.ctx.writing() as session:
        departments.add(
            session, code=dept, name="Bridges", name_zh="桥梁处", kind="department", actor=ADMIN
        )
        rule = rules.add_rule(
            session,
            data=RoutingRuleIn(category=code, district="RV03", department=dept),
            actor=ADMIN,
        )
        rule_id = rule.id
        case = submit_report(
            session,
            actor=ANONYMOUS,
            data=ReportInput(category=code, lat=lat, lon=lon, attributes={"size": "large"}),
            allow_dedupe=False,
        ).case
        from cityloop.domains.governance.actions import ActionInput, apply_action
        from cityloop.platforms.application.identity.service import SYSTEM

        apply_action(session, case_id=case.id, actor=SYSTEM, data=ActionInput("register"))
        apply_action(
            session,
            case_id=case.id,
            actor=SYSTEM,
            data=ActionInput("dispatch", department=dept),
        )
        case_id = case.id
    refused = _refused(
        city,
        lambda s: departments.set_active(s, code=dept, version=1, active=False, actor=ADMIN),
    )
    assert refused.status == 409
    assert f"routing rule #{rule_id}" in refused.detail
    assert f"#{case_id}" in refused.detail
    with city.ctx.writing() as session:
        rules.delete_rule(session, rule_id=rule_id, version=1, actor=ADMIN)
        apply_action(
            session,
            case_id=case_id,
            actor=SYSTEM,
            data=ActionInput("reassign", department="parks", note="not ours"),
        )
        department = departments.set_active(
            session, code=dept, version=1, active=False, actor=ADMIN
        )
        assert not department.active and department.version == 2


def test_a_category_comes_back_only_with_a_department_in_service(city: City) -> None:
    dept = fresh_code("d").lower()
    with city.ctx.writing() as session:
        departments.add(
            session, code=dept, name="Kiosks", name_zh="报亭处", kind="department", actor=ADMIN
        )
    code = _new_category(city, default_department=dept)
    with city.ctx.writing() as session:
        categories.set_category_active(session, code=code, version=1, active=False, actor=ADMIN)
        departments.set_active(session, code=dept, version=1, active=False, actor=ADMIN)
    refused = _refused(
        city,
        lambda s: categories.set_category_active(s, code=code, version=2, active=True, actor=ADMIN),
    )
    assert refused.status == 400 and refused.field == "default_department"
