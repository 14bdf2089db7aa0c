"""Bodies and answers of the appointment routes. Public answers (counters, slots) carry no
personal data; a staff day list names the people booked (and reading it is audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.base.contracts import Answer, Timestamp


class CounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=40)
    department: str = Field(max_length=40)
    name: str = Field(max_length=200)
    name_zh: str = Field(default="", max_length=200)
    location: str = Field(default="", max_length=200)
    location_zh: str = Field(default="", max_length=200)
    hours: dict[str, list[list[str]]] = Field(
        description='weekday (mon..sun) → [["09:00", "12:00"], ["13:30", "17:00"]]'
    )
    slot_minutes: int = 30
    capacity: int = 1


class CounterOut(Answer):
    id: int
    code: str
    department: str
    name: str
    name_zh: str
    location: str
    location_zh: str
    hours: dict[str, list[list[str]]]
    slot_minutes: int
    capacity: int


class AppointmentSlot(Answer):
    counter_id: int
    counter: str
    counter_zh: str
    start: Timestamp
    end: Timestamp
    free: int


class AppointmentBookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    counter_id: int
    start: datetime = Field(description="the slot's start, ISO 8601 with a time zone")
    reference: str = Field(max_length=80, description="what it is for, e.g. application:42")
    purpose: str = Field(max_length=40, description="a purpose code, e.g. identity-check")


class AppointmentActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["cancel", "attend", "no_show"]
    note: str = Field(default="", max_length=500)


class AppointmentOut(Answer):
    id: int
    counter_id: int
    counter: str
    counter_zh: str
    department: str
    start: Timestamp
    end: Timestamp
    reference: str
    purpose: str
    status: Literal["booked", "cancelled", "attended", "no_show"]


class AppointmentDayEntry(AppointmentOut):
    person: str = Field(description="the display name of the person booked")
    username: str


class AppointmentDayList(Answer):
    counter: CounterOut
    day: str
    appointments: list[AppointmentDayEntry]
