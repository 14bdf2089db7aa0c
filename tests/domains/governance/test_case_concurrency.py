"""Two staff members change one case at the same moment: a lost update becomes a 409, never a
silent overwrite.

Two dispatchers merge two different cases into the same target at once. Each request locks its
own case, but both read the target (to add the merged reporters to its supporters) before either
writes it. The case's version column turns the second write into a 409 "concurrent-update";
without it the target would keep only one of the two additions.

On PostgreSQL a barrier holds both requests just after they have read the target, so the race
happens every time. SQLite has a single writer, so the second request cannot read before the
first has committed: there the test checks that the two take turns and both count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, func, select

from cityloop.domains.governance.models import Case, Report
from tests.support.city import City, fresh_point


@contextmanager
def both_read_before_either_writes(case_id: int, parties: int = 2) -> Iterator[None]:
    """The first ``parties`` loads of the case from the database wait for each other."""
    barrier = threading.Barrier(parties)
    left = {"loads": parties}
    lock = threading.Lock()

    def on_load(target: Case, context: Any) -> None:
        if target.id != case_id:
            return
        with lock:
            if left["loads"] == 0:
                return
            left["loads"] -= 1
        barrier.wait(30)  # a hang guard: both requests arrive at once or the test fails

    event.listen(Case, "load", on_load)
    try:
        yield
    finally:
        event.remove(Case, "load", on_load)


def merge(city: City, case_id: int, into: int) -> httpx.Response:
    return city.client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "merge", "merge_into": into},
        headers=city.headers("dispatcher"),
    )


def supporters_and_reports(city: City, case_id: int) -> tuple[int, int]:
    with city.ctx.reading() as session:
        supporters = session.scalar(select(Case.supporters).where(Case.id == case_id))
        reports = session.scalar(select(func.count()).where(Report.case_id == case_id))
    return int(supporters or 0), int(reports or 0)


def test_two_merges_into_one_case_at_once_never_lose_a_supporter(city: City) -> None:
    target, first, second = (
        city.report(category="C-02-01", lat=lat, lon=lon)["case_id"]
        for lat, lon in (fresh_point(), fresh_point(), fresh_point())
    )
    city.headers("dispatcher")  # signed in before the race, so both requests only merge
    answers: dict[int, httpx.Response] = {}

    def run(case_id: int) -> None:
        answers[case_id] = merge(city, case_id, target)

    racing = city.backend == "postgresql"
    with both_read_before_either_writes(target) if racing else _nothing():
        threads = [threading.Thread(target=run, args=(case,)) for case in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    statuses = sorted(answer.status_code for answer in answers.values())

    if racing:
        assert statuses == [200, 409], [a.text for a in answers.values()]
        loser = next(case for case, answer in answers.items() if answer.status_code == 409)
        assert answers[loser].json()["type"].endswith("concurrent-update")
        # Nothing of the refused merge was written: its case is as it was, and the target
        # counts the winner's reporter only.
        assert city.case(loser)["status"] == "submitted"
        assert supporters_and_reports(city, target) == (1, 2)
        # Reloaded, the same request goes through.
        assert merge(city, loser, target).status_code == 200
    else:
        assert statuses == [200, 200]
    assert supporters_and_reports(city, target) == (2, 3)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
