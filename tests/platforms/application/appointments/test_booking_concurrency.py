"""Many citizens book the last places of one slot at the same moment: the slot's capacity is
never exceeded. On PostgreSQL the bookings run in parallel and the counter's row lock keeps the
count and the insert together; SQLite's single writer makes them take turns."""

from __future__ import annotations

import threading

import httpx

from tests.platforms.application.appointments.conftest import (
    book,
    citizen,
    make_counter,
    slot,
    working_days_ahead,
)
from tests.support.city import City

PEOPLE = 8
CAPACITY = 3


def test_simultaneous_bookings_never_exceed_the_capacity_of_a_slot(city: City) -> None:
    counter = make_counter(city, "race-test", capacity=CAPACITY)
    day = working_days_ahead(city)[1]
    people = [citizen(city) for _ in range(PEOPLE)]  # signed in before the race
    start = slot(day, 10)
    gate = threading.Barrier(PEOPLE)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def run(headers: dict[str, str]) -> None:
        gate.wait(30)  # a hang guard: every request leaves at once
        answer = book(city, headers, counter.id, start)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * CAPACITY + [409] * (PEOPLE - CAPACITY), [a.text for a in answers]
    assert all(a.json()["type"].endswith("slot-full") for a in answers if a.status_code == 409)
    listed = city.client.get(
        "/api/v1/appointments/day",
        params={"counter": counter.id, "day": day.isoformat()},
        headers=city.headers("handler-roads"),
    ).json()
    assert len(listed["appointments"]) == CAPACITY
