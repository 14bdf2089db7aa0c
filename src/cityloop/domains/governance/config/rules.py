"""Routing rules as configuration, the "test a point" probe that runs the intake's own
``routing.route``, and the guard that keeps a department in use from being deactivated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict, not_found
from cityloop.domains.governance.catalogue import get_category, require_category, sla_for
from cityloop.domains.governance.config.schemas import PointTestIn, RoutingRuleIn
from cityloop.domains.governance.events import RoutingRuleChanged
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Case, Category, RoutingRule, SlaTarget
from cityloop.domains.governance.routing import RoutingDecision, route
from cityloop.domains.governance.workflow import OPEN_STATES
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.service import Actor, require_department

KIND = "routing-rule"


def state_of(rule: RoutingRule) -> dict[str, Any]:
    """The rule as a version keeps it."""
    return {
        "id": rule.id,
        "category": rule.category_code,
        "district": rule.district_code,
        "department": rule.department_code,
    }


def list_rules(session: Session, *, category: str | None = None) -> list[RoutingRule]:
    """Routing rules by category, the any-district fallback first, then by district."""
    query = select(RoutingRule).order_by(
        RoutingRule.category_code, RoutingRule.district_code.is_not(None), RoutingRule.district_code
    )
    if category:
        query = query.where(RoutingRule.category_code == category)
    return list(session.scalars(query))


def _where(district: str | None) -> dict[str, str]:
    """Where a rule applies, in both languages: a district or any district."""
    if district is None:
        return {"where": "any district", "where_zh": "所有区"}
    return {"where": f"district {district}", "where_zh": f"{district} 区"}


def _check(session: Session, data: RoutingRuleIn, *, rule_id: int | None) -> None:
    if get_category(session, code=data.category) is None:
        raise bad_request(
            Message("governance.unknown_category", {"code": repr(data.category)}), field="category"
        )
    if data.district is not None:
        area = session.get(Jurisdiction, data.district)
        if area is None or area.level != "district":
            raise bad_request(
                Message("governance.unknown_district", {"code": repr(data.district)}),
                field="district",
            )
    require_department(session, code=data.department, field="department")
    same = select(RoutingRule).where(RoutingRule.category_code == data.category)
    same = same.where(
        RoutingRule.district_code.is_(None)
        if data.district is None
        else RoutingRule.district_code == data.district
    )
    for other in session.scalars(same):
        if other.id != rule_id:
            raise conflict(
                Message(
                    "governance.rule_routes_already",
                    {"rule": str(other.id), "category": data.category, **_where(data.district)},
                ),
                type_="rule-conflict",
                rule_id=other.id,
                field="district",
            )


def _get(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise not_found("routing rule", rule_id)
    return rule


def add_rule(session: Session, *, data: RoutingRuleIn, actor: Actor) -> RoutingRule:
    """A new rule; 409 when the category already has one for that district (or for any)."""
    _check(session, data, rule_id=None)
    rule = RoutingRule(
        category_code=data.category,
        district_code=data.district,
        department_code=data.department,
        version=1,
    )
    session.add(rule)
    session.flush()
    versions.record(
        session,
        kind=KIND,
        key=str(rule.id),
        version=1,
        action="create",
        state=state_of(rule),
        before=None,
        actor=actor,
    )
    emit(session, RoutingRuleChanged(rule_id=rule.id, version=1, action="create"))
    return rule


def edit_rule(
    session: Session, *, rule_id: int, version: int | None, data: RoutingRuleIn, actor: Actor
) -> RoutingRule:
    """Change a rule on the version the admin saw (409 when stale or when it would clash)."""
    rule = _get(session, rule_id)
    versions.require_version(kind=KIND, key=str(rule_id), current=rule.version, given=version)
    _check(session, data, rule_id=rule_id)
    before = state_of(rule)
    rule.category_code = data.category
    rule.district_code = data.district
    rule.department_code = data.department
    rule.version += 1
    session.flush()
    versions.record(
        session,
        kind=KIND,
        key=str(rule_id),
        version=rule.version,
        action="edit",
        state=state_of(rule),
        before=before,
        actor=actor,
    )
    emit(session, RoutingRuleChanged(rule_id=rule_id, version=rule.version, action="edit"))
    return rule


def delete_rule(session: Session, *, rule_id: int, version: int | None, actor: Actor) -> None:
    """Remove a rule: its cases fall back to the any-district rule or the category's default.
    The last version keeps what it was."""
    rule = _get(session, rule_id)
    versions.require_version(kind=KIND, key=str(rule_id), current=rule.version, given=version)
    before = state_of(rule)
    session.delete(rule)
    session.flush()
    versions.record(
        session,
        kind=KIND,
        key=str(rule_id),
        version=rule.version + 1,
        action="delete",
        state={**before, "deleted": True},
        before=before,
        actor=actor,
    )
    emit(session, RoutingRuleChanged(rule_id=rule_id, version=rule.version + 1, action="delete"))


def _in(district: str | None) -> dict[str, str]:
    """A rule's district as a blocker line names it: the code, or any district."""
    if district is None:
        return {"district": "any district", "district_zh": "所有区"}
    return {"district": district}


def department_in_use(session: Session, code: str) -> list[Message]:
    """What of governance still points at a department: rules, categories, open cases."""
    found = [
        Message(
            "governance.blocker_rule",
            {"rule": str(r.id), "category": r.category_code, **_in(r.district_code)},
        )
        for r in session.scalars(
            select(RoutingRule).where(RoutingRule.department_code == code).order_by(RoutingRule.id)
        )
    ]
    found += [
        Message("governance.blocker_category", {"code": c})
        for c in session.scalars(
            select(Category.code).where(
                Category.default_department == code, Category.active.is_(True)
            )
        )
    ]
    open_cases = list(
        session.scalars(
            select(Case.id)
            .where(Case.department_code == code, Case.status.in_([s.value for s in OPEN_STATES]))
            .order_by(Case.id)
            .limit(11)
        )
    )
    if open_cases:
        shown = ", ".join(f"#{i}" for i in open_cases[:10])
        code = (
            "governance.blocker_cases_more" if len(open_cases) > 10 else "governance.blocker_cases"
        )
        found.append(Message(code, {"cases": shown}))
    return found


@dataclass(frozen=True)
class PointProbe:
    """What the intake would do with a report of a category at a point, now."""

    category: Category
    placement: geo.Placement
    decision: RoutingDecision
    rule: RoutingRule | None
    priority: str
    sla: SlaTarget | None
    now: datetime
    lat: float
    lon: float

    @property
    def response_due(self) -> datetime | None:
        return self.now + timedelta(minutes=self.sla.response_minutes) if self.sla else None

    @property
    def resolution_due(self) -> datetime | None:
        return self.now + timedelta(minutes=self.sla.resolution_minutes) if self.sla else None


def probe_point(session: Session, *, data: PointTestIn, now: datetime | None = None) -> PointProbe:
    """Where a point falls, which rule routes the category there and why (the intake's own
    ``route``), and the deadlines a case dispatched now would get."""
    category = require_category(session, code=data.category)
    placement = geo.place_point(session, lon=data.lon, lat=data.lat)
    if placement is None:
        raise bad_request(
            Message(
                "governance.outside_city",
                {"lat": format(data.lat, ".6f"), "lon": format(data.lon, ".6f")},
            ),
            field="lat",
            type_="outside-city",
        )
    decision = route(session, category=category, district_code=placement.district.code)
    priority = data.priority or category.priority
    return PointProbe(
        category=category,
        placement=placement,
        decision=decision,
        rule=session.get(RoutingRule, decision.rule_id) if decision.rule_id else None,
        priority=priority,
        sla=sla_for(session, category_code=category.code, priority=priority),
        now=now or utcnow(),
        lat=data.lat,
        lon=data.lon,
    )
