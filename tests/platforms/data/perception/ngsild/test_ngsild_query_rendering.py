"""How entity reads render (ETSI GS CIM 009 5.7.1, 5.7.2): pick and omit (4.21), linked entity
retrieval (4.5.23), the language filter (4.15), datasetId, orderBy, scopeQ (4.19), GeoJSON
(4.5.16) and paging links (4.12), through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, ERR

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TOWER = "urn:ngsi-ld:Building:r1"
MUSEUM = "urn:ngsi-ld:Building:r2"
PARIS = "urn:ngsi-ld:City:rParis"
FRANCE = "urn:ngsi-ld:Country:rFrance"


def setup(city: City) -> None:
    if city.client.get(API + "/entities/" + TOWER).status_code == 200:
        return
    entities: list[dict[str, Any]] = [
        {
            "id": TOWER,
            "type": "Building",
            "scope": ["/Paris/Centre/Champ", "/CompanyA/Unit1"],
            "name": [
                {"type": "Property", "value": "Eiffel Tower"},
                {"type": "Property", "value": "Tour Eiffel", "datasetId": "urn:ngsi-ld:Dataset:fr"},
            ],
            "street": {
                "type": "LanguageProperty",
                "languageMap": {"fr": "Champ de Mars", "en-GB": "Mars Field"},
            },
            "height": {"type": "Property", "value": 330},
            "locatedAt": {"type": "Relationship", "object": PARIS},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [2.29, 48.86]},
            },
        },
        {
            "id": MUSEUM,
            "type": "Building",
            "scope": "/Paris/Centre",
            "name": {"type": "Property", "value": "Louvre"},
            "height": {"type": "Property", "value": 21},
            "locatedAt": {"type": "Relationship", "object": PARIS},
        },
        {
            "id": PARIS,
            "type": "City",
            "name": {"type": "Property", "value": "Paris"},
            "isInCountry": {"type": "Relationship", "object": FRANCE},
        },
        {"id": FRANCE, "type": "Country", "name": {"type": "Property", "value": "France"}},
    ]
    response = city.client.post(API + "/entityOperations/create", json=entities)
    assert response.status_code == 201, response.text


def get(city: City, path: str, **params: Any) -> Any:
    response = city.client.get(API + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_pick_and_omit_project_the_entity_members(city: City) -> None:
    """4.21: pick keeps the members named (core members too), omit drops them."""
    setup(city)
    assert get(city, "/entities/" + TOWER, pick="id,height") == {
        "id": TOWER,
        "height": {"type": "Property", "value": 330},
    }
    omitted = get(city, "/entities/" + TOWER, omit="type|name|street|locatedAt|location")
    assert omitted == {
        "id": TOWER,
        "scope": ["/Paris/Centre/Champ", "/CompanyA/Unit1"],
        "height": {"type": "Property", "value": 330},
    }
    # In a query, an entity that the projection leaves empty is not returned.
    picked = get(city, "/entities", type="Building,City", pick="isInCountry")
    assert picked == [{"isInCountry": {"type": "Relationship", "object": FRANCE}}]
    # 5.7.1.4: nothing left after projection is ResourceNotFound.
    assert (
        city.client.get(API + "/entities/" + TOWER, params={"pick": "nothing"}).status_code == 404
    )


@pytest.mark.parametrize(
    "params",
    [
        {"pick": "name", "omit": "name"},
        {"pick": "name", "attrs": "height"},
        {"omit": "name", "attrs": "height"},
        {"pick": "id;name"},
        {"pick": "id,locatedAt{name"},
        {"pick": "id,,name"},
        {"pick": "locatedAt{}"},
        {"pick": "locatedAt{name}"},  # nested without join
        {"pick": "locatedAt{isInCountry{name}}", "join": "inline"},  # deeper than joinLevel
        {"join": "sideways"},
        {"join": "inline", "joinLevel": "0"},
        {"lang": "fr;q=2"},
        {"datasetId": "not a uri"},
        {"geometryProperty": "location"},  # without a GeoJSON answer
        {"options": "keyValues,fancy"},
        {"format": "xml"},
        {"type": "Building;"},
    ],
)
def test_a_bad_rendering_parameter_is_refused_naming_it(city: City, params: dict[str, str]) -> None:
    """5.7.1.4, 5.7.2.4: a malformed parameter value is a 400 that names it."""
    setup(city)
    for path in ("/entities/" + TOWER, "/entities"):
        query = {"type": "Building", **params} if path == "/entities" else params
        response = city.client.get(API + path, params=query)
        assert response.status_code == 400, (path, params, response.text)
        body = response.json()
        expected = "InvalidRequest" if {"options", "format"} & set(params) else "BadRequestData"
        assert body["type"] == ERR + expected
        named = next(iter(params)).lower()
        assert named in body["detail"].lower() or "type" in params, body["detail"]


def test_inline_and_flat_joins_follow_relationships(city: City) -> None:
    """4.5.23: join=inline nests the linked entity, join=flat appends it; joinLevel bounds the
    hops, and a nested pick projects the linked entity."""
    setup(city)
    inline = get(city, "/entities/" + MUSEUM, join="inline", pick="id,locatedAt{name}")
    assert inline == {
        "id": MUSEUM,
        "locatedAt": {
            "type": "Relationship",
            "object": PARIS,
            "entity": {"name": {"type": "Property", "value": "Paris"}},
        },
    }
    two = get(city, "/entities/" + MUSEUM, join="inline", joinLevel="2", options="keyValues")
    assert two["locatedAt"]["isInCountry"] == {"id": FRANCE, "type": "Country", "name": "France"}
    pick = "id,locatedAt{id,isInCountry{id}}"
    flat = get(city, "/entities/" + MUSEUM, join="flat", joinLevel="2", pick=pick)
    assert [e["id"] for e in flat] == [MUSEUM, PARIS, FRANCE]
    assert flat[2] == {"id": FRANCE}
    # A relationship that pick leaves out is not followed.
    assert get(city, "/entities/" + MUSEUM, join="flat", pick="id") == {"id": MUSEUM}
    queried = get(city, "/entities", type="Building", join="flat", attrs="locatedAt")
    assert sorted(e["id"] for e in queried) == [TOWER, MUSEUM, PARIS]


def test_the_language_filter_turns_a_language_property_into_a_property(city: City) -> None:
    """4.15: the best matching language (quality values first; RFC 4647 lookup), else any."""
    setup(city)
    assert get(city, "/entities/" + TOWER, lang="de,fr;q=0.5,en;q=0.8", attrs="street")[
        "street"
    ] == {
        "type": "Property",
        "value": "Mars Field",
        "lang": "en-GB",
    }
    assert (
        get(city, "/entities/" + TOWER, lang="FR", options="keyValues")["street"] == "Champ de Mars"
    )
    assert get(city, "/entities/" + TOWER, lang="pt")["street"]["lang"] in ("fr", "en-GB")
    # 4.9: q reads one language of a LanguageProperty, or any with [*].
    assert len(get(city, "/entities", q='street[fr]=="Champ de Mars"')) == 1
    assert get(city, "/entities", q='street[en-GB]=="Champ de Mars"') == []
    assert len(get(city, "/entities", q='street[*]=="Mars Field"')) == 1


def test_dataset_id_keeps_the_instances_asked_for(city: City) -> None:
    """datasetId (6.3.x): "@none" is the default instance; an attribute with none is dropped."""
    setup(city)
    french = get(city, "/entities/" + TOWER, datasetId="urn:ngsi-ld:Dataset:fr")
    assert french["name"] == {
        "type": "Property",
        "value": "Tour Eiffel",
        "datasetId": "urn:ngsi-ld:Dataset:fr",
    }
    assert "height" not in french
    default = get(city, "/entities/" + TOWER, datasetId="@none", attrs="name")
    assert default["name"] == {"type": "Property", "value": "Eiffel Tower"}


def test_order_by_sorts_with_direction_and_a_stable_tie_break(city: City) -> None:
    """orderBy (4.23): members and attribute paths, asc or desc; entities lacking the value
    come last, and the id breaks ties."""
    setup(city)
    ids = lambda entities: [e["id"] for e in entities]  # noqa: E731
    assert ids(get(city, "/entities", type="Building", orderBy="height")) == [MUSEUM, TOWER]
    assert ids(get(city, "/entities", type="Building", orderBy="height;desc")) == [TOWER, MUSEUM]
    everything = get(city, "/entities", type="Building,City,Country", orderBy="height;desc,id")
    assert ids(everything) == [TOWER, MUSEUM, PARIS, FRANCE]
    paged = get(
        city, "/entities", type="Building,City,Country", orderBy="type;desc", limit=2, offset=1
    )
    assert ids(paged) == [PARIS, TOWER]
    bad = city.client.get(API + "/entities", params={"type": "Building", "orderBy": "height;up"})
    assert bad.status_code == 400 and "orderBy" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("scope_q", "expected"),
    [
        ("/Paris/Centre", [MUSEUM]),
        ("/Paris/#", [TOWER, MUSEUM]),
        ("/Paris/+/Champ", [TOWER]),
        ("/Paris/Centre/Champ;/CompanyA/Unit1", [TOWER]),
        ("(/Paris/Centre;/CompanyA/Unit1)|/Paris/Centre", [MUSEUM]),
        ("/#", [TOWER, MUSEUM]),
    ],
)
def test_scope_q_selects_by_scope(city: City, scope_q: str, expected: list[str]) -> None:
    """4.19: ``;`` and, ``,``/``|`` or, ``+`` one level, a final ``#`` any levels."""
    setup(city)
    found = get(city, "/entities", scopeQ=scope_q, type="Building")
    assert sorted(e["id"] for e in found) == sorted(expected)


def test_geojson_answers_features(city: City) -> None:
    """4.5.16: a retrieval is a Feature, a query a FeatureCollection; @context at the top."""
    setup(city)
    geojson = {"Accept": "application/geo+json"}
    one = city.client.get(
        API + "/entities/" + TOWER, headers=geojson, params={"options": "keyValues"}
    )
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/geo+json")
    feature = one.json()
    assert feature["type"] == "Feature" and feature["id"] == TOWER
    assert feature["geometry"] == {"type": "Point", "coordinates": [2.29, 48.86]}
    assert feature["properties"]["height"] == 330 and "@context" in feature
    many = city.client.get(API + "/entities", headers=geojson, params={"type": "Building"}).json()
    assert many["type"] == "FeatureCollection" and "@context" in many
    museum = next(f for f in many["features"] if f["id"] == MUSEUM)
    assert museum["geometry"] is None
    other = city.client.get(
        API + "/entities/" + TOWER, params={"format": "geojson", "geometryProperty": "height"}
    ).json()
    assert other["geometry"] is None


def test_queries_page_with_links_and_refuse_bad_values(city: City) -> None:
    """4.12: prev and next Link headers; count, local and geoQ values are checked."""
    setup(city)
    page = city.client.get(API + "/entities", params={"type": "Building", "limit": 1, "offset": 1})
    links = (
        page.headers.get_list("link") if hasattr(page.headers, "get_list") else page.headers["link"]
    )
    assert 'rel="prev"' in str(links) and 'rel="next"' not in str(links)
    first = city.client.get(API + "/entities", params={"type": "Building", "limit": 1})
    assert "offset=1" in str(first.headers["link"]) and 'rel="next"' in first.headers["link"]
    for params in ({"count": "yes"}, {"local": "maybe"}, {"geoQ": "near"}):
        response = city.client.get(API + "/entities", params={"type": "Building", **params})
        assert response.status_code == 400, params
        assert next(iter(params)) in response.json()["detail"]
    # 4.17: type=* selects every type, local=true alone is a query of everything local.
    assert len(get(city, "/entities", type="*", limit=1000)) >= 4
    assert len(get(city, "/entities", local="true", limit=1000)) >= 4
    # (A;B) needs both types, "," either.
    assert get(city, "/entities", type="(Building;City)") == []
    # attrs names attributes, never core members.
    assert city.client.get(API + "/entities", params={"attrs": "id,type"}).status_code == 400
