"""Counter appointments through HTTP as people use them: a citizen finds a free slot (public,
no personal data), books it, sees it, cancels it in time; staff read their counter's day and
mark people attended or missing. Every kind of bad input gets its own 4xx."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from cityloop.base.db import utcnow
from cityloop.base.outbox import OutboxEvent
from cityloop.base.problems import Problem
from cityloop.platforms.application.appointments import bookings
from cityloop.platforms.application.appointments.models import Appointment
from cityloop.platforms.application.calendar import service as calendar
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import actor_for
from tests.platforms.application.appointments.conftest import (
    ZONE,
    book,
    citizen,
    make_counter,
    slot,
    working_days_ahead,
)
from tests.support.city import City


def slots(city: City, department: str, first: date, last: date) -> list[dict[str, object]]:
    answer = city.client.get(
        "/api/v1/appointments/slots",
        params={"department": department, "start": first.isoformat(), "end": last.isoformat()},
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_the_demo_city_has_counters_for_its_in_person_departments(city: City) -> None:
    listed = city.client.get("/api/v1/appointments/counters").json()
    assert {c["department"] for c in listed} >= {"urbanmgmt", "roads", "parks", "environment"}
    permits = next(c for c in listed if c["code"] == "urbanmgmt-permits")
    assert permits["name_zh"] == "城市管理审批窗口"
    assert permits["hours"]["mon"] == [["09:00", "12:00"], ["13:30", "17:00"]]


def test_free_slots_are_public_on_working_days_only_and_name_nobody(city: City) -> None:
    days = working_days_ahead(city)
    first, last = days[0], days[0] + timedelta(days=13)  # two weeks: weekends included
    listed = slots(city, "urbanmgmt", first, last)
    assert listed
    assert set(listed[0]) == {"counter_id", "counter", "counter_zh", "start", "end", "free"}
    with city.ctx.reading() as session:
        for entry in listed:
            local = datetime.fromisoformat(str(entry["start"])).astimezone(ZONE)
            assert calendar.is_working_day(session, day=local.date())
            assert local.weekday() < 5  # the demo counters keep weekday hours only
            assert (local.hour, local.minute) >= (9, 0) and local.hour < 17


def test_a_day_the_city_makes_a_holiday_loses_its_slots(city: City) -> None:
    counter = make_counter(city, "holiday-test")
    day = working_days_ahead(city)[1]
    assert any(s["counter_id"] == counter.id for s in slots(city, "roads", day, day)), (
        "the counter is open on an ordinary working day"
    )
    with city.ctx.writing() as session:
        calendar.set_day(session, day=day, kind="holiday", name="Flood day")
    try:
        assert not [s for s in slots(city, "roads", day, day) if s["counter_id"] == counter.id]
        refused = book(city, citizen(city), counter.id, slot(day))
        assert refused.status_code == 400
        assert refused.json()["type"].endswith("counter-closed")
        assert "not a working day" in refused.json()["detail"]
    finally:
        with city.ctx.writing() as session:
            calendar.clear_day(session, day=day)


def test_an_adjusted_working_saturday_opens_with_monday_hours(city: City) -> None:
    counter = make_counter(city, "saturday-test")
    today = utcnow().astimezone(ZONE).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)
    assert not [
        s for s in slots(city, "roads", saturday, saturday) if s["counter_id"] == counter.id
    ]
    with city.ctx.writing() as session:
        calendar.set_day(session, day=saturday, kind="workday", name="调休上班")
    try:
        opened = [
            s for s in slots(city, "roads", saturday, saturday) if s["counter_id"] == counter.id
        ]
        assert len(opened) == 6  # 09:00-12:00 in 30-minute slots, as on Mondays
    finally:
        with city.ctx.writing() as session:
            calendar.clear_day(session, day=saturday)


def test_a_citizen_books_sees_and_cancels_a_slot_and_its_place_comes_back(city: City) -> None:
    counter = make_counter(city, "book-test", capacity=2)
    day = working_days_ahead(city)[2]
    me = citizen(city)
    start = slot(day, 10, 30)
    before = {
        s["start"]: s["free"]
        for s in slots(city, "roads", day, day)
        if s["counter_id"] == counter.id
    }
    booked = book(city, me, counter.id, start)
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert body["status"] == "booked" and body["reference"] == "application:42"
    assert datetime.fromisoformat(body["start"]) == datetime.fromisoformat(start)
    assert datetime.fromisoformat(body["end"]) - datetime.fromisoformat(body["start"]) == timedelta(
        minutes=30
    )
    key = datetime.fromisoformat(start)
    after = {
        datetime.fromisoformat(str(s["start"])): s["free"]
        for s in slots(city, "roads", day, day)
        if s["counter_id"] == counter.id
    }
    assert (
        after[key] == 1 and {datetime.fromisoformat(str(k)): v for k, v in before.items()}[key] == 2
    )
    mine = city.client.get("/api/v1/me/appointments", headers=me).json()
    assert [m["id"] for m in mine] == [body["id"]]
    with city.ctx.reading() as session:
        kinds = session.scalars(
            select(OutboxEvent.type).where(OutboxEvent.aggregate_id == str(body["id"]))
        ).all()
    assert "appointment.booked" in kinds
    cancelled = city.client.post(
        f"/api/v1/appointments/{body['id']}/actions", json={"action": "cancel"}, headers=me
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = {
        datetime.fromisoformat(str(s["start"])): s["free"]
        for s in slots(city, "roads", day, day)
        if s["counter_id"] == counter.id
    }
    assert again[key] == 2
    # A cancelled slot may be booked again by the same person.
    assert book(city, me, counter.id, start).status_code == 201


def test_a_full_slot_and_a_double_booking_are_refused(city: City) -> None:
    counter = make_counter(city, "full-test", capacity=1)
    other = make_counter(city, "full-test-2", capacity=3)
    day = working_days_ahead(city)[3]
    first, second = citizen(city), citizen(city)
    assert book(city, first, counter.id, slot(day, 9)).status_code == 201
    full = book(city, second, counter.id, slot(day, 9))
    assert full.status_code == 409 and full.json()["type"].endswith("slot-full")
    # One person cannot hold two places at the same time, at this counter or another.
    twice = book(city, first, other.id, slot(day, 9))
    assert twice.status_code == 409 and twice.json()["type"].endswith("already-booked")
    free = {
        datetime.fromisoformat(str(s["start"]))
        for s in slots(city, "roads", day, day)
        if s["counter_id"] == counter.id
    }
    assert datetime.fromisoformat(slot(day, 9)) not in free
    assert datetime.fromisoformat(slot(day, 9, 30)) in free


def test_bad_bookings_are_refused_each_with_its_reason(city: City) -> None:
    counter = make_counter(city, "bad-test")
    day = working_days_ahead(city)[0]
    today = utcnow().astimezone(ZONE).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)
    me = citizen(city)
    cases = {
        "slot-in-past": book(city, me, counter.id, slot(today - timedelta(days=7))),
        "too-far-ahead": book(city, me, counter.id, slot(today + timedelta(days=60))),
        "counter-closed": book(city, me, counter.id, slot(saturday)),
        "not-a-slot": book(city, me, counter.id, slot(day, 9, 10)),
        "after-hours": book(city, me, counter.id, slot(day, 15)),
        "unknown-counter": book(city, me, 999_999, slot(day)),
        "bad-reference": book(city, me, counter.id, slot(day), reference="42"),
        "bad-purpose": book(city, me, counter.id, slot(day), purpose="Look Around!"),
        "no-zone": book(city, me, counter.id, slot(day).removesuffix("+08:00")),
        "not-a-time": book(city, me, counter.id, "tomorrow morning"),
    }
    found = {
        name: (a.status_code, a.json().get("type", "").rsplit("/", 1)[-1], a.json().get("field"))
        for name, a in cases.items()
    }
    assert found == {
        "slot-in-past": (400, "slot-in-past", "start"),
        "too-far-ahead": (400, "too-far-ahead", "start"),
        "counter-closed": (400, "counter-closed", "start"),
        "not-a-slot": (400, "not-a-slot", "start"),
        "after-hours": (400, "not-a-slot", "start"),
        "unknown-counter": (400, "invalid-input", "counter_id"),
        "bad-reference": (400, "invalid-input", "reference"),
        "bad-purpose": (400, "invalid-input", "purpose"),
        "no-zone": (400, "invalid-input", "start"),
        "not-a-time": (422, "invalid-input", "start"),
    }
    staff = book(city, city.headers("handler-roads"), counter.id, slot(day))
    anonymous = book(city, {}, counter.id, slot(day))
    assert (staff.status_code, anonymous.status_code) == (403, 401)
    with city.ctx.reading() as session:
        assert (
            session.scalar(select(Appointment.id).where(Appointment.counter_id == counter.id))
            is None
        )


def test_bad_slot_listings_are_refused(city: City) -> None:
    today = utcnow().astimezone(ZONE).date()

    def listing(**params: str) -> tuple[int, str | None]:
        answer = city.client.get("/api/v1/appointments/slots", params=params)
        return answer.status_code, answer.json().get("field") if answer.status_code != 200 else None

    d = today.isoformat()
    assert listing(department="nowhere", start=d, end=d) == (400, "department")
    assert listing(department="roads", start=d, end=(today - timedelta(days=1)).isoformat()) == (
        400,
        "end",
    )
    assert listing(department="roads", start=d, end=(today + timedelta(days=40)).isoformat()) == (
        400,
        "end",
    )
    assert listing(department="roads", start="soon", end=d) == (422, "start")
    assert listing(start=d, end=d) == (422, "department")


def test_cancelling_someone_elses_booking_or_too_late_is_refused(city: City) -> None:
    counter = make_counter(city, "cancel-test", capacity=3)
    day = working_days_ahead(city)[4]
    owner, stranger = citizen(city), citizen(city)
    booked = book(city, owner, counter.id, slot(day, 11)).json()
    url = f"/api/v1/appointments/{booked['id']}/actions"
    theirs = city.client.post(url, json={"action": "cancel"}, headers=stranger)
    assert theirs.status_code == 404  # another person's booking is invisible
    other_department = city.client.post(
        url, json={"action": "cancel"}, headers=city.headers("handler-water")
    )
    assert other_department.status_code == 404
    no_show_early = city.client.post(
        url, json={"action": "no_show"}, headers=city.headers("handler-roads")
    )
    assert no_show_early.status_code == 409 and no_show_early.json()["type"].endswith("too-early")
    citizen_marks = city.client.post(url, json={"action": "attend"}, headers=owner)
    assert citizen_marks.status_code == 403
    unknown = city.client.post(url, json={"action": "reschedule"}, headers=owner)
    assert unknown.status_code == 422
    # Too late: two hours before the slot the holder can no longer cancel; staff still can.
    with city.ctx.writing() as session:
        row = session.get(Appointment, booked["id"])
        assert row is not None
        holder = identity.find_user(
            session, username=city.client.get("/api/v1/me", headers=owner).json()["username"]
        )
        assert holder is not None
        late = row.slot_start - timedelta(hours=1)
    with city.ctx.writing() as session, pytest.raises(Problem) as refused:
        bookings.act(
            session,
            appointment_id=booked["id"],
            action="cancel",
            actor=actor_for(holder),
            cancel_hours=2,
            now=late,
        )
    assert (refused.value.status, refused.value.type_) == (409, "too-late-to-cancel")
    by_staff = city.client.post(
        url,
        json={"action": "cancel", "note": "counter closed for repairs"},
        headers=city.headers("handler-roads"),
    )
    assert by_staff.status_code == 200
    again = city.client.post(url, json={"action": "cancel"}, headers=owner)
    assert again.status_code == 409 and again.json()["type"].endswith("illegal-transition")
    assert again.json()["allowed"] == []
    trail = city.client.get(
        "/api/v1/audit",
        params={"target": f"appointment:{booked['id']}"},
        headers=city.headers("admin"),
    ).json()
    assert [t["action"] for t in trail] == ["appointment.cancel"]
    assert trail[0]["actor"] == "handler-roads"


def test_staff_read_their_counters_day_and_mark_people_attended_or_missing(city: City) -> None:
    counter = make_counter(city, "day-test", capacity=2)
    day = working_days_ahead(city)[5]
    ann, bob = citizen(city, "ann"), citizen(city, "bob")
    first = book(city, ann, counter.id, slot(day, 9)).json()
    second = book(city, bob, counter.id, slot(day, 9, 30)).json()
    handler = city.headers("handler-roads")
    listed = city.client.get(
        "/api/v1/appointments/day",
        params={"counter": counter.id, "day": day.isoformat()},
        headers=handler,
    )
    assert listed.status_code == 200, listed.text
    people = [(a["id"], a["person"], a["status"]) for a in listed.json()["appointments"]]
    assert people == [(first["id"], "Ann", "booked"), (second["id"], "Bob", "booked")]
    trail = city.client.get(
        "/api/v1/audit", params={"target": f"counter:{counter.id}"}, headers=city.headers("admin")
    ).json()
    assert trail[0]["action"] == "appointment.day_list" and trail[0]["actor"] == "handler-roads"
    # Another department's staff do not see this counter; citizens read no day lists.
    elsewhere = city.client.get(
        "/api/v1/appointments/day",
        params={"counter": counter.id, "day": day.isoformat()},
        headers=city.headers("handler-water"),
    )
    assert elsewhere.status_code == 404
    as_citizen = city.client.get(
        "/api/v1/appointments/day",
        params={"counter": counter.id, "day": day.isoformat()},
        headers=ann,
    )
    assert as_citizen.status_code == 403
    attended = city.client.post(
        f"/api/v1/appointments/{first['id']}/actions", json={"action": "attend"}, headers=handler
    )
    assert attended.status_code == 200 and attended.json()["status"] == "attended"
    # A no-show needs the slot to have begun: marked as of the slot's end, it counts.
    with city.ctx.writing() as session:
        worker = identity.find_user(session, username="worker-roads")
        assert worker is not None
        row = session.get(Appointment, second["id"])
        assert row is not None
        missed = bookings.act(
            session,
            appointment_id=second["id"],
            action="no_show",
            actor=actor_for(worker),
            cancel_hours=2,
            now=row.slot_end,
        )
        assert missed.status == "no_show"
    with city.ctx.reading() as session:
        kinds = set(
            session.scalars(
                select(OutboxEvent.type).where(OutboxEvent.aggregate_type == "appointment")
            )
        )
    assert {"appointment.attended", "appointment.no_show"} <= kinds
