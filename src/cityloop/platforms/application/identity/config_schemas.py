"""Inputs and answers of the configuration routes identity serves: departments and the version
history every configuration object keeps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.base.contracts import Answer, Timestamp

DepartmentCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
DepartmentKind = Literal["department", "centre"]
# An edit names the version it was made on (or sends If-Match instead).
Version = Annotated[int | None, Field(default=None, ge=1, le=2_147_483_647)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DepartmentCreate(_Input):
    code: DepartmentCode
    name: Name
    name_zh: Name
    kind: DepartmentKind = "department"


class DepartmentEdit(_Input):
    name: Name
    name_zh: Name
    kind: DepartmentKind = "department"
    version: Version = None


class VersionIn(_Input):
    """The version an action (deactivate, delete) was decided on."""

    version: Version = None


class AdminDepartment(Answer):
    code: str
    name: str
    name_zh: str
    kind: str
    active: bool
    version: int


class ConfigVersionOut(Answer):
    kind: str
    key: str
    version: int
    action: str
    at: Timestamp
    actor: str
    actor_role: str
    changes: list[str] = Field(description="the fields this version changed")
    state: dict[str, Any] = Field(description="the whole object as this version left it")
