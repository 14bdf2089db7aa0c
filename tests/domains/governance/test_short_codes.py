"""The hotline's short code: six characters without look-alikes, unique, and with the case
number a way to track a report that says nothing about which half was wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cityloop.domains.governance import citizen
from cityloop.domains.governance.models import Report
from tests.support.city import City, fresh_point, make_city

CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")


def hotline_call(city: City) -> dict[str, object]:
    lat, lon = fresh_point()
    return city.report(username="hotline", category="C-02-01", lat=lat, lon=lon)


def test_every_report_gets_a_six_character_code_without_look_alikes(city: City) -> None:
    answer = hotline_call(city)
    code = str(answer["short_code"])
    assert CODE.match(code), code
    assert not set(code) & set("01OIL")


def test_the_alphabet_has_no_look_alikes() -> None:
    assert not set(citizen.SHORT_CODE_ALPHABET) & set("01OIL")
    assert len(set(citizen.SHORT_CODE_ALPHABET)) == len(citizen.SHORT_CODE_ALPHABET) == 31


def test_codes_are_unique_among_all_reports(city: City) -> None:
    for _ in range(5):
        hotline_call(city)
    with city.ctx.db.read() as session:
        total = session.scalar(select(func.count(Report.id)))
        distinct = session.scalar(select(func.count(func.distinct(Report.short_code))))
        blank = session.scalar(select(func.count(Report.id)).where(Report.short_code.is_(None)))
    assert total == distinct
    assert blank == 0


def test_a_new_code_avoids_one_already_given(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = str(hotline_call(city)["short_code"])
    draws = iter(list(taken) + list("ABCDEF"))
    monkeypatch.setattr(citizen.secrets, "choice", lambda _alphabet: next(draws))
    with city.ctx.db.read() as session:
        assert citizen.new_short_code(session) == "ABCDEF"


def test_a_caller_tracks_by_case_number_and_code(city: City) -> None:
    answer = hotline_call(city)
    case_id, code = answer["case_id"], str(answer["short_code"])
    # Read back over the phone: lower case, spaces and a dash are all fine.
    spoken = f"{code[:3].lower()} -{code[3:]}"
    response = city.client.get("/api/v1/track", params={"case": case_id, "code": spoken})
    assert response.status_code == 200, response.text
    tracked = response.json()
    assert tracked["report_id"] == answer["report_id"]
    assert tracked["case"]["id"] == case_id
    assert "tracking_token" not in response.text
    # The long token keeps working.
    token = city.client.get(f"/api/v1/track/{answer['tracking_token']}")
    assert token.status_code == 200


def test_a_wrong_number_or_code_reads_the_same(city: City) -> None:
    first, second = hotline_call(city), hotline_call(city)
    wrong_case = city.client.get(
        "/api/v1/track", params={"case": second["case_id"], "code": first["short_code"]}
    )
    wrong_code = city.client.get(
        "/api/v1/track", params={"case": first["case_id"], "code": "ZZZZZZ"}
    )
    malformed = city.client.get("/api/v1/track", params={"case": first["case_id"], "code": "0O1"})
    assert wrong_case.status_code == wrong_code.status_code == malformed.status_code == 404
    assert wrong_case.json()["detail"] == wrong_code.json()["detail"] == malformed.json()["detail"]


def test_bad_track_input_is_a_4xx_naming_the_field(city: City) -> None:
    no_case = city.client.get("/api/v1/track", params={"code": "ABCDEF"})
    assert 400 <= no_case.status_code < 500 and "case" in no_case.text
    not_a_number = city.client.get("/api/v1/track", params={"case": "five", "code": "ABCDEF"})
    assert 400 <= not_a_number.status_code < 500 and "case" in not_a_number.text
    too_long = city.client.get("/api/v1/track", params={"case": 1, "code": "A" * 40})
    assert 400 <= too_long.status_code < 500 and "code" in too_long.text


def test_a_merged_report_is_still_found_by_its_first_case_number(city: City) -> None:
    first, second = hotline_call(city), hotline_call(city)
    city.act(int(first["case_id"]), "dispatcher", action="merge", merge_into=second["case_id"])
    response = city.client.get(
        "/api/v1/track", params={"case": first["case_id"], "code": first["short_code"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["case"]["id"] == second["case_id"]


@pytest.fixture(scope="module")
def limited_city(
    templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    yield from make_city(
        templates, "sqlite", Path(tmp_path_factory.mktemp("limited")), intake_rate_limit=3
    )


def test_code_lookups_are_rate_limited_per_client(limited_city: City) -> None:
    codes = [
        limited_city.client.get("/api/v1/track", params={"case": 1, "code": "ABCDEF"}).status_code
        for _ in range(4)
    ]
    assert codes == [404, 404, 404, 429]
