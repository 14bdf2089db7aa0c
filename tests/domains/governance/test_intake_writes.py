"""A report writes each row it touches once: a new case is inserted and not updated after, a
supporter updates the case once, and an urgent case updates it once for each automatic action
(register, dispatch), which do not read again the case intake just opened. Each further
statement would be one more round of SQL in the single writer's critical section."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.city import City, fresh_point
from tests.support.statements import statements_sent


@contextmanager
def _case_updates(city: City, kind: str = "UPDATE CASES") -> Iterator[list[str]]:
    """The statements of the block that start with ``kind`` (filled as the block ends)."""
    matching: list[str] = []
    with statements_sent(city) as sent:
        yield matching
    matching.extend(s for s in sent if " ".join(s.split()).upper().startswith(kind))


def test_a_new_case_is_written_once(city: City) -> None:
    lat, lon = fresh_point()
    with _case_updates(city) as updates:
        answer = city.report(category="C-02-01", lat=lat, lon=lon)
    assert not answer["joined_existing"]
    assert updates == []
    case = city.case(answer["case_id"])
    assert case["timeline"][0]["action"] == "submit"


def test_a_supporter_updates_the_case_once(city: City) -> None:
    lat, lon = fresh_point()
    first = city.report(category="C-02-01", lat=lat, lon=lon)
    with _case_updates(city) as updates:
        second = city.report(category="C-02-01", lat=lat, lon=lon)
    assert second["joined_existing"] and second["case_id"] == first["case_id"]
    assert len(updates) == 1, updates
    case = city.case(first["case_id"])
    assert case["supporters"] == 1  # one supporter beside the first reporter
    assert [row["action"] for row in case["timeline"]] == ["submit", "support"]


def test_an_urgent_case_is_updated_once_by_each_automatic_action(city: City) -> None:
    lat, lon = fresh_point()
    with _case_updates(city) as updates:
        answer = city.report(
            category="C-01-01", lat=lat, lon=lon, attributes={"cover_state": "missing"}
        )
    assert len(updates) == 2, updates
    case = city.case(answer["case_id"])
    assert case["status"] == "dispatched"
    assert case["response_due"] and case["resolution_due"]
    assert [row["action"] for row in case["timeline"]] == ["submit", "register", "dispatch"]


def test_the_automatic_actions_do_not_read_again_the_case_they_were_given(city: City) -> None:
    lat, lon = fresh_point()
    with _case_updates(city, "SELECT CASES.") as reads:
        answer = city.report(
            category="C-01-01", lat=lat, lon=lon, attributes={"cover_state": "missing"}
        )
    assert city.case(answer["case_id"])["status"] == "dispatched"
    assert len(reads) == 1, reads  # the search for an open case of the same problem nearby
