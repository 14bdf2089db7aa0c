"""The lookups the platform itself answers, from the identity platform's records: is an
enterprise registered, an enterprise's registration, is a person's address in a district, and
a person's verified profile (what the services domain's prefill reads).

Their owners are departments of the demo city (Riverton): market regulation keeps enterprise
registrations, public security keeps people's identity records.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.problems import unprocessable
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import numbers, realname
from cityloop.platforms.application.identity.models import Enterprise, RealName, User
from cityloop.platforms.data.sharing.lookups import Found, Lookup, register
from cityloop.platforms.data.sharing.messages import Message

MARKET_REGULATION = "market"
PUBLIC_SECURITY = "police"
PROFILE_FIELDS = (
    "legal_name", "id_number", "birth_date", "phone", "email", "address", "real_name_level",
)  # fmt: skip
ENTERPRISE_FIELDS = (
    "uscc", "name", "legal_representative", "address", "registered_capital", "business_scope",
    "status",
)  # fmt: skip


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnterpriseParams(_Params):
    uscc: str = Field(min_length=1, max_length=40, description="unified social credit code")


class AddressParams(_Params):
    id_number: str = Field(min_length=1, max_length=40, description="resident identity number")
    district: str = Field(min_length=1, max_length=40, description="a district code")


class PersonParams(_Params):
    user_id: int | None = Field(default=None, ge=1, description="the person's account")
    id_number: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _one_of_the_two(self) -> PersonParams:
        if (self.user_id is None) == (self.id_number is None):
            raise ValueError("give the person's user_id or id_number, one of the two")
        return self


def _enterprise(session: Session, uscc: str) -> Enterprise | None:
    return session.get(Enterprise, numbers.check_uscc(uscc, field="params.uscc"))


def enterprise_registered(session: Session, params: EnterpriseParams) -> Found:
    """Whether the code names a registered enterprise, with its name and status."""
    found = _enterprise(session, params.uscc)
    if found is None:
        return Found({"registered": False, "name": None, "status": None})
    return Found(
        {"registered": True, "name": found.name, "status": found.status},
        enterprise_uscc=found.uscc,
    )


def enterprise_profile(session: Session, params: EnterpriseParams) -> Found:
    """An enterprise's registration, as the services domain's prefill reads it."""
    found = _enterprise(session, params.uscc)
    if found is None:
        return Found({"found": False, **dict.fromkeys(ENTERPRISE_FIELDS)})
    values: dict[str, Any] = {
        "found": True, "uscc": found.uscc, "name": found.name,
        "legal_representative": found.legal_rep_name, "address": found.address,
        "registered_capital": f"{found.registered_capital_yuan} 元",
        "business_scope": found.business_scope, "status": found.status,
    }  # fmt: skip
    return Found(values, enterprise_uscc=found.uscc)


def address_in_district(session: Session, params: AddressParams) -> Found:
    """Whether the address on the person's identity document lies in the district."""
    number, _born = numbers.check_id_number(params.id_number, field="params.id_number")
    district = session.get(Jurisdiction, params.district)
    if district is None or district.level != "district":
        raise unprocessable(
            Message(
                "sharing.district_city",
                {
                    "district": repr(params.district),
                },
            ),
            field="params.district",
        )
    record = session.scalar(select(RealName).where(RealName.id_number == number))
    if record is None:
        return Found({"in_district": False})
    return Found({"in_district": record.address_district == district.code}, user_id=record.user_id)


def person_profile(session: Session, params: PersonParams) -> Found:
    """A person's verified profile: name, number, birth date and phone once verified (real-name
    level 2), e-mail, the document's address and the level."""
    if params.id_number is not None:
        number, _born = numbers.check_id_number(params.id_number, field="params.id_number")
        user_id = session.scalar(select(RealName.user_id).where(RealName.id_number == number))
    else:
        user_id = params.user_id
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return Found({"found": False, **dict.fromkeys(PROFILE_FIELDS)})
    record = realname.record_of(session, user_id=user.id)
    level = realname.level_of(record)
    verified = record is not None and level >= 2
    values: dict[str, Any] = {
        "found": True,
        "legal_name": record.legal_name if verified and record else None,
        "id_number": record.id_number if verified and record else None,
        "birth_date": record.birth_date.isoformat()
        if verified and record and record.birth_date
        else None,
        "phone": record.phone if verified and record else None,
        "email": user.email,
        "address": record.address if record else None,
        "real_name_level": level,
    }
    return Found(values, user_id=user.id)


ENTERPRISE_REGISTERED = Lookup(
    name="enterprise-registered",
    owner_department=MARKET_REGULATION,
    title="Is this enterprise registered?",
    title_zh="企业登记核验",
    description="Whether a unified social credit code names a registered enterprise, with "
    "its registered name and status.",
    description_zh="核验统一社会信用代码是否对应已登记企业，并返回登记名称和登记状态。",
    params=EnterpriseParams,
    answer=enterprise_registered,
    fields={
        "registered": None,
        "name": "enterprise_registration",
        "status": "enterprise_registration",
    },
    subject="enterprise",
)
ENTERPRISE_PROFILE = Lookup(
    name="enterprise-profile",
    owner_department=MARKET_REGULATION,
    title="An enterprise's registration",
    title_zh="企业登记信息",
    description="An enterprise's registered name, legal representative, address, capital, "
    "business scope and status (what application forms are prefilled from).",
    description_zh="企业的登记名称、法定代表人、住所、注册资本、经营范围和登记状态（用于预填申请表）。",
    params=EnterpriseParams,
    answer=enterprise_profile,
    fields={"found": None, **dict.fromkeys(ENTERPRISE_FIELDS, "enterprise_registration")},
    subject="enterprise",
)
ADDRESS_IN_DISTRICT = Lookup(
    name="address-in-district",
    owner_department=PUBLIC_SECURITY,
    title="Is this person's address in the district?",
    title_zh="户籍地址所属区核验",
    description="Yes or no: whether the address on the identity document of the person with "
    "this number lies in the district. The address itself is not given.",
    description_zh="仅回答是或否：该身份证号码持有人证件上的住址是否位于该区，不提供住址本身。",
    params=AddressParams,
    answer=address_in_district,
    fields={"in_district": "address"},
    subject="user",
)
PERSON_PROFILE = Lookup(
    name="person-profile",
    owner_department=PUBLIC_SECURITY,
    title="A person's verified profile",
    title_zh="个人实名信息",
    description="A person's legal name, identity number, birth date and phone (once verified), "
    "e-mail, document address and real-name level (what application forms are prefilled from).",
    description_zh="个人的姓名、身份证号码、出生日期、手机号码（经实名核验后）、电子邮箱、证件住址和实名等级"
    "（用于预填申请表）。",
    params=PersonParams,
    answer=person_profile,
    fields={"found": None, **{name: name for name in PROFILE_FIELDS}},
    subject="user",
)
BUILTIN = (ENTERPRISE_REGISTERED, ENTERPRISE_PROFILE, ADDRESS_IN_DISTRICT, PERSON_PROFILE)


def install() -> None:
    """Register the built-in lookups (again is harmless)."""
    for lookup in BUILTIN:
        register(lookup)
