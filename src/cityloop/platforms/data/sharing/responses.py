"""Bodies and answers of the sharing routes: grants with their history, shared rows, lookups."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cityloop.base.contracts import Answer, JsonObject, Named, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.sharing import service
from cityloop.platforms.data.sharing.lookups import Lookup
from cityloop.platforms.data.sharing.models import DataGrant, GrantEvent
from cityloop.platforms.data.sharing.targets import Target
from cityloop.platforms.data.sharing.workflow import GRANT_WORKFLOW, GrantStatus, Party

Text = Field(min_length=1, max_length=service.MAX_TEXT)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrantRequestIn(Strict):
    kind: Literal["dataset", "lookup"]
    name: str = Field(min_length=1, max_length=100, description="the dataset's or lookup's name")
    purpose: str = Text
    legal_basis: str = Field(
        min_length=1, max_length=service.MAX_TEXT, description="the regulation relied on"
    )
    fields: list[str] = Field(default_factory=list, max_length=100, description="fields needed")
    department: str | None = Field(
        default=None, max_length=40, description="for an administrator: the requesting department"
    )


class GrantApproveIn(Strict):
    fields: list[str] = Field(min_length=1, max_length=100)
    row_filter: dict[str, Any] = Field(
        default_factory=dict, description="{field: value | [values]}: only matching rows"
    )
    expires_at: datetime = Field(description="ISO 8601 with a time zone, at most 3 years ahead")
    note: str = Field(default="", max_length=service.MAX_TEXT)


class GrantReasonIn(Strict):
    reason: str = Text


class LookupIn(Strict):
    params: dict[str, Any] = Field(description="the lookup's parameters")
    fields: list[str] | None = Field(default=None, max_length=50)
    reference: str = Field(default="", max_length=120, description="what the check is for")


class FieldChoice(Answer):
    name: str
    type: str


class GrantEventOut(Answer):
    id: int
    at: Timestamp
    actor: str
    actor_role: str
    action: str
    from_status: str | None
    to_status: str
    note: str


class GrantOut(Answer):
    id: int
    kind: str
    name: str = Field(description="the dataset's or lookup's name")
    title: str
    title_zh: str
    requester: Named
    owner: Named
    purpose: str
    legal_basis: str
    requested_by: str
    requested_at: Timestamp
    requested_fields: list[str]
    status: str
    fields: list[str]
    row_filter: JsonObject
    expires_at: Timestamp | None
    expired: bool = Field(description="approved, but past its expiry (the timer has not run)")
    decided_by: str | None
    decided_at: Timestamp | None
    decision_note: str
    revoked_by: str | None
    revoked_at: Timestamp | None
    revoked_reason: str
    # What an approval chooses among: the fields, and what the row filter may fix.
    field_choices: list[FieldChoice]
    filter_choices: list[FieldChoice]
    actions: list[str] = Field(description="what the caller may do with it now")
    history: list[GrantEventOut]


class GrantPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[GrantOut]


class SharedDatasetOut(Answer):
    """A dataset a department may read or ask for, and what it holds of it now."""

    name: str
    title: str
    title_zh: str
    owner: Named
    sensitivity: str
    fields: list[FieldChoice]
    access: Literal["own", "open", "granted", "none"]
    grant_id: int | None


class LookupOut(Answer):
    name: str
    title: str
    title_zh: str
    description: str
    description_zh: str
    owner: Named
    params: list[str]
    fields: list[str]
    always: list[str]
    subject: str
    access: Literal["own", "granted", "none"]
    grant_id: int | None


class SharedRowsOut(Answer):
    dataset: str
    grant_id: int | None
    fields: list[JsonObject]
    records: list[JsonObject]
    total: int
    limit: int
    offset: int


class LookupAnswerOut(Answer):
    lookup: str
    grant_id: int | None
    answer: JsonObject


def named(departments: dict[str, Department], code: str) -> Named:
    found = departments.get(code)
    if found is None:
        return Named(code=code, name=code, name_zh=code)
    return Named(code=code, name=found.name, name_zh=found.name_zh or found.name)


def event_out(row: GrantEvent) -> GrantEventOut:
    return GrantEventOut(
        id=row.id, at=iso(row.at) or "", actor=row.actor, actor_role=row.actor_role,
        action=row.action, from_status=row.from_status, to_status=row.to_status, note=row.note,
    )  # fmt: skip


def _actions(grant: DataGrant, caller: Any) -> list[str]:
    """Owner actions the caller may take now (its department owns the data, or an admin)."""
    deciding = caller.role == "admin" or (
        caller.role == "handler" and caller.department_code == grant.owner_department
    )
    return [
        action
        for action in GRANT_WORKFLOW.actions_from(grant.status)
        if deciding and GRANT_WORKFLOW.find(grant.status, action).party is Party.OWNER  # type: ignore[union-attr]
    ]


def grant_out(
    session: Session,
    grant: DataGrant,
    *,
    caller: Any,
    departments: dict[str, Department],
    now: datetime,
    target: Target | None = None,
) -> GrantOut:
    target = target or service.target_of(session, grant)
    return GrantOut(
        id=grant.id, kind=grant.kind, name=target.name, title=target.title,
        title_zh=target.title_zh,
        requester=named(departments, grant.requester_department),
        owner=named(departments, grant.owner_department),
        purpose=grant.purpose, legal_basis=grant.legal_basis, requested_by=grant.requested_by,
        requested_at=iso(grant.requested_at) or "", requested_fields=list(grant.requested_fields),
        status=grant.status, fields=list(grant.fields), row_filter=dict(grant.row_filter),
        expires_at=iso(grant.expires_at),
        expired=grant.status == GrantStatus.APPROVED
        and grant.expires_at is not None
        and grant.expires_at <= now,
        decided_by=grant.decided_by, decided_at=iso(grant.decided_at),
        decision_note=grant.decision_note, revoked_by=grant.revoked_by,
        revoked_at=iso(grant.revoked_at), revoked_reason=grant.revoked_reason,
        field_choices=[FieldChoice(name=n, type=t) for n, t in target.fields.items()],
        filter_choices=[FieldChoice(name=n, type=t) for n, t in target.filterable.items()],
        actions=_actions(grant, caller),
        history=[event_out(e) for e in service.history(session, grant_id=grant.id)],
    )  # fmt: skip


def lookup_out(
    lookup: Lookup,
    *,
    departments: dict[str, Department],
    access: Literal["own", "granted", "none"],
    grant_id: int | None,
) -> LookupOut:
    return LookupOut(
        name=lookup.name, title=lookup.title, title_zh=lookup.title_zh,
        description=lookup.description, description_zh=lookup.description_zh,
        owner=named(departments, lookup.owner_department), params=lookup.parameters,
        fields=lookup.grantable, always=lookup.always, subject=lookup.subject,
        access=access, grant_id=grant_id,
    )  # fmt: skip
