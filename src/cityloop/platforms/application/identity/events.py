"""Identity's typed events (see :mod:`cityloop.base.events`)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from cityloop.base.events import Event


class PersonalDataRead(Event):
    """Someone read fields of a person's (``user_id``) or an enterprise's (``enterprise_uscc``)
    data: the data platform's access log records it.

    Identity is an application-platform package and may not import the data platform, where
    the access log lives; it emits this instead, in the transaction of the read. The payload
    names fields, never their values."""

    type: ClassVar[str] = "identity.personal_data.read"
    aggregate: ClassVar[str] = "data_subject"
    aggregate_field: ClassVar[str] = "user_id"

    user_id: int | None = None
    enterprise_uscc: str | None = None
    actor: str
    actor_role: str
    actor_department: str | None = None
    fields: list[str]
    purpose: str
    reference: str = ""
    legal_basis: Literal["consent", "statutory"] = "statutory"
    consent_id: str | None = None
    consent_at: datetime | None = None
    at: datetime

    def aggregate_id(self) -> str:
        """Whose data: ``user:<id>`` or ``enterprise:<uscc>``."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"enterprise:{self.enterprise_uscc}"


class UserDeactivated(Event):
    """An account was deactivated: it can no longer sign in. Governance withdraws the open
    cases assigned to it (identity may not import a domain, so it says so by this event)."""

    type: ClassVar[str] = "identity.user.deactivated"
    aggregate: ClassVar[str] = "user"
    aggregate_field: ClassVar[str] = "user_id"

    user_id: int
    role: str
    department_code: str | None = None
    by: str


class PositionReported(Event):
    """A field account reported where it is. The payload names the account, never the place:
    whoever needs the point reads it (and records that read)."""

    type: ClassVar[str] = "identity.position.reported"
    aggregate: ClassVar[str] = "user"
    aggregate_field: ClassVar[str] = "user_id"

    user_id: int
    at: datetime


class DepartmentChanged(Event):
    """A department was added, renamed, deactivated or brought back: the cached department names
    are dropped (``base.lookups``)."""

    type: ClassVar[str] = "identity.department.changed"
    aggregate: ClassVar[str] = "department"
    aggregate_field: ClassVar[str] = "code"

    code: str
    version: int
    action: str


class ApiKeyChanged(Event):
    """An API key was created, revoked or given other scopes: the cached keys are dropped
    (``base.lookups``). The payload names the key's id, never the key or its hash."""

    type: ClassVar[str] = "identity.api_key.changed"
    aggregate: ClassVar[str] = "api_key"
    aggregate_field: ClassVar[str] = "key_id"

    key_id: int
    action: Literal["create", "revoke", "scopes"]
