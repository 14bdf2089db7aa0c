"""How temporal reads shape their answer (ETSI GS CIM 009 v1.8/v1.9): temporal pagination
(6.3.10, 4.12: 206 + Content-Range), pick and omit (4.21, 5.7.3.4, 5.7.4.4), lang (4.15) and
orderBy on a temporal query (5.7.4.4: the entity id only); and strict flags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TEMPORAL = API + "/temporal/entities"
ID = "urn:ngsi-ld:Vehicle:paged"


def instances(minutes: range, hour: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"type": "Property", "value": start + m, "observedAt": f"2020-01-01T{hour:02}:{m:02}:00Z"}
        for m in minutes
    ]


@pytest.fixture
def page_of_four(city: City) -> Iterator[None]:
    """A server page of four instances per attribute, for the length of one test."""
    city.ctx.settings.ngsild_temporal_page = 4
    try:
        yield
    finally:
        city.ctx.settings.ngsild_temporal_page = 1000


@pytest.fixture
def paged(city: City) -> str:
    """An entity whose two series interleave: speed at minutes 0-9, fuel at 5-14 (hour 1)."""
    body = {
        "id": ID,
        "type": "Vehicle",
        "speed": instances(range(10), 1),
        "fuel": instances(range(5, 15), 1, start=100),
    }
    response = city.client.post(TEMPORAL, json=body)
    assert response.status_code in (201, 204), response.text
    return f"{TEMPORAL}/{ID}"


def times(series: list[dict[str, Any]]) -> list[str]:
    return [i["observedAt"][11:16] for i in series]


@pytest.mark.usefixtures("page_of_four")
def test_a_series_cut_by_the_page_is_206_and_the_range_bounds_every_series(
    city: City, paged: str
) -> None:
    """6.3.10: forwards, the range runs from the first instance up to the first instant a cut
    series left out; the other series stop there too, so continuing from the end misses none."""
    response = city.client.get(paged)
    assert response.status_code == 206, response.text
    assert response.headers["Content-Range"] == (
        "date-time 2020-01-01T01:00:00Z-2020-01-01T01:04:00Z/*"
    )
    body = response.json()
    assert times(body["speed"]) == ["01:00", "01:01", "01:02", "01:03"]
    assert body["fuel"] == []  # fuel starts at 01:05, past the range


@pytest.mark.usefixtures("page_of_four")
def test_a_range_asked_for_starts_the_content_range(city: City, paged: str) -> None:
    """6.3.10: with timerel=after or between, the range starts at timeAt."""
    response = city.client.get(
        paged,
        params={"timerel": "after", "timeAt": "2020-01-01T01:04:30Z", "options": "temporalValues"},
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"] == (
        "date-time 2020-01-01T01:04:30Z-2020-01-01T01:09:00Z/*"
    )
    body = response.json()
    assert [t for _, t in body["speed"]["values"]][-1] == "2020-01-01T01:08:00Z"
    assert [v for v, _ in body["fuel"]["values"]] == [105, 106, 107, 108]


@pytest.mark.usefixtures("page_of_four")
def test_last_n_beyond_the_page_pages_backwards_with_its_size(city: City, paged: str) -> None:
    """6.3.10: with lastN, pagination goes backwards: from timeAt (before) down to the latest
    point where a series was cut; the size is lastN."""
    response = city.client.get(
        paged, params={"lastN": "6", "timerel": "before", "timeAt": "2020-01-01T02:00:00Z"}
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"] == (
        "date-time 2020-01-01T02:00:00Z-2020-01-01T01:11:00Z/6"
    )
    body = response.json()
    assert times(body["fuel"]) == ["01:11", "01:12", "01:13", "01:14"]
    assert body["speed"] == []  # speed ends at 01:09, before the range's end


@pytest.mark.usefixtures("page_of_four")
def test_last_n_within_the_page_is_the_full_answer(city: City, paged: str) -> None:
    """6.3.10: 206 is for an answer the server cannot give at once; lastN's own cut is not."""
    response = city.client.get(paged, params={"lastN": "3"})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert times(response.json()["speed"]) == ["01:07", "01:08", "01:09"]


@pytest.mark.usefixtures("page_of_four")
def test_a_temporal_query_is_paged_over_all_its_entities(city: City, paged: str) -> None:
    """6.3.10 on a query (GET and POST): one range for the whole answer."""
    params = {"type": "Vehicle", "attrs": "speed"}
    got = city.client.get(TEMPORAL, params=params)
    assert got.status_code == 206
    assert got.headers["Content-Range"].endswith("-2020-01-01T01:04:00Z/*")
    posted = city.client.post(
        API + "/temporal/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Vehicle"}], "attrs": ["speed"]},
    )
    assert posted.status_code == 206
    assert posted.headers["Content-Range"] == got.headers["Content-Range"]


def test_pick_and_omit_project_a_temporal_entity(city: City, paged: str) -> None:
    """4.21, 5.7.3: pick keeps the members named (core members included), omit drops them."""
    assert city.client.get(paged, params={"pick": "speed"}).json().keys() == {"speed"}
    assert city.client.get(paged, params={"pick": "id,fuel"}).json().keys() == {"id", "fuel"}
    omitted = city.client.get(paged, params={"omit": "type,speed"}).json()
    assert omitted.keys() == {"id", "fuel"}
    assert len(omitted["fuel"]) == 10


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"pick": "unknown"}, 404),
        ({"omit": "id,type,speed,fuel"}, 404),
        ({"pick": "speed", "omit": "speed"}, 400),
        ({"pick": "speed", "attrs": "speed"}, 400),
        ({"omit": "speed", "attrs": "fuel"}, 400),
        ({"pick": "owner{name}"}, 400),
        ({"pick": "speed{"}, 400),
    ],
)
def test_a_temporal_projection_that_leaves_nothing_or_cannot_be_is_refused(
    city: City, paged: str, params: dict[str, str], status: int
) -> None:
    """5.7.3.4: an entity projected to nothing is ResourceNotFound; pick with omit on one
    member, either with attrs, or a projection into linked entities is BadRequestData."""
    response = city.client.get(paged, params=params)
    assert response.status_code == status, response.text
    expected = "ResourceNotFound" if status == 404 else "BadRequestData"
    assert error_type(response) == expected


def test_a_temporal_query_projects_each_entity(city: City, paged: str) -> None:
    """4.21, 5.7.4: pick=id gives the ids of the entities with history in the range."""
    other = {"id": "urn:ngsi-ld:Vehicle:paged2", "type": "Vehicle", "speed": instances(range(2), 3)}
    assert city.client.post(TEMPORAL, json=other).status_code in (201, 204)
    picked = city.client.get(TEMPORAL, params={"type": "Vehicle", "pick": "id"}).json()
    assert picked == [{"id": ID}, {"id": "urn:ngsi-ld:Vehicle:paged2"}]
    in_range = city.client.get(
        TEMPORAL,
        params={
            "type": "Vehicle",
            "pick": "id",
            "timerel": "after",
            "timeAt": "2020-01-01T02:00:00Z",
        },
    ).json()
    assert in_range == [{"id": "urn:ngsi-ld:Vehicle:paged2"}]
    omitted = city.client.get(TEMPORAL, params={"type": "Vehicle", "omit": "speed,type"}).json()
    assert [e.keys() for e in omitted] == [{"id", "fuel"}, {"id"}]


def test_a_temporal_query_orders_by_id_only(city: City, paged: str) -> None:
    """5.7.4.4: orderBy on a temporal query may name the entity id alone; any other member is
    BadRequestData."""
    other = {"id": "urn:ngsi-ld:Vehicle:aaa", "type": "Vehicle", "speed": instances(range(2), 3)}
    assert city.client.post(TEMPORAL, json=other).status_code in (201, 204)
    ids = [
        e["id"]
        for e in city.client.get(
            TEMPORAL, params={"type": "Vehicle", "orderBy": "id;desc", "pick": "id"}
        ).json()
    ]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 2
    for order in ("speed", "createdAt", "id,speed", "speed.observedAt"):
        response = city.client.get(TEMPORAL, params={"type": "Vehicle", "orderBy": order})
        assert response.status_code == 400, order
        assert "orderBy" in response.json()["detail"]


def test_lang_picks_one_language_of_each_instance(city: City) -> None:
    """4.15: with lang, a LanguageProperty instance reads as a Property in the best language."""
    body = {
        "id": "urn:ngsi-ld:Vehicle:lang",
        "type": "Vehicle",
        "name": [
            {
                "type": "LanguageProperty",
                "languageMap": {"en": "My car", "fr": "Ma voiture"},
                "observedAt": "2020-09-01T12:00:00Z",
            }
        ],
    }
    assert city.client.post(TEMPORAL, json=body).status_code in (201, 204)
    got = city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:lang", params={"lang": "fr"}).json()
    assert got["name"][0]["type"] == "Property"
    assert got["name"][0]["value"] == "Ma voiture"
    assert got["name"][0]["lang"] == "fr"
    bad = city.client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:lang", params={"lang": "fr;q=7"})
    assert bad.status_code == 400
    assert "lang" in bad.json()["detail"]


def test_a_temporal_query_of_everything_local_needs_local_true(city: City, paged: str) -> None:
    """5.7.4.4: a query naming nothing to select by (ids only narrow) is too wide, unless
    local=true."""
    assert city.client.get(TEMPORAL).status_code == 400
    by_id = city.client.get(TEMPORAL, params={"id": ID})
    assert by_id.status_code == 400
    assert error_type(by_id) == "BadRequestData"
    assert city.client.get(TEMPORAL, params={"id": ID, "type": "Vehicle"}).status_code == 200
    assert city.client.get(TEMPORAL, params={"local": "true"}).status_code == 200


@pytest.mark.parametrize("path", [TEMPORAL, API + "/entities"])
def test_a_malformed_context_source_filter_is_bad_request_data(
    city: City, paged: str, path: str
) -> None:
    """4.9, 5.7.4.4: csf is in the q language; a malformed one is a 400 naming csf, a
    well-formed one filters no local entity away."""
    params = {"type": "Vehicle", "csf": "))bad(("}
    response = city.client.get(path, params=params)
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"
    assert response.json()["detail"].startswith("csf")
    fine = city.client.get(path, params={**params, "csf": "endpoint==http://a.example"})
    assert fine.status_code == 200
    assert ID in [e["id"] for e in fine.json()]


@pytest.mark.parametrize(
    "path",
    [f"{TEMPORAL}/{ID}/attrs/speed", f"{API}/entities/{ID}/attrs/speed"],
)
def test_delete_all_takes_true_or_false_only(city: City, paged: str, path: str) -> None:
    """6.3.x flags: deleteAll=yes is a 400 naming deleteAll, and nothing is deleted."""
    response = city.client.delete(path, params={"deleteAll": "yes"})
    assert response.status_code == 400
    assert "deleteAll" in response.json()["detail"]
    assert len(city.client.get(f"{TEMPORAL}/{ID}").json()["speed"]) == 10


def test_the_simplified_form_reads_as_the_client_wrote_it(city: City) -> None:
    """4.5.9: temporalValues lists vocab terms compacted under the client's @context, and a
    ListRelationship's objects as bare URIs."""
    body = {
        "id": "urn:ngsi-ld:Vehicle:simple",
        "type": "Vehicle",
        "category": [
            {"type": "VocabProperty", "vocab": "monument", "observedAt": "2020-08-01T12:03:00Z"},
            {
                "type": "VocabProperty",
                "vocab": ["monument", "sightseeing"],
                "observedAt": "2020-08-01T12:07:00Z",
            },
        ],
        "route": [
            {
                "type": "ListRelationship",
                "objectList": ["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"],
                "observedAt": "2020-08-01T12:03:00Z",
            }
        ],
    }
    assert city.client.post(TEMPORAL, json=body).status_code in (201, 204)
    got = city.client.get(
        f"{TEMPORAL}/urn:ngsi-ld:Vehicle:simple", params={"options": "temporalValues"}
    ).json()
    assert [v for v, _ in got["category"]["vocabs"]] == [
        {"vocab": "monument"},
        {"vocab": ["monument", "sightseeing"]},
    ]
    assert got["route"]["objectLists"] == [
        [["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"], "2020-08-01T12:03:00Z"]
    ]
