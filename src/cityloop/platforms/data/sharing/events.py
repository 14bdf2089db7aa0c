"""Sharing's typed events: one per step of a grant's life. Payloads carry ids and codes only."""

from __future__ import annotations

from typing import ClassVar

from cityloop.base.events import Event


class GrantChange(Event):
    aggregate: ClassVar[str] = "data_grant"
    aggregate_field: ClassVar[str] = "grant_id"

    grant_id: int
    kind: str
    dataset: str | None = None
    lookup: str | None = None
    requester_department: str
    owner_department: str
    from_status: str | None = None
    to_status: str


class GrantRequested(GrantChange):
    type: ClassVar[str] = "sharing.grant.requested"


class GrantApproved(GrantChange):
    type: ClassVar[str] = "sharing.grant.approved"

    expires_at: str


class GrantRefused(GrantChange):
    type: ClassVar[str] = "sharing.grant.refused"


class GrantRevoked(GrantChange):
    type: ClassVar[str] = "sharing.grant.revoked"


class GrantExpired(GrantChange):
    type: ClassVar[str] = "sharing.grant.expired"


# The event of each workflow action.
BY_ACTION: dict[str, type[GrantChange]] = {
    "request": GrantRequested,
    "approve": GrantApproved,
    "refuse": GrantRefused,
    "revoke": GrantRevoked,
    "expire": GrantExpired,
}
