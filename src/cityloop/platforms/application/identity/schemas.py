from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    name_zh: str
    kind: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    role: str
    department_code: str | None
    active: bool = True
    locale: str | None = Field(
        default=None, description="the language the account reads; null follows the browser"
    )


class AccountSettings(BaseModel):
    locale: Literal["en", "zh-CN"] | None = Field(
        description="the language the account reads: en or zh-CN; null follows the browser"
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=80)
    password: str = Field(min_length=8, max_length=200)
    role: str
    department_code: str | None = None
    display_name: str = Field(default="", max_length=200)
    email: EmailStr | None = None


class CitizenSignup(BaseModel):
    username: str = Field(min_length=2, max_length=80)
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    target: str
    detail: dict[str, Any]


class CrewMemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")
    id: int
    username: str
    display_name: str
    active: bool


class CrewOut(BaseModel):
    """A department's crew (班组) and its members."""

    model_config = ConfigDict(extra="forbid")
    id: int
    department_code: str
    name: str
    active: bool
    created_at: datetime
    members: list[CrewMemberOut]


class CrewCreate(BaseModel):
    department_code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)


class CrewRename(BaseModel):
    name: str = Field(min_length=1, max_length=120)


class CrewMemberAdd(BaseModel):
    username: str = Field(min_length=1, max_length=80)
