"""Routing: which department a case goes to, by category and district (FixMyStreet's body,
area and category), with the reason written down: as a message code with the category,
district and department names in both languages, so each reader sees it in their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.lookups import Lookup
from cityloop.base.messages import stored_message
from cityloop.domains.governance.events import RoutingRuleChanged
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Category, RoutingRule
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity.departments import department_name

# A key of a case's ``routing`` that has a ``<key>_message`` beside it is rendered per reader.
CODED_SUFFIX = "_message"


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str
    rule_id: int | None
    message: Message

    @property
    def explanation(self) -> str:
        return self.message.render()

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department_code,
            "rule_id": self.rule_id,
            "explanation": self.explanation,
            "explanation" + CODED_SUFFIX: self.message.as_dict(),
        }


@dataclass(frozen=True)
class RuleTarget:
    """Where one routing rule sends a category's cases."""

    rule_id: int
    department_code: str


# (category code, district code or None for any district) -> the rule for it.
RoutingIndex = dict[tuple[str, str | None], RuleTarget]


def _fingerprint(session: Session) -> tuple[Any, ...]:
    # An edit bumps a version, an addition the count and max(id) (ids are never reused, so a
    # delete and an add within one recheck still move max(id)); a delete lowers the count.
    return tuple(
        session.execute(
            select(func.count(), func.sum(RoutingRule.version), func.max(RoutingRule.id))
        ).one()
    )


def _build(session: Session) -> RoutingIndex:
    index: RoutingIndex = {}
    rows = session.execute(
        select(
            RoutingRule.category_code,
            RoutingRule.district_code,
            RoutingRule.id,
            RoutingRule.department_code,
        ).order_by(RoutingRule.id)
    )
    for category_code, district_code, rule_id, department_code in rows:
        # Two any-district rows for one category (NULLs escape the unique constraint) can only
        # be written around the services: the oldest one wins.
        index.setdefault((category_code, district_code), RuleTarget(rule_id, department_code))
    return index


_rules: Lookup[RoutingIndex] = Lookup(
    fingerprint=_fingerprint, build=_build, invalidated_by=[RoutingRuleChanged]
)


def department_params(session: Session, code: str | None) -> dict[str, str]:
    """A department's names as message parameters (its code when it is unknown)."""
    department = department_name(session, code=code) if code else None
    if department is None:
        return {"department": code or "", "department_zh": code or ""}
    return {"department": department.name, "department_zh": department.name_zh or department.name}


def _names(session: Session, category: Category, district_code: str | None) -> dict[str, str]:
    area = geo.jurisdiction_index(session).areas.get(district_code) if district_code else None
    return {
        "category": category.name,
        "category_zh": category.name_zh or category.name,
        "district": area.name if area else (district_code or ""),
        "district_zh": (area.name_zh or area.name) if area else (district_code or ""),
    }


def routing_out(routing: dict[str, Any], locale: str) -> dict[str, Any]:
    """A case's routing record for a reader: each coded line rendered in ``locale``."""
    shown = dict(routing)
    for key, stored in routing.items():
        if key.endswith(CODED_SUFFIX) and (message := stored_message(stored)):
            shown[key.removesuffix(CODED_SUFFIX)] = message.render(locale)
    return shown


def route(session: Session, *, category: Category, district_code: str) -> RoutingDecision:
    """The most specific rule wins: (category, district), then (category, any district)."""
    rules = _rules.get(session)
    specific = rules.get((category.code, district_code))
    if specific is not None:
        params = {"rule": str(specific.rule_id), **_names(session, category, district_code)}
        params.update(department_params(session, specific.department_code))
        return RoutingDecision(
            specific.department_code, specific.rule_id, Message("routing.district_rule", params)
        )
    fallback = rules.get((category.code, None))
    if fallback is not None:
        params = {"rule": str(fallback.rule_id), **_names(session, category, None)}
        params.update(department_params(session, fallback.department_code))
        return RoutingDecision(
            fallback.department_code, fallback.rule_id, Message("routing.city_rule", params)
        )
    params = {**_names(session, category, None)}
    params.update(department_params(session, category.default_department))
    return RoutingDecision(
        category.default_department, None, Message("routing.category_default", params)
    )
