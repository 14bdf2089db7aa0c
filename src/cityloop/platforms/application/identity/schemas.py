from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from cityloop.base.contracts import Answer


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
    display_name_zh: str = Field(
        default="", description="the name Chinese readers see; empty: display_name"
    )
    role: str
    department_code: str | None
    district_code: str | None = None
    active: bool = True
    locale: str | None = Field(
        default=None, description="the language the account reads; null follows the browser"
    )


class AccountSettings(BaseModel):
    locale: Literal["en", "zh-CN"] | None = Field(
        description="the language the account reads: en or zh-CN; null follows the browser"
    )


# What a signed-in account must do before anything else: pick a new password (after an
# admin's reset), or enrol a second factor (its role requires one).
Pending = Literal["password-change", "totp-enrolment"]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut
    pending: Pending | None = Field(
        default=None, description="what the account must do first; nothing else is allowed"
    )


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=80)
    password: str | None = Field(
        default=None, max_length=200, description="none: one is generated and answered once"
    )
    must_change_password: bool = Field(
        default=True, description="the owner must choose a new password at the first sign-in"
    )
    role: str
    department_code: str | None = Field(default=None, max_length=40)
    district_code: str | None = Field(default=None, max_length=40)
    display_name: str = Field(default="", max_length=200)
    display_name_zh: str = Field(
        default="", max_length=200, description="the name Chinese readers see; empty: display_name"
    )
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)


class UserUpdate(BaseModel):
    """The fields to change; a field left out stays as it is, null clears it."""

    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, max_length=20)
    department_code: str | None = Field(default=None, max_length=40)
    district_code: str | None = Field(default=None, max_length=40)
    display_name: str | None = Field(default=None, max_length=200)
    display_name_zh: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(
        default=None, max_length=200, description="none: one is generated and answered once"
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=20, description="the authenticator's code")


class UserSummaryOut(Answer):
    """An account in the admin list: no contact details."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")
    id: int
    username: str
    display_name: str
    display_name_zh: str = ""
    role: str
    department_code: str | None
    district_code: str | None
    active: bool
    created_at: datetime
    must_change_password: bool
    totp_enabled: bool


class UserDetailOut(UserSummaryOut):
    """One account for an admin, contact details included (the read is audited)."""

    email: str | None
    phone: str | None
    password_changed_at: datetime | None
    recovery_codes_left: int


class UserPage(Answer):
    items: list[UserSummaryOut]
    total: int = Field(description="how many accounts match the filters")


class UserCreatedOut(UserDetailOut):
    generated_password: str | None = Field(
        description="the password generated for the account, shown this once"
    )


class PasswordResetOut(Answer):
    user: UserDetailOut
    generated_password: str | None = Field(
        description="the temporary password generated, shown this once"
    )


class AccountOut(Answer):
    """The signed-in account, with what it must do first."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")
    id: int
    username: str
    display_name: str
    display_name_zh: str = ""
    role: str
    department_code: str | None
    district_code: str | None
    active: bool
    email: str | None
    phone: str | None
    must_change_password: bool
    totp_enabled: bool
    totp_required: bool
    recovery_codes_left: int
    pending: Pending | None


class TotpEnrolmentOut(Answer):
    secret: str = Field(description="the shared secret, base32, to type in by hand")
    otpauth_uri: str
    qr_svg: str = Field(description="a data: URI of the QR code of otpauth_uri (SVG)")


class RecoveryCodesOut(Answer):
    recovery_codes: list[str] = Field(description="single-use codes, shown this once")


class RoleOut(Answer):
    code: str
    staff: bool
    needs_department: bool


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
    display_name_zh: str = ""
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


class PositionIn(BaseModel):
    """Where a field worker's device is now (WGS 84), as its GPS gives it."""

    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    at: datetime | None = Field(default=None, description="when the fix was taken; now if absent")


class PositionOut(Answer):
    """The position the account reported last."""

    lat: float
    lon: float
    accuracy_m: float | None
    at: str
