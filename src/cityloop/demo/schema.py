"""The shape of each YAML file in a city folder, as pydantic models.

These check one file at a time: types, required fields, allowed values, lengths (the database
columns' widths). What needs two files at once (a routing rule's department exists, every
category has its deadlines) is checked by :mod:`cityloop.demo.loader`.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from stdnum.cn import ric, uscc

from cityloop.domains.governance.workflow import Priority


def _text(limit: int) -> Any:
    return Field(min_length=1, max_length=limit)


Name = Annotated[str, _text(200)]
# A category code is also the Open311 service_code, which travels in URLs.
CategoryCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=20)]
DepartmentCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
JurisdictionCode = Annotated[str, _text(40)]
AttributeCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$", max_length=50)]
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd]?)\s*$")
_MINUTES = {"": 1, "m": 1, "h": 60, "d": 24 * 60}


def _minutes(value: Any) -> Any:
    """30m, 4h, 2d or a bare number of minutes, as minutes; anything else is left to fail."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return int(match.group(1)) * _MINUTES[match.group(2)]
    if isinstance(value, str):
        raise ValueError("write a duration as minutes, or with a unit: 30m, 4h or 2d")
    return value


Minutes = Annotated[int, BeforeValidator(_minutes), Field(gt=0)]


def _two_digits(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads an unquoted 01 as the number 1: say how to write it.
        raise ValueError(f'write the major class in quotes, e.g. "{value:02d}"')
    return value


class Strict(BaseModel):
    # A misspelt field name is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ---------------------------------------------------------------- city.yaml


class CityFile(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)]
    name: Name
    name_zh: Name
    domain: Name
    center: tuple[float, float]

    @model_validator(mode="after")
    def _degrees(self) -> CityFile:
        lon, lat = self.center
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("center must be [longitude, latitude] in degrees")
        return self


# ---------------------------------------------------------------- departments.yaml


class DepartmentEntry(Strict):
    code: DepartmentCode
    name: Name
    name_zh: Name
    kind: Literal["centre", "department"]


class DepartmentsFile(Strict):
    departments: Annotated[list[DepartmentEntry], Field(min_length=1)]


# ---------------------------------------------------------------- enterprises.yaml


def _checked(check: Any, what: str) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"write the {what} in quotes")
        if isinstance(value, str) and not check(value):
            raise ValueError(f"is not a valid {what} (length, characters or check character)")
        return value

    return BeforeValidator(validate)


UsccCode = Annotated[str, _checked(uscc.is_valid, "unified social credit code")]
IdNumber = Annotated[str, _checked(ric.is_valid, "resident identity number")]


class EnterpriseEntry(Strict):
    uscc: UsccCode
    name: Name
    name_en: Annotated[str, Field(max_length=200)] = ""
    legal_rep_name: Annotated[str, _text(100)]
    legal_rep_id_number: IdNumber
    address: Annotated[str, Field(max_length=300)] = ""
    registered_capital_yuan: Annotated[int, Field(ge=0)] = 0
    business_scope: str = ""
    registered_on: date
    status: Literal["active", "revoked", "cancelled"] = "active"


class EnterprisesFile(Strict):
    enterprises: list[EnterpriseEntry] = []


# ---------------------------------------------------------------- sharing.yaml


class StandingGrantEntry(Strict):
    departments: list[DepartmentCode] = Field(min_length=1)
    lookup: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)] | None = None
    dataset: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)] | None = None
    fields: list[Annotated[str, _text(63)]] = Field(min_length=1)
    purpose: Annotated[str, _text(500)]
    legal_basis: Annotated[str, _text(500)]
    valid_days: Annotated[int, Field(ge=1, le=1095)]

    @model_validator(mode="after")
    def _one_target(self) -> StandingGrantEntry:
        if (self.lookup is None) == (self.dataset is None):
            raise ValueError("name a lookup or a dataset, one of the two")
        return self


class SharingFile(Strict):
    grants: list[StandingGrantEntry] = []


# ---------------------------------------------------------------- categories.yaml


class ValueEntry(Strict):
    key: Annotated[str, _text(50)]
    name: Name
    name_zh: Name  # every answer a person picks is shown in both languages


class AttributeEntry(Strict):
    code: AttributeCode
    description: Annotated[str, _text(500)]
    description_zh: Annotated[str, _text(500)]
    datatype: Datatype
    required: bool
    order: Annotated[int, Field(ge=0)]
    values: list[ValueEntry] = []

    @model_validator(mode="after")
    def _values_fit_the_datatype(self) -> AttributeEntry:
        if self.datatype in LIST_DATATYPES and not self.values:
            raise ValueError(f"a {self.datatype} needs values to choose from")
        if self.datatype not in LIST_DATATYPES and self.values:
            raise ValueError(f"a {self.datatype} has no values (only the list datatypes do)")
        keys = [v.key for v in self.values]
        if repeated := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"value key {', '.join(repeated)} is used twice")
        return self


class CategoryEntry(Strict):
    code: CategoryCode
    name: Name
    name_zh: Name
    description: Annotated[str, _text(2000)]
    keywords: list[Annotated[str, _text(100)]]
    default_department: DepartmentCode
    priority: Priority
    auto_dispatch: bool
    moderated: bool
    dedupe_radius_m: Annotated[int, Field(gt=0)]
    dedupe_window_hours: Annotated[int, Field(gt=0)]
    update_interval_hours: Annotated[int, Field(gt=0)]
    icon: Annotated[str, _text(40)]
    attributes: list[AttributeEntry] = []

    @model_validator(mode="after")
    def _attributes_are_distinct(self) -> CategoryEntry:
        for field in ("code", "order"):
            seen = [getattr(a, field) for a in self.attributes]
            if repeated := sorted({str(v) for v in seen if seen.count(v) > 1}):
                raise ValueError(f"attribute {field} {', '.join(repeated)} is used twice")
        return self


class MajorClassEntry(Strict):
    major_class: Annotated[str, BeforeValidator(_two_digits), Field(pattern=r"^\d\d$")]
    name: Annotated[str, _text(100)]
    name_zh: Annotated[str, _text(100)]
    categories: list[CategoryEntry]


class CategoriesFile(Strict):
    component: list[MajorClassEntry] = []
    event: list[MajorClassEntry] = []


# ---------------------------------------------------------------- routing.yaml


class RoutingEntry(Strict):
    category: CategoryCode
    district: JurisdictionCode
    department: DepartmentCode


class RoutingFile(Strict):
    overrides: list[RoutingEntry]


# ---------------------------------------------------------------- sla.yaml


class Deadlines(Strict):
    response: Minutes
    resolution: Minutes

    @model_validator(mode="after")
    def _response_comes_first(self) -> Deadlines:
        if self.response > self.resolution:
            raise ValueError(
                f"response ({self.response} min) is longer than resolution ({self.resolution} min)"
            )
        return self


class SlaOverride(Deadlines):
    category: CategoryCode
    priority: Priority


ProfileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=40)]


class SlaFile(Strict):
    profiles: dict[ProfileName, dict[Priority, Deadlines]]
    categories: dict[CategoryCode, ProfileName]
    overrides: list[SlaOverride] = []


# ---------------------------------------------------------------- counters.yaml (optional)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class CounterEntry(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
    department: DepartmentCode
    name: Name
    name_zh: Name
    location: Annotated[str, Field(max_length=200)] = ""
    location_zh: Annotated[str, Field(max_length=200)] = ""
    hours: dict[Weekday, list[tuple[ClockTime, ClockTime]]]
    slot_minutes: Annotated[int, Field(ge=5, le=480)] = 30
    capacity: Annotated[int, Field(ge=1, le=200)] = 1

    @model_validator(mode="after")
    def _periods_open_before_they_close(self) -> CounterEntry:
        for weekday, periods in self.hours.items():
            ordered = sorted(periods)
            for opens, closes in ordered:
                if opens >= closes:
                    raise ValueError(f"hours > {weekday}: {opens}-{closes} closes before it opens")
            for (_, closes), (opens, _) in itertools.pairwise(ordered):
                if opens < closes:
                    raise ValueError(f"hours > {weekday}: periods overlap")
        return self


class CountersFile(Strict):
    counters: list[CounterEntry] = []
