"""NGSI-LD queries through HTTP: linked-entity subqueries and expandValues in q (4.9, 5.7.2.4),
distance ordering and collations in orderBy (4.23.3, 5.2.43), and page links (6.3.13)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def setup(city: City) -> None:
    if city.client.get(API + "/entities/urn:ngsi-ld:Tower:lk1").status_code == 200:
        return
    entities: list[dict[str, Any]] = [
        {
            "id": "urn:ngsi-ld:Tower:lk1",
            "type": "Tower",
            "managedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Office:lk1"},
            "category": {"type": "VocabProperty", "vocab": "commercial"},
            "name": {"type": "Property", "value": "Zebra"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [8, 40]}},
        },
        {
            "id": "urn:ngsi-ld:Tower:lk2",
            "type": "Tower",
            "managedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Office:lk2"},
            "name": {"type": "Property", "value": "Ähre"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [9, 41]}},
        },
        {
            "id": "urn:ngsi-ld:Tower:lk3",
            "type": "Tower",
            "name": {"type": "Property", "value": "apple"},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [10, 45]},
            },
        },
        {
            "id": "urn:ngsi-ld:Office:lk1",
            "type": "Office",
            "name": {"type": "Property", "value": "Harbour office"},
            "locatedIn": {"type": "Relationship", "object": "urn:ngsi-ld:District:lk1"},
        },
        {
            "id": "urn:ngsi-ld:Office:lk2",
            "type": "Office",
            "name": {"type": "Property", "value": "Hill office"},
        },
        {
            "id": "urn:ngsi-ld:District:lk1",
            "type": "District",
            "name": {"type": "Property", "value": "Old town"},
        },
    ]
    response = city.client.post(API + "/entityOperations/create", json=entities)
    assert response.status_code == 201, response.text


def ids(city: City, **params: str) -> list[str]:
    response = city.client.get(API + "/entities", params={"type": "Tower", **params})
    assert response.status_code == 200, response.text
    return [entity["id"].removeprefix("urn:ngsi-ld:Tower:") for entity in response.json()]


def test_a_linked_entity_subquery_matches_through_the_target_entitys_attribute(city: City) -> None:
    """4.9 EXAMPLE 13: managedBy{name} reads name on the entity managedBy points at."""
    setup(city)
    joined = {"join": "inline", "joinLevel": "1"}
    assert ids(city, q='managedBy{name}=="Hill office"', **joined) == ["lk2"]
    assert ids(city, q='managedBy{name}~="office"', **joined) == ["lk1", "lk2"]
    assert ids(city, q="managedBy{name}", **joined) == ["lk1", "lk2"]


def test_a_type_hint_restricts_the_linked_entities_considered(city: City) -> None:
    """4.9 EXAMPLE 14: managedBy{Office:name} considers Offices only; another type none."""
    setup(city)
    joined = {"join": "inline", "joinLevel": "1"}
    assert ids(city, q='managedBy{Office:name}=="Hill office"', **joined) == ["lk2"]
    assert ids(city, q='managedBy{Park:name}=="Hill office"', **joined) == []


def test_linked_subqueries_nest_as_deep_as_join_level_allows(city: City) -> None:
    """5.7.2.4: a linked-entity query needs join, and no deeper than joinLevel; else 400."""
    setup(city)
    deep = 'managedBy{locatedIn{name}}=="Old town"'
    assert ids(city, q=deep, join="inline", joinLevel="2") == ["lk1"]
    for params in ({}, {"join": "inline", "joinLevel": "1"}):
        response = city.client.get(API + "/entities", params={"type": "Tower", "q": deep, **params})
        assert response.status_code == 400, response.text
        assert error_type(response) == "BadRequestData"
        assert "linked-entity" in response.json()["detail"]


def test_a_malformed_linked_subquery_is_a_400_naming_the_position(city: City) -> None:
    setup(city)
    response = city.client.get(
        API + "/entities",
        params={"type": "Tower", "q": 'managedBy{name=="x"', "join": "inline"},
    )
    assert response.status_code == 400
    assert "missing '}'" in response.json()["detail"]


def test_expand_values_expands_the_compared_value_as_a_term(city: City) -> None:
    """4.9 EXAMPLE 12: with expandValues the short term matches the stored vocab IRI."""
    setup(city)
    assert ids(city, q="category==commercial") == []
    assert ids(city, q="category==commercial", expandValues="category") == ["lk1"]
    assert ids(city, q=f'category=="{VOCAB}commercial"') == ["lk1"]


def test_dist_asc_and_dist_desc_order_by_distance_from_the_reference(city: City) -> None:
    """4.23.3: location;dist-asc nearest first from orderFrom; dist-desc the reverse."""
    setup(city)
    assert ids(city, orderBy="location;dist-asc", orderFrom="[8,40]") == ["lk1", "lk2", "lk3"]
    assert ids(city, orderBy="location;dist-desc", orderFrom="[10,45]") == ["lk1", "lk2", "lk3"]
    assert ids(city, orderBy="location;dist-asc", orderFrom="[10,45]") == ["lk3", "lk2", "lk1"]


def test_distance_ordering_without_a_reference_is_a_400(city: City) -> None:
    setup(city)
    for params in ({}, {"orderFrom": "8,40"}, {"orderFrom": '"x"'}):
        response = city.client.get(
            API + "/entities",
            params={"type": "Tower", "orderBy": "location;dist-asc", **params},
        )
        assert response.status_code == 400, (params, response.text)
        assert error_type(response) == "BadRequestData"


def test_a_collation_ranks_accented_letters_with_their_base_letter(city: City) -> None:
    """4.23.3: without a collation strings sort by code point (Z < a < Ä); with one, by letter."""
    setup(city)
    assert ids(city, orderBy="name") == ["lk1", "lk3", "lk2"]
    assert ids(city, orderBy="name", collation="und") == ["lk2", "lk3", "lk1"]
    assert ids(city, orderBy="name;desc", collation="de-u-co-phonebk") == ["lk1", "lk3", "lk2"]


def test_an_invalid_collation_tag_is_a_400_naming_it(city: City) -> None:
    setup(city)
    response = city.client.get(
        API + "/entities", params={"type": "Tower", "orderBy": "name", "collation": "!!nope"}
    )
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"
    assert "collation" in response.json()["detail"]


def test_the_query_body_carries_ordering_params(city: City) -> None:
    """5.2.43: ordering {orderBy, coordinates, geometry, collation} in a Query body."""
    setup(city)

    def post(ordering: Any) -> Any:
        body = {"type": "Query", "entities": [{"type": "Tower"}], "ordering": ordering}
        return city.client.post(API + "/entityOperations/query", json=body)

    near_first = post(
        {"orderBy": ["location;dist-asc"], "coordinates": [8, 40], "geometry": "Point"}
    )
    assert near_first.status_code == 200, near_first.text
    assert [e["id"][-3:] for e in near_first.json()] == ["lk1", "lk2", "lk3"]
    by_letter = post({"orderBy": ["name;asc"], "collation": "de"})
    assert [e["id"][-3:] for e in by_letter.json()] == ["lk2", "lk3", "lk1"]
    for bad in (
        {"orderBy": ["location;dist-asc"]},
        {"orderBy": ["location;dist-asc"], "coordinates": "8,40"},
        {"orderBy": ["id;asc"], "geometry": 5},
        {"orderBy": ["id;asc"], "collation": "not a tag!!"},
        "name",
    ):
        response = post(bad)
        assert response.status_code == 400, (bad, response.text)
        assert error_type(response) == "BadRequestData"


def test_page_links_name_the_collection_however_the_request_spelt_it(city: City) -> None:
    """6.3.13: the next page of GET /entities/ (trailing slash) is linked as /entities?..."""
    setup(city)
    page = city.client.get(API + "/entities/", params={"type": "Tower", "limit": 1})
    assert page.status_code == 200
    (link,) = page.headers.get_list("Link")[-1:]
    assert link.startswith(f"<{API}/entities?") and 'rel="next"' in link


def test_a_malformed_context_source_filter_is_a_400(city: City) -> None:
    """5.7.2.4: csf follows the q grammar; a malformed one is BadRequestData, a good one passes."""
    setup(city)
    bad = city.client.get(API + "/entities", params={"type": "Tower", "csf": "))bad(("})
    assert bad.status_code == 400
    assert error_type(bad) == "BadRequestData" and "csf" in bad.json()["detail"]
    assert len(ids(city, csf='endpoint=="http://x"')) == 3
