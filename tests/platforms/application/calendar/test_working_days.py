"""Deadlines in working days: the day after acceptance is the first day counted, national
holidays do not count, adjusted working weekends (调休上班) do, a supplement request pauses the
clock, and a year the holiday table does not know falls back to Monday-Friday and says so."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from cityloop.base.outbox import OutboxEvent
from cityloop.base.problems import Problem
from cityloop.platforms.application.calendar import service
from cityloop.platforms.application.calendar.models import CalendarDay
from tests.support.city import City

CST = timezone(timedelta(hours=8))
ZONE = "Asia/Shanghai"


def at(text: str) -> datetime:
    """A moment in Beijing time: '2026-09-30 10:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.max.time(), tzinfo=CST)


def due(city: City, start: datetime, days: int) -> datetime:
    with city.ctx.reading() as session:
        return service.add_working_days(session, start=start, days=days, timezone=ZONE)


def test_a_deadline_across_national_day_skips_the_golden_week_and_counts_the_adjusted_saturday(
    city: City,
) -> None:
    # Accepted Wednesday 30 September 2026; 1-7 October are holidays, Saturday 10 October is
    # worked. Counted: 8, 9, 10 (Sat), 12, 13 October.
    assert due(city, at("2026-09-30 10:00"), 5) == end_of("2026-10-13")
    # Counting weekdays only would have said 7 October, inside the holiday.
    assert due(city, at("2026-09-30 10:00"), 5) != end_of("2026-10-07")


def test_an_adjusted_working_sunday_counts(city: City) -> None:
    # Sunday 20 September 2026 is worked (调休上班) for the National Day week.
    assert due(city, at("2026-09-18 16:00"), 1) == end_of("2026-09-20")
    with city.ctx.reading() as session:
        assert service.is_working_day(session, day=date(2026, 9, 20))
        assert not service.is_working_day(session, day=date(2026, 10, 1))
        assert not service.is_working_day(session, day=date(2026, 9, 19))  # a plain Saturday
        assert service.is_working_day(session, day=date(2026, 9, 17))  # a plain Thursday


def test_a_deadline_across_spring_festival_2026(city: City) -> None:
    # Accepted Friday 13 February; Saturday 14 is worked, 15-23 February are the holiday.
    assert due(city, at("2026-02-13 16:00"), 3) == end_of("2026-02-25")
    with city.ctx.reading() as session:
        between = service.working_days_between(
            session, start=at("2026-02-13 16:00"), end=at("2026-02-28 09:00"), timezone=ZONE
        )
    assert between == 6  # 14, 24, 25, 26, 27 and the worked Saturday 28 February


def test_the_acceptance_day_is_the_citys_day_not_utcs(city: City) -> None:
    # 17:00 UTC on Friday 13 February is 01:00 on Saturday 14 February in the city: the first
    # day counted is then the 15th, inside the holiday, so three days end on the 26th.
    start = datetime(2026, 2, 13, 17, 0, tzinfo=UTC)
    assert due(city, start, 3) == end_of("2026-02-26")


def test_zero_days_ends_on_the_day_of_acceptance(city: City) -> None:
    assert due(city, at("2026-10-03 11:00"), 0) == end_of("2026-10-03")


def test_a_pause_across_a_weekend_moves_the_deadline_by_the_working_days_paused(
    city: City,
) -> None:
    start = at("2026-03-02 09:00")  # Monday; unpaused, five days end Monday 9 March
    assert due(city, start, 5) == end_of("2026-03-09")
    # A supplement request on Thursday 5 March, answered on Tuesday 10 March: Friday, Monday
    # and Tuesday are paused (the weekend would not have counted anyway).
    pause = (at("2026-03-05 10:00"), at("2026-03-10 15:00"))
    with city.ctx.reading() as session:
        found = service.deadline(session, start=start, days=5, timezone=ZONE, pauses=[pause])
        moved = service.deadline_with_pauses(
            session, start=start, days=5, pauses=[pause], timezone=ZONE
        )
        still_open = service.deadline_with_pauses(
            session, start=start, days=5, pauses=[(pause[0], None)], timezone=ZONE
        )
    assert found.paused_days == 3
    assert moved == found.due == end_of("2026-03-12")
    assert still_open is None  # while the applicant has not answered, there is no deadline


def test_a_year_the_table_does_not_know_counts_weekdays_and_warns(
    city: City, caplog: pytest.LogCaptureFixture
) -> None:
    service._warned_years.discard(2031)
    with caplog.at_level(logging.WARNING), city.ctx.reading() as session:
        found = service.deadline(session, start=at("2031-09-30 10:00"), days=5, timezone=ZONE)
    # 1 October 2031 is surely a holiday, but nobody has published 2031 yet.
    assert found.due == end_of("2031-10-07")
    assert found.unknown_years == [2031]
    assert any("no days of 2031" in r.getMessage() for r in caplog.records)
    answer = city.client.get(
        "/api/v1/calendar/deadline", params={"start": "2031-09-30T10:00:00+08:00", "days": 5}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["unknown_years"] == [2031]
    assert answer.json()["last_day"] == "2031-10-07"


def test_the_deadline_route_answers_the_same_as_the_service(city: City) -> None:
    answer = city.client.get(
        "/api/v1/calendar/deadline", params={"start": "2026-09-30T10:00:00+08:00", "days": 5}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["last_day"] == "2026-10-13"
    assert body["due"].startswith("2026-10-13T23:59:59")
    assert body["unknown_years"] == []
    assert body["timezone"] == ZONE


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-09-30T10:00:00", "days": 5}, "start"),  # no time zone
        ({"start": "2026-09-30T10:00:00+08:00", "days": -1}, "days"),
        ({"start": "2026-09-30T10:00:00+08:00", "days": 1001}, "days"),
        ({"start": "yesterday", "days": 1}, "start"),
        ({"start": "2026-09-30T10:00:00+08:00", "days": "five"}, "days"),
    ],
)
def test_bad_deadline_questions_are_refused_naming_the_field(
    city: City, params: dict[str, object], field: str
) -> None:
    answer = city.client.get("/api/v1/calendar/deadline", params=params)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == field


def test_bad_service_input_is_a_problem_naming_it(city: City) -> None:
    with city.ctx.reading() as session:
        with pytest.raises(Problem) as unknown_zone:
            service.add_working_days(
                session, start=at("2026-01-05 09:00"), days=1, timezone="Mars/Olympus"
            )
        with pytest.raises(Problem) as backwards:
            service.deadline(
                session,
                start=at("2026-01-05 09:00"),
                days=1,
                timezone=ZONE,
                pauses=[(at("2026-01-07 09:00"), at("2026-01-06 09:00"))],
            )
        with pytest.raises(Problem) as reversed_range:
            service.working_days_between(
                session, start=at("2026-01-07 09:00"), end=at("2026-01-06 09:00"), timezone=ZONE
            )
    assert (unknown_zone.value.status, unknown_zone.value.field) == (400, "timezone")
    assert (backwards.value.status, backwards.value.field) == (400, "pauses")
    assert (reversed_range.value.status, reversed_range.value.field) == (400, "end")


def test_a_day_the_city_sets_moves_deadlines_at_once_and_is_announced(city: City) -> None:
    admin = city.headers("admin")
    before = due(city, at("2027-09-30 10:00"), 1)
    assert before == end_of("2027-10-01")  # a Friday, while 2027 is unpublished
    answer = city.client.put(
        "/api/v1/calendar/days/2027-10-01",
        json={"kind": "holiday", "name": "National Day", "name_zh": "国庆节"},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["source"] == "city"
    assert due(city, at("2027-09-30 10:00"), 1) == end_of("2027-10-04")
    with city.ctx.reading() as session:
        announced = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "calendar.changed")
        ).all()
    assert any(e.payload["years"] == [2027] for e in announced)
    listed = city.client.get("/api/v1/calendar/days", params={"year": 2027}).json()
    assert 2027 in listed["known_years"]
    assert listed["days"] == [
        {
            "day": "2027-10-01",
            "kind": "holiday",
            "name": "National Day",
            "name_zh": "国庆节",
            "source": "city",
        }
    ]
    trail = city.client.get(
        "/api/v1/audit", params={"target": "calendar:2027-10-01"}, headers=admin
    ).json()
    assert trail[0]["action"] == "calendar.set"
    assert city.client.delete("/api/v1/calendar/days/2027-10-01", headers=admin).status_code == 204
    assert due(city, at("2027-09-30 10:00"), 1) == end_of("2027-10-01")


def test_another_process_change_is_seen_after_the_recheck(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert due(city, at("2028-03-02 10:00"), 1) == end_of("2028-03-03")
    # Written straight to the table, as another process would: this process's cache does not
    # hear of it, but rechecks the table's fingerprint after RECHECK_SECONDS.
    with city.ctx.writing() as session:
        session.add(CalendarDay(day=date(2028, 3, 3), kind="holiday", name="x", source="city"))
    monkeypatch.setattr(service, "RECHECK_SECONDS", 0.0)
    assert due(city, at("2028-03-02 10:00"), 1) == end_of("2028-03-06")
    with city.ctx.writing() as session:
        service.clear_day(session, day=date(2028, 3, 3))


def test_importing_a_year_keeps_the_days_the_city_set(city: City) -> None:
    admin = city.headers("admin")
    city.client.put(
        "/api/v1/calendar/days/2026-10-09",
        json={"kind": "holiday", "name": "City day"},
        headers=admin,
    )
    answer = city.client.post("/api/v1/calendar/import", json={"year": 2026}, headers=admin)
    assert answer.status_code == 200, answer.text
    with city.ctx.reading() as session:
        expected = len(service.package_days(2026))
        kept = session.get(CalendarDay, date(2026, 10, 9))
        national = session.get(CalendarDay, date(2026, 10, 1))
    assert answer.json() == {"year": 2026, "written": expected}  # 9 October is not a package day
    assert kept is not None and (kept.source, kept.name) == ("city", "City day")
    assert national is not None and (national.kind, national.name_zh) == ("holiday", "国庆节")
    assert city.client.delete("/api/v1/calendar/days/2026-10-09", headers=admin).status_code == 204


def test_bad_table_changes_are_refused(city: City) -> None:
    admin = city.headers("admin")
    cases = [
        city.client.put(
            "/api/v1/calendar/days/2027-13-01", json={"kind": "holiday"}, headers=admin
        ),
        city.client.put("/api/v1/calendar/days/2027-10-01", json={"kind": "party"}, headers=admin),
        city.client.put(
            "/api/v1/calendar/days/2027-10-01",
            json={"kind": "holiday", "name": "x" * 101},
            headers=admin,
        ),
        city.client.post("/api/v1/calendar/import", json={"year": 2099}, headers=admin),
        city.client.delete("/api/v1/calendar/days/2027-06-01", headers=admin),
        city.client.put(
            "/api/v1/calendar/days/2027-10-01",
            json={"kind": "holiday"},
            headers=city.headers("citizen"),
        ),
        city.client.put("/api/v1/calendar/days/2027-10-01", json={"kind": "holiday"}),
    ]
    assert [c.status_code for c in cases] == [422, 422, 422, 400, 404, 403, 401]
    assert cases[3].json()["type"].endswith("year-unknown-to-package")
    assert "not 2099" in cases[3].json()["detail"]
