"""The governance configuration routes under /api/v1/admin: categories, routing rules and the
"test a point" probe; admins only. Departments and version histories are identity's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.contracts import Named
from cityloop.base.db import iso
from cityloop.base.problems import not_found
from cityloop.domains.governance.catalogue import get_category, list_categories
from cityloop.domains.governance.config import categories, rules
from cityloop.domains.governance.config.responses import (
    AdminCategory,
    PointSla,
    PointTestOut,
    RoutingRuleOut,
    SlaTargetOut,
)
from cityloop.domains.governance.config.schemas import (
    CategoryCreate,
    CategoryEdit,
    PointTestIn,
    RoutingRuleEdit,
    RoutingRuleIn,
)
from cityloop.domains.governance.models import Category, RoutingRule
from cityloop.domains.governance.presenters import category_out
from cityloop.platforms.application.geo.service import Area
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.config_schemas import VersionIn
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1/admin", tags=["configuration"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
IfMatch = Annotated[str | None, Header(description="the version edited, instead of `version`")]
CodePath = Annotated[str, Path(min_length=1, max_length=20)]
RuleId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _category_out(session: Session, category: Category) -> AdminCategory:
    public = category_out(category).model_dump()
    return AdminCategory(
        **public,
        major_name=category.major_name,
        major_name_zh=category.major_name_zh,
        active=category.active,
        version=category.version,
        dedupe_window_hours=category.dedupe_window_hours,
        update_interval_hours=category.update_interval_hours,
        sla=[
            SlaTargetOut(
                priority=t.priority,  # type: ignore[arg-type]
                response_minutes=t.response_minutes,
                resolution_minutes=t.resolution_minutes,
            )
            for t in categories.sla_targets(session, code=category.code)
        ],
    )


def _rule_out(rule: RoutingRule) -> RoutingRuleOut:
    return RoutingRuleOut(
        id=rule.id,
        category=rule.category_code,
        district=rule.district_code,
        department=rule.department_code,
        version=rule.version,
    )


@router.get("/categories")
def admin_categories(ctx: Ctx, _admin: Admin) -> list[AdminCategory]:
    """Every category, in use or not, with its version and SLA targets; admins only."""
    with ctx.reading() as session:
        return [_category_out(session, c) for c in list_categories(session, include_inactive=True)]


@router.get("/categories/{code}")
def admin_category(ctx: Ctx, _admin: Admin, code: CodePath) -> AdminCategory:
    """One category with its version and SLA targets; admins only."""
    with ctx.reading() as session:
        category = get_category(session, code=code)
        if category is None:
            raise not_found("category", code)
        return _category_out(session, category)


@router.post("/categories", status_code=201)
def create_category(ctx: Ctx, actor: Admin, body: CategoryCreate) -> AdminCategory:
    """Add a category with its questions and SLA targets (version 1, audited); admins only."""
    with ctx.writing() as session:
        return _category_out(session, categories.create_category(session, data=body, actor=actor))


@router.put("/categories/{code}")
def edit_category(
    ctx: Ctx, actor: Admin, code: CodePath, body: CategoryEdit, if_match: IfMatch = None
) -> AdminCategory:
    """Replace a category's fields, questions and SLA targets on the version the admin saw
    (409 when stale; audited); admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        category = categories.edit_category(
            session, code=code, version=version, data=body, actor=actor
        )
        return _category_out(session, category)


@router.post("/categories/{code}/deactivate")
def deactivate_category(
    ctx: Ctx, actor: Admin, code: CodePath, body: VersionIn, if_match: IfMatch = None
) -> AdminCategory:
    """Take a category out of use: no new reports, its existing cases go on; admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        category = categories.set_category_active(
            session, code=code, version=version, active=False, actor=actor
        )
        return _category_out(session, category)


@router.post("/categories/{code}/activate")
def activate_category(
    ctx: Ctx, actor: Admin, code: CodePath, body: VersionIn, if_match: IfMatch = None
) -> AdminCategory:
    """Put a category back into use (versioned, audited); admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        category = categories.set_category_active(
            session, code=code, version=version, active=True, actor=actor
        )
        return _category_out(session, category)


@router.get("/routing-rules")
def list_rules(
    ctx: Ctx,
    _admin: Admin,
    category: Annotated[str | None, Query(max_length=20)] = None,
) -> list[RoutingRuleOut]:
    """The routing rules, optionally of one category; admins only."""
    with ctx.reading() as session:
        return [_rule_out(r) for r in rules.list_rules(session, category=category)]


@router.post("/routing-rules", status_code=201)
def add_rule(ctx: Ctx, actor: Admin, body: RoutingRuleIn) -> RoutingRuleOut:
    """Route a category in a district (or in any district) to a department; a second rule for
    the same category and district is a 409. Audited; admins only."""
    with ctx.writing() as session:
        return _rule_out(rules.add_rule(session, data=body, actor=actor))


@router.put("/routing-rules/{rule_id}")
def edit_rule(
    ctx: Ctx, actor: Admin, rule_id: RuleId, body: RoutingRuleEdit, if_match: IfMatch = None
) -> RoutingRuleOut:
    """Change a rule on the version the admin saw (409 when stale or clashing); admins only."""
    version = versions.expected_version(given=body.version, if_match=if_match)
    with ctx.writing() as session:
        return _rule_out(
            rules.edit_rule(session, rule_id=rule_id, version=version, data=body, actor=actor)
        )


@router.delete("/routing-rules/{rule_id}", status_code=204, response_class=Response)
def delete_rule(
    ctx: Ctx,
    actor: Admin,
    rule_id: RuleId,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    if_match: IfMatch = None,
) -> Response:
    """Remove a rule (the version in `version` or If-Match; audited); admins only."""
    expected = versions.expected_version(given=version, if_match=if_match)
    with ctx.writing() as session:
        rules.delete_rule(session, rule_id=rule_id, version=expected, actor=actor)
    return Response(status_code=204)


def _named(area: Area | None) -> Named | None:
    return Named(code=area.code, name=area.name, name_zh=area.name_zh) if area else None


def _point_out(probe: rules.PointProbe, department: Department | None) -> PointTestOut:
    rule, sla = probe.rule, probe.sla
    if rule is None:
        matched = "default"
    else:
        matched = "any-district" if rule.district_code is None else "district"
    code = probe.decision.department_code
    return PointTestOut(
        category=Named(
            code=probe.category.code, name=probe.category.name, name_zh=probe.category.name_zh
        ),
        lat=probe.lat,
        lon=probe.lon,
        district=Named(
            code=probe.placement.district.code,
            name=probe.placement.district.name,
            name_zh=probe.placement.district.name_zh,
        ),
        street=_named(probe.placement.street),
        grid=_named(probe.placement.grid),
        department=Named(
            code=code,
            name=department.name if department else code,
            name_zh=department.name_zh if department else "",
        ),
        rule=_rule_out(rule) if rule else None,
        matched=matched,
        explanation=str(probe.decision.as_dict()["explanation"]),
        priority=probe.priority,  # type: ignore[arg-type]
        sla=PointSla(
            priority=probe.priority,  # type: ignore[arg-type]
            response_minutes=sla.response_minutes,
            resolution_minutes=sla.resolution_minutes,
            response_due=iso(probe.response_due) or "",
            resolution_due=iso(probe.resolution_due) or "",
        )
        if sla
        else None,
        at=iso(probe.now) or "",
    )


@router.post("/routing/test")
def test_a_point(ctx: Ctx, _admin: Admin, body: PointTestIn) -> PointTestOut:
    """Test a point: which district, street and grid it is in, which rule would route a report
    of the category there and why, and its deadlines if dispatched now; admins only."""
    with ctx.reading() as session:
        probe = rules.probe_point(session, data=body)
        return _point_out(probe, session.get(Department, probe.decision.department_code))
