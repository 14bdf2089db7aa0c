"""What the public may read of a report: rejected reports never; a moderated category's reports
only once a person at the city has accepted (registered) or published them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from cityloop.domains.governance.models import Category
from tests.support.city import City, fresh_point

BINS = "C-02-01"  # potholes: registered by a person in the demo
MANHOLE = "C-01-01"  # auto-dispatched: the system registers it at once


def _set_moderated(city: City, code: str, moderated: bool) -> None:
    with city.ctx.writing() as session:
        session.execute(update(Category).where(Category.code == code).values(moderated=moderated))


@pytest.fixture
def moderated(city: City) -> Iterator[None]:
    for code in (BINS, MANHOLE):
        _set_moderated(city, code, True)
    yield
    for code in (BINS, MANHOLE):
        _set_moderated(city, code, False)


def _report(city: City, category: str, description: str, **extra: Any) -> int:
    lat, lon = fresh_point()
    photo = city.upload()
    body = city.report(
        category=category, lat=lat, lon=lon, description=description, media=[photo], **extra
    )
    return int(body["case_id"])


def _public(city: City, case_id: int) -> dict[str, Any]:
    response = city.client.get(f"/api/v1/public/cases/{case_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _open311(city: City, case_id: int) -> dict[str, Any]:
    response = city.client.get(f"/open311/v2/requests/{case_id}.json")
    assert response.status_code == 200, response.text
    return dict(response.json()[0])


def _nearby_photo(city: City, case_id: int) -> str | None:
    case = _public(city, case_id)
    response = city.client.get(
        "/api/v1/public/nearby",
        params={"category": case["category"]["code"], "lat": case["lat"], "lon": case["lon"]},
    )
    assert response.status_code == 200, response.text
    [found] = [row for row in response.json() if row["id"] == case_id]
    return found["photo"]  # type: ignore[no-any-return]


def test_a_rejected_report_is_not_public_anywhere(city: City) -> None:
    case_id = _report(city, BINS, "a hole outside number 12, where Mr Li lives")
    assert _public(city, case_id)["description"]  # public until the city refuses it
    city.act(case_id, "dispatcher", action="reject", note="Private property")
    public = _public(city, case_id)
    assert public["description"] is None
    assert public["photos"]["before"] == []
    assert public["status"] == "rejected"
    assert any("Private property" in (e["message"] or "") for e in public["timeline"])
    record = _open311(city, case_id)
    assert record["description"] is None and record["media_url"] is None
    assert city.case(case_id)["description"]  # staff still read it


def test_a_moderated_report_is_held_until_the_supervision_centre_registers_it(
    city: City, moderated: None
) -> None:
    case_id = _report(city, BINS, "deep hole behind the school")
    public = _public(city, case_id)
    assert public["description"] is None and public["photos"]["before"] == []
    assert _open311(city, case_id)["description"] is None
    assert _nearby_photo(city, case_id) is None
    city.act(case_id, "dispatcher", action="register")
    public = _public(city, case_id)
    assert public["description"] == "deep hole behind the school"
    assert len(public["photos"]["before"]) == 1
    assert _nearby_photo(city, case_id) is not None


def test_the_automatic_registration_of_an_urgent_category_accepts_nothing(
    city: City, moderated: None
) -> None:
    case_id = _report(city, MANHOLE, "cover gone", attributes={"cover_state": "missing"})
    assert _public(city, case_id)["status"] == "dispatched"
    assert _public(city, case_id)["description"] is None
    assert "publish" in city.case(case_id, "dispatcher")["allowed_actions"]
    city.act(case_id, "dispatcher", action="publish")
    assert _public(city, case_id)["description"] == "cover gone"
    assert "publish" not in city.case(case_id, "dispatcher")["allowed_actions"]


def test_publishing_twice_is_a_409_and_a_handler_may_not_publish(
    city: City, moderated: None
) -> None:
    case_id = _report(city, MANHOLE, "cover cracked", attributes={"cover_state": "broken"})
    city.act(case_id, "handler-facilities", action="publish", expect=403)
    city.act(case_id, "supervisor", action="publish")
    city.act(case_id, "supervisor", action="publish", expect=409)


def test_an_unmoderated_report_is_public_at_once_and_offers_no_publish(city: City) -> None:
    case_id = _report(city, BINS, "a hole on the quay")
    assert _public(city, case_id)["description"] == "a hole on the quay"
    assert "publish" not in city.case(case_id, "dispatcher")["allowed_actions"]
