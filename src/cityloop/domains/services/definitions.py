"""What a service is (办事指南): the shape of one catalogue entry, as the city's data files and the
admins' editor write it, and every check an entry must pass before it is saved as a version.

A definition is stored whole in each :class:`~cityloop.domains.services.models.ServiceVersion`,
so an application keeps reading the rules it was filed under after the catalogue changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Line = Annotated[str, Field(min_length=1, max_length=200)]
Paragraph = Annotated[str, Field(max_length=4000)]

# The largest material a service may accept (its own limit is at most this).
MAX_MATERIAL_BYTES = 20 * 1024 * 1024


class Audience(StrEnum):
    PERSON = "person"  # a natural person (自然人)
    ENTERPRISE = "enterprise"  # a legal person (法人), through its representative or an agent


class OnlineLevel(StrEnum):
    FULL_ONLINE = "full_online"  # 全程网办
    ONE_VISIT = "one_visit"  # 最多跑一次


class FileType(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"


# Where a prefilled form field comes from (一次不用跑): the applicant's verified profile, the
# enterprise's registration, or a claim of a licence the applicant already holds.
PROFILE_SOURCES = frozenset({"legal_name", "id_number", "birth_date", "phone", "email"})
ENTERPRISE_SOURCES = frozenset(
    {"uscc", "name", "legal_representative", "address", "registered_capital", "business_scope"}
)
# What a licence claim may be taken from besides form fields.
APPLICATION_CLAIMS = frozenset(
    {"application.number", "applicant.name", "enterprise.name", "enterprise.uscc", "service.name"}
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Material(Strict):
    """A document the applicant hands in (申请材料)."""

    code: Code
    name: Line
    name_zh: Line
    description: Paragraph = ""
    description_zh: Paragraph = ""
    types: list[FileType] = Field(min_length=1)
    max_bytes: int = Field(gt=0, le=MAX_MATERIAL_BYTES)
    required: bool = True


class Stage(Strict):
    """Departments that review at the same time; stages run one after the other."""

    departments: list[Code] = Field(min_length=1)
    days: int = Field(ge=1, le=365, description="working days each step of the stage has")


class Fee(Strict):
    amount_cents: int = Field(ge=0, le=100_000_000)
    note: Paragraph = ""
    note_zh: Paragraph = ""


class Form(Strict):
    json_schema: dict[str, Any] = Field(alias="schema")
    ui_schema: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Licence(Strict):
    """The e-licence an approval issues: its type, validity and claims (and which the holder may
    leave out when presenting it)."""

    type: Code
    name: Line
    name_zh: Line
    valid_days: int = Field(ge=1, le=36_500)
    # claim name -> where it comes from: "form.<field>" or one of APPLICATION_CLAIMS.
    claims: dict[FieldName, str] = Field(min_length=1)
    disclosable: list[FieldName] = Field(default_factory=list)


class ServiceDefinition(Strict):
    code: Code
    name: Line
    name_zh: Line
    description: Paragraph
    description_zh: Paragraph
    topics: list[Code] = Field(default_factory=list, description="hall groups and life events")
    audience: list[Audience] = Field(min_length=1)
    department: Code = Field(description="the responsible department, which accepts (受理)")
    online_level: OnlineLevel
    in_person: bool = Field(False, description="an appointment at the counter is needed")
    realname_level: int = Field(2, ge=1, le=3)
    time_limit_days: int = Field(ge=1, le=365, description="承诺时限 in working days")
    fee: Fee | None = None
    materials: list[Material] = Field(default_factory=list)
    form: Form
    prefill: dict[FieldName, str] = Field(default_factory=dict)
    workflow: list[Stage] = Field(min_length=1)
    supplements_per_step: int = Field(1, ge=0, le=5)
    licence: Licence | None = None
    legal_basis: Paragraph = ""
    legal_basis_zh: Paragraph = ""

    @model_validator(mode="after")
    def _consistent(self) -> ServiceDefinition:
        problems = list(_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def co_approvers(self) -> list[str]:
        """Departments that approve besides the responsible one, in workflow order."""
        seen = dict.fromkeys(d for stage in self.workflow for d in stage.departments)
        seen.pop(self.department, None)
        return list(seen)

    def departments(self) -> set[str]:
        """Every department the service involves."""
        return {self.department, *(d for stage in self.workflow for d in stage.departments)}

    def fields(self) -> set[str]:
        """The form's top-level fields."""
        return set((self.form.json_schema.get("properties") or {}).keys())


def _problems(service: ServiceDefinition) -> Iterable[str]:
    schema = service.form.json_schema
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        yield f"form.schema is not a valid JSON Schema: {error.message}"
        return
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        yield "form.schema must be an object schema with properties"
        return
    fields = service.fields()
    for field, source in service.prefill.items():
        if field not in fields:
            yield f"prefill.{field}: the form has no field {field}"
        kind, _, name = source.partition(".")
        if kind == "profile" and name in PROFILE_SOURCES:
            continue
        if kind == "enterprise" and name in ENTERPRISE_SOURCES:
            continue
        if kind == "licence" and name.count(".") == 1:
            continue
        yield f"prefill.{field}: unknown source {source}"
    for index, stage in enumerate(service.workflow):
        if len(set(stage.departments)) != len(stage.departments):
            yield f"workflow[{index}]: a department is listed twice"
    codes = [m.code for m in service.materials]
    if len(set(codes)) != len(codes):
        yield "materials: a code is listed twice"
    if service.licence:
        for claim, source in service.licence.claims.items():
            kind, _, name = source.partition(".")
            if not (source in APPLICATION_CLAIMS or (kind == "form" and name in fields)):
                yield f"licence.claims.{claim}: unknown source {source}"
        for claim in service.licence.disclosable:
            if claim not in service.licence.claims:
                yield f"licence.disclosable: {claim} is not a claim"
    if Audience.ENTERPRISE in service.audience and service.realname_level < 2:
        yield "realname_level: an enterprise's applicant needs level 2 or more"


def definition_errors(raw: object) -> list[dict[str, str]]:
    """Every problem of a raw definition, as (field, message) pairs; empty when it is valid."""
    try:
        ServiceDefinition.model_validate(raw)
    except ValidationError as error:
        return [
            {"field": ".".join(str(p) for p in e["loc"]) or "definition", "message": e["msg"]}
            for e in error.errors(include_url=False)
        ]
    return []
