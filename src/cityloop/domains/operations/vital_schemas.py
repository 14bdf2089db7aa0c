"""The vital signs' request body and answers (the contract with the console)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cityloop.base.contracts import Answer, Timestamp

# A device's latest value, or what an indicator compares it with.
Operand = bool | float | str | None


class VitalIn(BaseModel):
    """An indicator as an admin states it; ``version`` is the one the edit was made on (none
    for a new indicator). The service checks the codes and names the field in a 400."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    name_zh: str = Field(min_length=1, max_length=200)
    profile_code: str = Field(min_length=1, max_length=60)
    attribute: str = Field(min_length=1, max_length=200)
    aggregation: str = Field(max_length=20)
    operand: bool | float | str | None = Field(default=None, description="for share_/count_")
    unit: str = Field(default="", max_length=40)
    direction: str = Field(max_length=10, description="above: higher is worse; below: lower")
    warning: float = Field(allow_inf_nan=False)
    critical: float = Field(allow_inf_nan=False)
    position: int = Field(default=0, ge=0, le=10_000)
    version: int | None = Field(default=None, ge=1)


class VitalTrendPoint(Answer):
    hour: Timestamp
    value: float | None


class VitalReading(Answer):
    """One indicator now: its value, level and thresholds, its trend and its active alarms."""

    code: str
    name: str
    name_zh: str
    profile_code: str
    attribute: str
    aggregation: str
    operand: Operand
    unit: str
    direction: str = Field(description="above: higher is worse; below: lower is worse")
    warning: float
    critical: float
    version: int
    value: float | None = Field(description="None when no device reports")
    level: str = Field(description="normal | warning | critical | unknown")
    devices: int = Field(description="devices whose latest value the figure covers")
    trend: list[VitalTrendPoint] = Field(description="the last 24 UTC hours, oldest first")
    rule_ids: list[int] = Field(description="the alarm rules watching this measurement")
    alarm_ids: list[int] = Field(description="active alarms of those rules, newest first")
    alarm_count: int


class VitalSigns(Answer):
    district: str | None = Field(description="the district looked at; None for the city")
    at: Timestamp
    items: list[VitalReading]


class VitalDevice(Answer):
    device_id: str
    name: str
    name_zh: str
    district: str | None
    value: Any = Field(description="the latest value; None when the device has not reported")
    observed_at: Timestamp | None
    counted: bool | None = Field(description="meets a share/count indicator's test")
    alarm_ids: list[int]


class VitalDetail(Answer):
    district: str | None
    at: Timestamp
    sign: VitalReading
    devices: list[VitalDevice]
