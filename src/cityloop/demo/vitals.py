"""The demo city's vital signs from ``riverton/vitals.yaml``: checked as a whole (every problem
named with its entry), then created through operations' service, once. They name the fleet's
profiles, so they come with the fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from cityloop.base.problems import Problem
from cityloop.demo.errors import CityDataError
from cityloop.domains.operations import vitals
from cityloop.domains.operations.vital_models import VitalSign
from cityloop.platforms.application.identity.service import SYSTEM

FILE = "vitals.yaml"
RIVERTON_VITALS = Path(__file__).with_name("riverton") / FILE


class VitalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str = Field(min_length=1)
    name_zh: str = Field(min_length=1)
    profile: str
    attribute: str
    aggregation: str
    operand: bool | float | str | None = None
    unit: str = ""
    direction: str
    warning: float
    critical: float


class VitalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vitals: list[VitalEntry]


def read_vitals(path: Path = RIVERTON_VITALS) -> list[tuple[str, vitals.VitalInput]]:
    """The indicators of a city's ``vitals.yaml``, in file order, as (code, input)."""
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        parsed = VitalsFile.model_validate(raw)
    except ValidationError as error:
        problems = [
            f"{FILE}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
        raise CityDataError(path.parent, problems) from None
    found = []
    for position, entry in enumerate(parsed.vitals):
        data = entry.model_dump(exclude={"code", "profile"})
        found.append(
            (entry.code, vitals.VitalInput(profile_code=entry.profile, position=position, **data))
        )
    return found


def seed_vitals(session: Session, path: Path = RIVERTON_VITALS) -> int:
    """Create the file's indicators that do not exist yet (an admin's edits stay); how many."""
    created = 0
    problems = []
    for code, data in read_vitals(path):
        if session.get(VitalSign, code) is not None:
            continue
        try:
            vitals.save_vital(session, code=code, data=data, actor=SYSTEM, version=None)
        except Problem as problem:
            problems.append(f"{FILE}: {code}: {problem.detail}")
            continue
        created += 1
    if problems:
        raise CityDataError(path.parent, problems)
    return created
