"""Request bodies of the case routes. The answers are in ``responses.py``, built by
``presenters.py``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from cityloop.domains.governance.contacts import ContactPurpose
from cityloop.domains.governance.workflow import MAX_TEXT, Priority


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=20)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=400)
    description: str = Field(default="", max_length=MAX_TEXT)
    media: list[str] = Field(default_factory=list, max_length=10)
    attributes: dict[str, Any] = Field(default_factory=dict)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(default=None, max_length=40)
    priority: Priority | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=MAX_TEXT)
    department: str | None = Field(default=None, max_length=40)
    attachments: list[str] = Field(default_factory=list, max_length=10)
    resolution: str | None = Field(default=None, max_length=20)
    referred_to: str | None = Field(default=None, max_length=200)
    merge_into: int | None = Field(default=None, ge=1, le=2_147_483_647)
    public: bool | None = None
    assignee_user_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    assignee_crew_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class BulkActionIn(ActionIn):
    case_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=1, max_length=500
    )


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    token: str | None = Field(default=None, max_length=64)


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=MAX_TEXT)
    media: list[str] = Field(default_factory=list, max_length=5)
    token: str | None = Field(default=None, max_length=64)


class SupportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(default="", max_length=MAX_TEXT)
    media: list[str] = Field(default_factory=list, max_length=10)
    contact_email: EmailStr | None = None


class ContactOpenIn(BaseModel):
    """Why a staff member opens a reporter's contact details."""

    model_config = ConfigDict(extra="forbid")
    purpose: ContactPurpose
