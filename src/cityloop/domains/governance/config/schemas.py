"""Inputs of the configuration routes. Shapes, lengths and ranges are checked here (422 naming
the field); the rules between fields (a list attribute needs choices, response before resolution,
a department that exists) in the services (400 naming the field)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cityloop.domains.governance.workflow import Priority

CategoryCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=20)]
DepartmentCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
AttributeCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$", max_length=50)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=500)]
Keyword = Annotated[str, Field(min_length=1, max_length=100)]
Datatype = Annotated[
    str, Field(pattern=r"^(string|number|datetime|text|singlevaluelist|multivaluelist)$")
]
Minutes = Annotated[int, Field(ge=1, le=525_600)]  # at most a year
Hours = Annotated[int, Field(ge=1, le=8_760)]
Version = Annotated[int | None, Field(default=None, ge=1, le=2_147_483_647)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChoiceIn(_Input):
    """One answer of a list question, in both languages."""

    key: Annotated[str, Field(min_length=1, max_length=50)]
    name: Name
    name_zh: Name


class AttributeIn(_Input):
    """One extra question a report of the category asks (an Open311 attribute)."""

    code: AttributeCode
    datatype: Datatype
    required: bool = False
    order: Annotated[int, Field(ge=0, le=1000)]
    description: Label
    description_zh: Label
    values: Annotated[list[ChoiceIn], Field(max_length=100)] = []


class SlaIn(_Input):
    priority: Priority
    response_minutes: Minutes
    resolution_minutes: Minutes


class CategoryFields(_Input):
    kind: Annotated[str, Field(pattern=r"^(component|event)$")]
    major_class: Annotated[str, Field(pattern=r"^\d\d$")]
    major_name: Name
    major_name_zh: Name
    name: Name
    name_zh: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    keywords: Annotated[list[Keyword], Field(max_length=50)] = []
    icon: Annotated[str, Field(pattern=r"^[a-z0-9-]*$", max_length=40)] = ""
    default_department: DepartmentCode
    priority: Priority = Priority.NORMAL
    auto_dispatch: bool = False
    moderated: bool = False
    dedupe_radius_m: Annotated[int, Field(ge=1, le=5_000)] = 50
    dedupe_window_hours: Hours = 72
    update_interval_hours: Hours = 72
    attributes: Annotated[list[AttributeIn], Field(max_length=50)] = []
    sla: Annotated[list[SlaIn], Field(min_length=1, max_length=3)]


class CategoryCreate(CategoryFields):
    code: CategoryCode


class CategoryEdit(CategoryFields):
    version: Version = None


class RoutingRuleIn(_Input):
    category: CategoryCode
    district: Annotated[str | None, Field(min_length=1, max_length=40)] = None
    department: DepartmentCode


class RoutingRuleEdit(RoutingRuleIn):
    version: Version = None


class PointTestIn(_Input):
    category: CategoryCode
    lat: Latitude
    lon: Longitude
    priority: Priority | None = None
