"""Answers of the configuration routes."""

from __future__ import annotations

from pydantic import Field

from cityloop.base.contracts import Answer, Named, Timestamp
from cityloop.domains.governance.responses import Category as PublicCategory
from cityloop.domains.governance.workflow import Priority


class SlaTargetOut(Answer):
    priority: Priority
    response_minutes: int
    resolution_minutes: int


class AdminCategory(PublicCategory):
    """A category with what only admins edit: its state, version, clocks and SLA targets."""

    major_name: str
    major_name_zh: str
    active: bool
    version: int
    dedupe_window_hours: int
    update_interval_hours: int
    sla: list[SlaTargetOut]


class RoutingRuleOut(Answer):
    id: int
    category: str
    district: str | None = Field(description="None: the category's rule for any district")
    department: str
    version: int


class PointSla(Answer):
    priority: Priority
    response_minutes: int
    resolution_minutes: int
    response_due: Timestamp
    resolution_due: Timestamp


class PointTestOut(Answer):
    """What a report of the category at the point would get, if it came in now."""

    category: Named
    lat: float
    lon: float
    district: Named
    street: Named | None
    grid: Named | None
    department: Named
    rule: RoutingRuleOut | None = Field(description="the rule that matched; None: the default")
    matched: str = Field(description="district | any-district | default: which step decided")
    explanation: str = Field(description="the routing explanation the case would store")
    priority: Priority
    sla: PointSla | None = Field(description="deadlines if dispatched now; None without a target")
    at: Timestamp
