"""Bodies and answers of the calendar routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.base.contracts import Answer, Timestamp


class CalendarDayOut(Answer):
    day: str = Field(description="YYYY-MM-DD")
    kind: Literal["holiday", "workday"]
    name: str
    name_zh: str
    source: str


class HolidayTable(Answer):
    known_years: list[int] = Field(description="years the table has days of")
    days: list[CalendarDayOut]


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["holiday", "workday"]
    name: str = Field(default="", max_length=100)
    name_zh: str = Field(default="", max_length=100)


class CalendarImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1900, le=2200)


class CalendarImportOut(Answer):
    year: int
    written: int


class WorkingDayDeadline(Answer):
    start: Timestamp
    days: int
    timezone: str
    due: Timestamp = Field(description="the last instant of the last working day")
    last_day: str
    unknown_years: list[int] = Field(
        description="years the table does not know: counted Monday to Friday only"
    )
