"""Routing: which department a case goes to, by category and district (FixMyStreet's body,
area and category), with the reason written down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityloop.domains.governance.models import Category, RoutingRule


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str
    rule_id: int | None
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department_code,
            "rule_id": self.rule_id,
            "explanation": self.explanation,
        }


def route(session: Session, *, category: Category, district_code: str) -> RoutingDecision:
    """The most specific rule wins: (category, district), then (category, any district)."""
    rules = session.scalars(
        select(RoutingRule).where(
            RoutingRule.category_code == category.code,
            or_(RoutingRule.district_code == district_code, RoutingRule.district_code.is_(None)),
        )
    ).all()
    specific = [r for r in rules if r.district_code == district_code]
    if specific:
        rule = specific[0]
        return RoutingDecision(
            rule.department_code,
            rule.id,
            f"rule #{rule.id}: category {category.code} in district {district_code} "
            f"goes to {rule.department_code}",
        )
    fallback = [r for r in rules if r.district_code is None]
    if fallback:
        rule = fallback[0]
        return RoutingDecision(
            rule.department_code,
            rule.id,
            f"rule #{rule.id}: category {category.code} in any district "
            f"goes to {rule.department_code}",
        )
    return RoutingDecision(
        category.default_department,
        None,
        f"no routing rule: the default department of category {category.code}",
    )
