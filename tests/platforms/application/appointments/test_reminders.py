"""The day before an appointment its holder is reminded once, in English and Chinese, in the
inbox and by e-mail where the account has an address; a cancelled booking is not reminded."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from cityloop.platforms.application.appointments import reminders
from cityloop.platforms.application.notify.models import Notification
from tests.platforms.application.appointments.conftest import (
    ZONE,
    book,
    make_counter,
    slot,
    working_days_ahead,
)
from tests.support.city import City


def sign_up(city: City, username: str, email: str | None) -> dict[str, str]:
    body = {"username": username, "password": "secret-enough", "display_name": username}
    if email:
        body["email"] = email
    assert city.client.post("/api/v1/citizens", json=body).status_code == 201
    token = city.client.post(
        "/api/v1/auth/token", data={"username": username, "password": "secret-enough"}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def remind(city: City, now: datetime) -> int:
    with city.ctx.writing() as session:
        marked = reminders.mark_due_reminders(session, timezone="Asia/Shanghai", now=now)
    city.drain()
    return marked


def test_each_booking_is_reminded_once_the_day_before(city: City) -> None:
    counter = make_counter(city, "remind-test", capacity=3)
    day = working_days_ahead(city)[2]
    with_mail = sign_up(city, "mailed", "mailed@example.org")
    without = sign_up(city, "unmailed", None)
    cancelled_holder = sign_up(city, "changed-mind", "changed@example.org")
    book(city, with_mail, counter.id, slot(day, 10))
    book(city, without, counter.id, slot(day, 10))
    gone = book(city, cancelled_holder, counter.id, slot(day, 11)).json()
    city.client.post(
        f"/api/v1/appointments/{gone['id']}/actions",
        json={"action": "cancel"},
        headers=cancelled_holder,
    )
    two_days_before = datetime.combine(day - timedelta(days=2), time(10), tzinfo=ZONE)
    day_before = datetime.combine(day - timedelta(days=1), time(10), tzinfo=ZONE)
    assert remind(city, two_days_before) == 0  # too early
    assert remind(city, day_before) == 2
    assert remind(city, day_before + timedelta(hours=6)) == 0  # once per booking
    inbox = city.client.get("/api/v1/me/notifications", headers=with_mail).json()
    reminders_seen = [n for n in inbox if n["kind"] == "appointment.reminder"]
    assert len(reminders_seen) == 1
    text, chinese = reminders_seen[0]["message"], reminders_seen[0]["message_zh"]
    assert f"on {day.isoformat()} at 10:00" in text and "Hall A" in text
    assert "提醒" in chinese and "A 厅" in chinese and "窗口 remind-test" in chinese
    assert city.client.get("/api/v1/me/notifications", headers=without).json()[0]["kind"] == (
        "appointment.reminder"
    )
    assert not city.client.get("/api/v1/me/notifications", headers=cancelled_holder).json()
    with city.ctx.reading() as session:
        mails = session.scalars(
            select(Notification).where(
                Notification.channel == "email", Notification.kind == "appointment.reminder"
            )
        ).all()
    assert [(m.address, m.subject) for m in mails] == [
        ("mailed@example.org", f"Your appointment on {day} at 10:00 / 您 {day} 10:00 的预约")
    ]
