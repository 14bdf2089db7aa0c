"""Request bodies and answers of the real-name and enterprise routes. No answer here carries a
full identity number except :class:`CounterCitizen`, the counter screen's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from cityloop.base.contracts import Answer, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.identity import numbers
from cityloop.platforms.application.identity.models import (
    Enterprise,
    EnterpriseAgent,
    RealName,
    User,
)
from cityloop.platforms.application.identity.realname import level_of


class IdentityIn(BaseModel):
    legal_name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(min_length=1, max_length=40)


class PhoneCodeIn(BaseModel):
    phone: str | None = Field(default=None, max_length=40)


class PhoneConfirmIn(BaseModel):
    code: str = Field(pattern=r"^\s*\d{6}\s*$")


class CounterVerifyIn(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    id_number: str = Field(min_length=1, max_length=40)
    counter: str = Field(default="", max_length=120)
    address: str = Field(
        default="", max_length=300, description="the address printed on the document (住址)"
    )
    address_district: str = Field(
        default="", max_length=40, description="the district code that address lies in"
    )


class AgentGrantIn(BaseModel):
    username: str = Field(min_length=1, max_length=80)


class MyIdentity(Answer):
    """The holder's own view: their level, and their numbers masked."""

    level: int
    legal_name: str | None
    id_number_masked: str | None
    birth_date: str | None
    identity_checked: bool
    phone_masked: str | None
    phone_verified: bool
    counter_verified_at: Timestamp | None


def my_identity(record: RealName | None) -> MyIdentity:
    return MyIdentity(
        level=level_of(record),
        legal_name=record.legal_name if record else None,
        id_number_masked=numbers.mask_id_number(record.id_number if record else None),
        birth_date=record.birth_date.isoformat() if record and record.birth_date else None,
        identity_checked=bool(record and record.id_checked_at),
        phone_masked=numbers.mask_phone(record.phone if record else None),
        phone_verified=bool(record and record.phone_verified_at),
        counter_verified_at=iso(record.counter_verified_at) if record else None,
    )


class CodeSentOut(Answer):
    sent_to: str
    expires_at: Timestamp
    expires_in: int


class CitizenRow(Answer):
    """A citizen in a staff list: the identity number masked."""

    username: str
    display_name: str
    level: int
    legal_name: str | None
    id_number_masked: str | None


def citizen_row(user: User, record: RealName | None) -> CitizenRow:
    return CitizenRow(
        username=user.username,
        display_name=user.display_name,
        level=level_of(record),
        legal_name=record.legal_name if record else None,
        id_number_masked=numbers.mask_id_number(record.id_number if record else None),
    )


class CounterCitizen(Answer):
    """The counter screen: the full number, to compare with the document in hand."""

    username: str
    display_name: str
    level: int
    legal_name: str | None
    id_number: str | None
    birth_date: str | None
    phone_masked: str | None
    counter_verified_at: Timestamp | None
    counter_verified_by: str | None
    counter_department: str | None
    counter: str | None
    address: str | None
    address_district: str | None


def counter_citizen(user: User, record: RealName | None) -> CounterCitizen:
    return CounterCitizen(
        username=user.username,
        display_name=user.display_name,
        level=level_of(record),
        legal_name=record.legal_name if record else None,
        id_number=record.id_number if record else None,
        birth_date=record.birth_date.isoformat() if record and record.birth_date else None,
        phone_masked=numbers.mask_phone(record.phone if record else None),
        counter_verified_at=iso(record.counter_verified_at) if record else None,
        counter_verified_by=record.counter_verified_by if record else None,
        counter_department=record.counter_department if record else None,
        counter=record.counter_name if record else None,
        address=record.address if record else None,
        address_district=record.address_district if record else None,
    )


class EnterpriseOut(Answer):
    """An enterprise's registration; the legal representative's number masked."""

    uscc: str
    name: str
    name_en: str
    legal_rep_name: str
    legal_rep_id_number_masked: str | None
    address: str
    registered_capital_yuan: int
    business_scope: str
    registered_on: str
    status: str


def enterprise_out(found: Enterprise) -> EnterpriseOut:
    return EnterpriseOut(
        uscc=found.uscc,
        name=found.name,
        name_en=found.name_en,
        legal_rep_name=found.legal_rep_name,
        legal_rep_id_number_masked=numbers.mask_id_number(found.legal_rep_id_number),
        address=found.address,
        registered_capital_yuan=found.registered_capital_yuan,
        business_scope=found.business_scope,
        registered_on=found.registered_on.isoformat(),
        status=found.status,
    )


class MyEnterprise(Answer):
    enterprise: EnterpriseOut
    relation: Literal["legal_representative", "agent"]


class AgentOut(Answer):
    id: int
    uscc: str
    username: str
    display_name: str
    granted_by: str
    granted_at: Timestamp
    revoked_by: str | None
    revoked_at: Timestamp | None
    active: bool


def agent_out(grant: EnterpriseAgent, user: User) -> AgentOut:
    return AgentOut(
        id=grant.id,
        uscc=grant.uscc,
        username=user.username,
        display_name=user.display_name,
        granted_by=grant.granted_by,
        granted_at=iso(grant.granted_at) or "",
        revoked_by=grant.revoked_by,
        revoked_at=iso(grant.revoked_at),
        active=grant.revoked_at is None,
    )
