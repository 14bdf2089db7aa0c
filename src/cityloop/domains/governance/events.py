"""The events the governance domain emits. Payloads carry ids and codes, never personal data."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from cityloop.base.events import Event


class CaseChange(Event):
    """Something happened to a case."""

    aggregate: ClassVar[str] = "case"
    aggregate_field: ClassVar[str] = "case_id"

    case_id: int


class CaseCreated(CaseChange):
    type: ClassVar[str] = "case.created"

    category: str
    district: str
    channel: str
    priority: str


class CaseSupported(CaseChange):
    """Another report joined the case."""

    type: ClassVar[str] = "case.supported"

    report_id: int
    channel: str


class CaseTransitioned(CaseChange):
    type: ClassVar[str] = "case.transitioned"

    action: str
    from_status: str | None = Field(alias="from")
    to_status: str = Field(alias="to")
    department: str | None
    event_id: int


class CasePublicUpdate(CaseChange):
    """A change a citizen can see: the reporter and every supporter hear of it."""

    type: ClassVar[str] = "case.public_update"

    event_id: int
    action: str
    status: str


class CaseEscalated(CaseChange):
    """The department head and the supervisors must look at this case."""

    type: ClassVar[str] = "case.escalated"

    department: str | None
    by: str
    reason: Literal["manual", "overdue", "dispute"]


class CaseFlagged(CaseChange):
    """The case has had no public update for too long: its department hears of it."""

    type: ClassVar[str] = "case.flagged"

    department: str | None
    reason: Literal["no_update"] = "no_update"


class CaseRated(CaseChange):
    """A follower rated a closed case (or changed their rating)."""

    type: ClassVar[str] = "case.rated"

    rating_id: int
    stars: int


class CaseAssigned(CaseChange):
    """Who in the department works on the case changed: a worker, a crew, or nobody (unassigned).
    Ids only: the worker's name is identity's business."""

    type: ClassVar[str] = "case.assigned"

    department: str | None
    assignee_user_id: int | None
    assignee_crew_id: int | None
    by: str


class CategoryChanged(Event):
    """A category was created, edited (its names, department, questions or SLA targets),
    taken out of use or brought back: the cached catalogue is dropped (``base.lookups``)."""

    type: ClassVar[str] = "governance.category.changed"
    aggregate: ClassVar[str] = "category"
    aggregate_field: ClassVar[str] = "code"

    code: str
    version: int
    action: str


class RoutingRuleChanged(Event):
    """A routing rule was added, edited or deleted: the cached routing index is dropped
    (``base.lookups``)."""

    type: ClassVar[str] = "governance.routing_rule.changed"
    aggregate: ClassVar[str] = "routing_rule"
    aggregate_field: ClassVar[str] = "rule_id"

    rule_id: int
    version: int
    action: str
