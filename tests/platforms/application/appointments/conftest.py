"""What the appointment tests share: citizens of their own, a counter of the test's own with
known hours, and the working days ahead to book on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from cityloop.base.db import utcnow
from cityloop.platforms.application.appointments import counters
from cityloop.platforms.application.appointments.models import Counter
from cityloop.platforms.application.calendar import service as calendar
from tests.support.city import City

ZONE = ZoneInfo("Asia/Shanghai")
WEEKDAY_HOURS = {day: [["09:00", "12:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
_names = count(1)


def citizen(city: City, name: str | None = None) -> dict[str, str]:
    """A new citizen account's headers."""
    username = name or f"resident{next(_names)}"
    answer = city.client.post(
        "/api/v1/citizens",
        json={"username": username, "password": "secret-enough", "display_name": username.title()},
    )
    assert answer.status_code == 201, answer.text
    token = city.client.post(
        "/api/v1/auth/token", data={"username": username, "password": "secret-enough"}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def make_counter(city: City, code: str, **fields: Any) -> Counter:
    """A counter of the roads department with weekday mornings, unless told otherwise."""
    options: dict[str, Any] = {
        "department_code": "roads",
        "name": f"Counter {code}",
        "name_zh": f"窗口 {code}",
        "location": "Hall A",
        "location_zh": "A 厅",
        "hours": WEEKDAY_HOURS,
        "slot_minutes": 30,
        "capacity": 1,
        **fields,
    }
    with city.ctx.writing() as session:
        return counters.save_counter(session, code=code, **options)


def working_days_ahead(city: City, skip: int = 2) -> list[date]:
    """Working weekdays from ``skip`` days after today (city time), within the booking horizon."""
    today = utcnow().astimezone(ZONE).date()
    found = []
    with city.ctx.reading() as session:
        for offset in range(skip, 28):
            day = today + timedelta(days=offset)
            if day.weekday() < 5 and calendar.is_working_day(session, day=day):
                found.append(day)
    return found


def slot(day: date, hour: int = 9, minute: int = 0) -> str:
    """A slot's start as the API takes it."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).isoformat()


def book(city: City, headers: dict[str, str], counter_id: int, start: str, **body: Any) -> Any:
    return city.client.post(
        "/api/v1/appointments",
        json={
            "counter_id": counter_id,
            "start": start,
            "reference": "application:42",
            "purpose": "identity-check",
            **body,
        },
        headers=headers,
    )
