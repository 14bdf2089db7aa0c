"""NGSI-LD queries, batch operations, types and attributes through HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.support.city import City
from tests.support.ngsild import API, ERR

# Points along a line east of (8.68, 49.40); one degree of longitude there is ~72.5 km.
ORIGIN = (8.68, 49.40)


# Writes under /ngsi-ld/v1 need credentials: the demo API key, on every request.
pytestmark = pytest.mark.usefixtures("ngsild_credentials")


def lamp(n: int, **attrs: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Streetlight:q{n}",
        "type": "Streetlight",
        "powerState": {"type": "Property", "value": "on" if n % 2 else "off"},
        "lanternHeight": {
            "type": "Property",
            "value": n,
            "observedAt": f"2026-01-0{1 + n % 9}T00:00:00Z",
        },
        "address": {"type": "Property", "value": {"city": "Riverton", "street": f"Main {n}"}},
        "refGroup": {"type": "Relationship", "object": f"urn:ngsi-ld:Group:{n % 3}"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [ORIGIN[0] + n * 0.001, ORIGIN[1]]},
        },
        **attrs,
    }


def setup(city: City) -> None:
    if city.client.get(API + "/entities/urn:ngsi-ld:Streetlight:q1").status_code == 200:
        return
    response = city.client.post(
        API + "/entityOperations/create", json=[lamp(n) for n in range(1, 11)]
    )
    assert response.status_code == 201, response.text
    park = {
        "id": "urn:ngsi-ld:Park:p1",
        "type": "Park",
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Polygon",
                "coordinates": [[[8.0, 49.0], [8.1, 49.0], [8.1, 49.1], [8.0, 49.1], [8.0, 49.0]]],
            },
        },
    }
    assert city.client.post(API + "/entities", json=park).status_code == 201


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(int(e["id"].rsplit("q", 1)[1]) for e in response.json())


def q(city: City, expression: str, **params: Any) -> list[str]:
    setup(city)
    return ids(
        city.client.get(
            API + "/entities",
            params={"type": "Streetlight", "q": expression, "limit": 100, **params},
        )
    )


def test_q_language(city: City) -> None:
    assert q(city, "lanternHeight>8") == [9, 10]
    assert q(city, 'lanternHeight>=8;powerState=="off"') == [8, 10]
    assert q(city, "lanternHeight<2|lanternHeight==10") == [1, 10]
    assert q(city, "lanternHeight==3..5") == [3, 4, 5]
    assert q(city, "lanternHeight==1,2,7") == [1, 2, 7]
    assert q(city, 'powerState=="on","off";lanternHeight<=2') == [1, 2]
    assert q(city, "lanternHeight!=1;lanternHeight<4") == [2, 3]
    assert q(city, '(lanternHeight<3|lanternHeight>9);powerState=="on"') == [1]
    assert q(city, 'address[street]=="Main 4"') == [4]
    assert q(city, 'address[street]~="Main 1.*"') == [1, 10]
    assert q(city, 'address[street]!~="Main 1.*"') == [2, 3, 4, 5, 6, 7, 8, 9]
    assert q(city, "refGroup==urn:ngsi-ld:Group:0") == [3, 6, 9]
    assert q(city, "lanternHeight.observedAt>=2026-01-09T00:00:00Z") == [8]
    assert q(city, "lanternHeight") == list(range(1, 11))
    assert q(city, "!colour") == list(range(1, 11))
    assert q(city, "colour") == []
    for broken in ("lanternHeight>", "(a==1", "a==1)", "a=>1", 'a=="x', "a~=(x+)+y", "a>1..2", ""):
        response = city.client.get(
            API + "/entities", params={"type": "Streetlight", "q": broken or " "}
        )
        assert response.status_code == 400, broken
        assert response.json()["type"] == ERR + "BadRequestData"


def test_filters_paging_and_count(city: City) -> None:
    setup(city)
    get = city.client.get
    assert ids(
        get(
            API + "/entities",
            params={
                "type": "Streetlight",
                "id": "urn:ngsi-ld:Streetlight:q2,urn:ngsi-ld:Streetlight:q3",
            },
        )
    ) == [2, 3]
    pattern = {"type": "Streetlight", "idPattern": "^urn:ngsi-ld:Streetlight:q1.*", "limit": 50}
    assert ids(get(API + "/entities", params=pattern)) == [1, 10]
    # 5.7.2.4: ids alone name no type, attribute, q or geo-query.
    alone = get(API + "/entities", params={"id": "urn:ngsi-ld:Streetlight:q2"})
    assert alone.status_code == 400 and alone.json()["type"] == ERR + "BadRequestData"
    page = get(
        API + "/entities", params={"type": "Streetlight", "limit": 3, "offset": 3, "count": "true"}
    )
    assert ids(page) == [4, 5, 6]
    assert page.headers["NGSILD-Results-Count"] == "10"
    counted = get(
        API + "/entities",
        params={"type": "Streetlight", "q": "lanternHeight>4", "limit": 2, "count": "true"},
    )
    assert len(counted.json()) == 2 and counted.headers["NGSILD-Results-Count"] == "6"
    assert len(get(API + "/entities", params={"type": "Streetlight"}).json()) == 10
    only = get(
        API + "/entities", params={"type": "Streetlight", "attrs": "powerState", "limit": 1}
    ).json()[0]
    assert set(only) == {"id", "type", "powerState"}
    kv = get(
        API + "/entities", params={"type": "Streetlight", "options": "keyValues", "limit": 1}
    ).json()[0]
    assert kv["lanternHeight"] == 1 and kv["refGroup"] == "urn:ngsi-ld:Group:1"
    none = get(API + "/entities")
    assert none.status_code == 400 and none.json()["type"] == ERR + "BadRequestData"
    too_many = get(API + "/entities", params={"type": "Streetlight", "limit": 1001})
    assert too_many.status_code == 403 and too_many.json()["type"] == ERR + "TooManyResults"
    for bad in (
        {"limit": "x"},
        {"offset": "-1"},
        {"limit": "0"},
        {"idPattern": "(a)\\1"},
        {"id": "nope"},
    ):
        assert get(API + "/entities", params={"type": "Streetlight", **bad}).status_code == 400, bad
    assert get(API + "/entities", params={"type": "Unknown"}).json() == []


def test_geo_queries(city: City) -> None:
    setup(city)

    def geo(georel: str, geometry: str, coordinates: str, **extra: Any) -> Any:
        return city.client.get(
            API + "/entities",
            params={
                "georel": georel,
                "geometry": geometry,
                "coordinates": coordinates,
                "limit": 100,
                **extra,
            },
        )

    # Lamp n sits n * ~72.5 m east of the origin.
    assert ids(geo("near;maxDistance==300", "Point", "[8.68,49.40]", type="Streetlight")) == [
        1,
        2,
        3,
        4,
    ]
    assert ids(geo("near;minDistance==600", "Point", "[8.68,49.40]", type="Streetlight")) == [9, 10]
    assert ids(
        geo(
            "near;maxDistance==300",
            "Point",
            "[8.68,49.40]",
            type="Streetlight",
            q='powerState=="on"',
        )
    ) == [1, 3]
    box = "[[[8.6845,49.39],[8.6875,49.39],[8.6875,49.41],[8.6845,49.41],[8.6845,49.39]]]"
    assert ids(geo("within", "Polygon", box, type="Streetlight")) == [5, 6, 7]
    assert ids(geo("intersects", "Polygon", box, type="Streetlight")) == [5, 6, 7]
    assert len(geo("disjoint", "Polygon", box, type="Streetlight").json()) == 7
    assert ids(geo("equals", "Point", "[8.683,49.40]", type="Streetlight")) == [3]
    parks = geo("contains", "Point", "[8.05,49.05]").json()
    assert [p["id"] for p in parks] == ["urn:ngsi-ld:Park:p1"]
    assert [p["id"] for p in geo("intersects", "Point", "[8.05,49.05]").json()] == [
        "urn:ngsi-ld:Park:p1"
    ]
    # 4.10: near measures from the closest point of any reference geometry: lamps 5 to 7
    # lie inside the box, lamps 4 and 8 about 36 m from its edges, the others farther.
    near_box = geo("near;maxDistance==50", "Polygon", box, type="Streetlight")
    assert ids(near_box) == [4, 5, 6, 7, 8]
    for bad in (
        ("near", "Point", "[8.68,49.40]"),
        ("near;maxDistance==abc", "Point", "[8.68,49.40]"),
        # 4.10: one distance, a positive number.
        ("near;maxDistance==0", "Point", "[8.68,49.40]"),
        ("near;maxDistance==10;minDistance==1", "Point", "[8.68,49.40]"),
        ("touches", "Point", "[8.68,49.40]"),
        ("within", "Point", "not json"),
        ("within", "Point", "[800,49]"),
        ("within", "Hexagon", "[1,2]"),
    ):
        response = geo(*bad)
        assert response.status_code == 400, bad
    assert city.client.get(API + "/entities", params={"georel": "within"}).status_code == 400


def test_batch_operations(city: City) -> None:
    post = city.client.post
    good = {
        "id": "urn:ngsi-ld:Sensor:b1",
        "type": "Sensor",
        "level": {"type": "Property", "value": 1},
    }
    bad = {"id": "urn:ngsi-ld:Sensor:b2", "type": "Sensor", "level": {"type": "Property"}}
    mixed = post(API + "/entityOperations/create", json=[good, bad])
    assert mixed.status_code == 207
    body = mixed.json()
    assert body["success"] == ["urn:ngsi-ld:Sensor:b1"]
    assert [e["entityId"] for e in body["errors"]] == ["urn:ngsi-ld:Sensor:b2"]
    assert body["errors"][0]["error"]["type"] == ERR + "BadRequestData"
    assert city.client.get(API + "/entities/urn:ngsi-ld:Sensor:b1").status_code == 200
    again = post(API + "/entityOperations/create", json=[good])
    assert again.status_code == 207
    assert again.json()["errors"][0]["error"]["type"] == ERR + "AlreadyExists"
    fixed = {**bad, "level": {"type": "Property", "value": 2}}
    upsert = post(
        API + "/entityOperations/upsert",
        json=[fixed, {**good, "extra": {"type": "Property", "value": "x"}}],
    )
    assert upsert.status_code == 201 and upsert.json() == ["urn:ngsi-ld:Sensor:b2"]
    replaced = post(
        API + "/entityOperations/upsert", json=[{**good, "other": {"type": "Property", "value": 1}}]
    )
    assert replaced.status_code == 204
    entity = city.client.get(API + "/entities/urn:ngsi-ld:Sensor:b1").json()
    assert "other" in entity and "extra" not in entity
    merged = post(
        API + "/entityOperations/upsert",
        params={"options": "update"},
        json=[
            {
                "id": "urn:ngsi-ld:Sensor:b1",
                "type": "Sensor",
                "more": {"type": "Property", "value": 3},
            }
        ],
    )
    assert merged.status_code == 204
    assert "other" in city.client.get(API + "/entities/urn:ngsi-ld:Sensor:b1").json()
    update = post(
        API + "/entityOperations/update",
        json=[
            {"id": "urn:ngsi-ld:Sensor:b1", "level": {"type": "Property", "value": 9}},
            {"id": "urn:ngsi-ld:Sensor:none", "level": {"type": "Property", "value": 9}},
        ],
    )
    assert update.status_code == 207
    assert update.json()["success"] == ["urn:ngsi-ld:Sensor:b1"]
    kept = post(
        API + "/entityOperations/update",
        params={"options": "noOverwrite"},
        json=[{"id": "urn:ngsi-ld:Sensor:b1", "level": {"type": "Property", "value": 100}}],
    )
    assert kept.status_code == 207
    assert city.client.get(API + "/entities/urn:ngsi-ld:Sensor:b1").json()["level"]["value"] == 9
    deleted = post(
        API + "/entityOperations/delete", json=["urn:ngsi-ld:Sensor:b1", "urn:ngsi-ld:Sensor:zz"]
    )
    assert deleted.status_code == 207
    assert deleted.json()["errors"][0]["error"]["type"] == ERR + "ResourceNotFound"
    assert post(API + "/entityOperations/delete", json=["urn:ngsi-ld:Sensor:b2"]).status_code == 204
    for body_ in ({}, [], "x"):
        assert post(API + "/entityOperations/create", json=body_).status_code == 400
    assert post(API + "/entityOperations/other", json=[good]).status_code == 404
    dupes = post(API + "/entityOperations/create", json=[good, good])
    assert dupes.status_code == 207 and len(dupes.json()["success"]) == 1


def test_types_and_attributes(city: City) -> None:
    setup(city)
    types = city.client.get(API + "/types").json()
    assert types["type"] == "EntityTypeList"
    assert city.client.get(API + "/types/").json() == types
    assert city.client.get(API + "/attributes/").json()["type"] == "AttributeList"
    assert {"Streetlight", "Park"} <= set(types["typeList"])
    detailed = city.client.get(API + "/types", params={"details": "true"}).json()
    lamp_type = next(t for t in detailed if t["typeName"] == "Streetlight")
    assert "powerState" in lamp_type["attributeNames"]
    info = city.client.get(API + "/types/Streetlight").json()
    assert info["entityCount"] == 10
    # 5.2.26: EntityTypeInfo holds attributeDetails, no attributeNames.
    assert "attributeNames" not in info
    # 5.7.7: the type may be named by its full IRI, URL-encoded.
    expanded = city.client.get(API + "/types/" + quote(info["id"], safe="")).json()
    assert expanded["typeName"] == "Streetlight"
    details = {d["attributeName"]: d["attributeTypes"] for d in info["attributeDetails"]}
    assert details["refGroup"] == ["Relationship"] and details["location"] == ["GeoProperty"]
    assert city.client.get(API + "/types/Nothing").status_code == 404
    attributes = city.client.get(API + "/attributes").json()
    assert "powerState" in attributes["attributeList"]
    power = city.client.get(API + "/attributes/powerState").json()
    assert power["attributeCount"] == 10 and power["typeNames"] == ["Streetlight"]
    by_iri = city.client.get(API + "/attributes/" + quote(power["id"], safe=""))
    assert by_iri.json()["attributeName"] == "powerState"
    listed = city.client.get(API + "/attributes", params={"details": "true"}).json()
    location = next(a for a in listed if a["attributeName"] == "location")
    # 5.7.8: the detailed list gives names and entity types; counts are per attribute (5.7.9).
    assert set(location) == {"id", "type", "attributeName", "typeNames"}
    assert city.client.get(API + "/attributes/nothing").status_code == 404


def test_a_query_in_the_body_answers_as_the_same_query_in_the_url(city: City) -> None:
    setup(city)
    body = {
        "type": "Query",
        "entities": [{"type": "Streetlight", "idPattern": "^urn:ngsi-ld:Streetlight:q"}],
        "attrs": ["lanternHeight", "location"],
        "q": 'lanternHeight>=4;powerState=="on"',
        "geoQ": {
            "georel": "near;maxDistance==600",
            "geometry": "Point",
            "coordinates": [ORIGIN[0], ORIGIN[1]],
        },
    }
    by_body = city.client.post(
        API + "/entityOperations/query", json=body, params={"limit": 100, "count": "true"}
    )
    by_url = city.client.get(
        API + "/entities",
        params={
            "type": "Streetlight",
            "idPattern": "^urn:ngsi-ld:Streetlight:q",
            "attrs": "lanternHeight,location",
            "q": 'lanternHeight>=4;powerState=="on"',
            "georel": "near;maxDistance==600",
            "geometry": "Point",
            "coordinates": f"[{ORIGIN[0]},{ORIGIN[1]}]",
            "limit": 100,
        },
    )
    assert ids(by_body) == ids(by_url) == [5, 7]
    assert by_body.headers["NGSILD-Results-Count"] == "2"
    assert set(by_body.json()[0]) == {"id", "type", "lanternHeight", "location"}
    # Several selectors of types only are a union of the types.
    several = city.client.post(
        API + "/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Streetlight"}, {"type": "Park"}]},
        params={"limit": 100},
    )
    assert several.status_code == 200, several.text
    assert {e["type"] for e in several.json()} == {"Streetlight", "Park"}
    # 5.2.33: each selector is an alternative, also with ids (an id list in one selector).
    by_ids = city.client.post(
        API + "/entityOperations/query",
        json={
            "type": "Query",
            "entities": [
                {
                    "type": "Streetlight",
                    "id": ["urn:ngsi-ld:Streetlight:q1", "urn:ngsi-ld:Streetlight:q2"],
                },
                {"type": "Park", "idPattern": "^urn:ngsi-ld:Park:p"},
            ],
        },
    )
    assert by_ids.status_code == 200, by_ids.text
    assert sorted(e["id"] for e in by_ids.json()) == [
        "urn:ngsi-ld:Park:p1",
        "urn:ngsi-ld:Streetlight:q1",
        "urn:ngsi-ld:Streetlight:q2",
    ]


def test_a_query_in_the_body_needs_no_credentials_when_reads_are_public(city: City) -> None:
    setup(city)
    anonymous = {k: v for k, v in city.client.headers.items() if k.lower() != "x-api-key"}
    response = city.client.post(
        API + "/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Streetlight"}]},
        headers=anonymous,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"entities": [{"type": "Streetlight"}]}, 400, "BadRequestData"),
        ({"type": "Query"}, 400, "BadRequestData"),
        ({"type": "Query", "entities": "Streetlight"}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"id": "urn:ngsi-ld:X:1"}]}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"type": "A"}], "q": 7}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"type": "A"}], "q": "(a==1"}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"type": "A"}], "geoQ": "near"}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"type": "A"}], "attrs": "x"}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"type": "A"}], "attrs": []}, 400, "BadRequestData"),
        ({"type": "Query", "entities": [{"type": "A"}], "joinLevel": 0}, 400, "BadRequestData"),
        (
            {"type": "Query", "entities": [{"type": "A"}], "temporalQ": {"timerel": "before"}},
            400,
            "BadRequestData",
        ),
    ],
)
def test_a_bad_query_body_is_refused_naming_the_problem(
    city: City, body: dict[str, Any], status: int, error: str
) -> None:
    response = city.client.post(API + "/entityOperations/query", json=body)
    assert response.status_code == status, response.text
    assert response.json()["type"] == ERR + error


def test_merge_patch_adds_and_replaces_attributes_and_keeps_the_rest(city: City) -> None:
    entity = {
        "id": "urn:ngsi-ld:Streetlight:merge-1",
        "type": "Streetlight",
        "powerState": {"type": "Property", "value": "off"},
        "lanternHeight": {"type": "Property", "value": 8},
    }
    assert city.client.post(API + "/entities", json=entity).status_code == 201
    merged = city.client.patch(
        API + "/entities/urn:ngsi-ld:Streetlight:merge-1",
        json={
            "powerState": {"type": "Property", "value": "on"},
            "status": {"type": "Property", "value": "ok"},
        },
    )
    assert merged.status_code == 204, merged.text
    read = city.client.get(
        API + "/entities/urn:ngsi-ld:Streetlight:merge-1", params={"options": "keyValues"}
    ).json()
    assert (read["powerState"], read["status"], read["lanternHeight"]) == ("on", "ok", 8)
    missing = city.client.patch(
        API + "/entities/urn:ngsi-ld:Streetlight:nobody", json={"status": {"value": "ok"}}
    )
    assert missing.status_code == 404
    assert missing.json()["type"] == ERR + "ResourceNotFound"
    not_an_object = city.client.patch(API + "/entities/urn:ngsi-ld:Streetlight:merge-1", json=[1])
    assert not_an_object.status_code == 400


# --- review fixes -----------------------------------------------------------------------------

# Backtracks exponentially in the length of the id: alternation, not a nested quantifier.
COSTLY = "(.|.)*[xy]$"


def entity_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_a_backtracking_pattern_is_a_400_and_does_not_freeze_the_process(city: City) -> None:
    slow = {
        "id": "urn:ngsi-ld:Slowpoke:" + "a" * 40,
        "type": "Slowpoke",
        "label": {"type": "Property", "value": "a" * 40},
    }
    assert city.client.post(API + "/entities", json=slow).status_code in (201, 409)
    for params in (
        {"type": "Slowpoke", "idPattern": COSTLY},
        {"type": "Slowpoke", "q": f'label~="{COSTLY}"'},
    ):
        response = city.client.get(API + "/entities", params=params)
        assert response.status_code == 400, params
        assert response.json()["type"] == ERR + "BadRequestData"
        assert "too expensive" in response.json()["detail"]
    body = {"type": "Query", "entities": [{"type": "Slowpoke", "idPattern": COSTLY}]}
    response = city.client.post(API + "/entityOperations/query", json=body)
    assert response.status_code == 400 and "too expensive" in response.json()["detail"]
    # A nested quantifier that stays cheap is no longer refused; back-references still are.
    assert entity_ids(
        city.client.get(API + "/entities", params={"type": "Slowpoke", "idPattern": "(a+)+$"})
    ) == [slow["id"]]
    refused = city.client.get(API + "/entities", params={"type": "Slowpoke", "idPattern": "(a)\\1"})
    assert refused.status_code == 400 and "back-reference" in refused.json()["detail"]


def test_id_patterns_with_optional_letters_or_alternation_find_their_entities(
    city: City,
) -> None:
    entity = {"id": "urn:ngsi-ld:PrefixBin:1", "type": "PrefixBin"}
    entity["status"] = {"type": "Property", "value": "ok"}  # type: ignore[assignment]
    assert city.client.post(API + "/entities", json=entity).status_code in (201, 409)
    for pattern in (
        "^urn:ngsi-ld:PrefixBins?:",
        "^urn:ngsi-ld:PrefixBinx*:1",
        "^urn:ngsi-ld:PrefixBinx{0,2}:1",
        "^urn:nope|PrefixBin",
        "^(?i)URN:NGSI-LD:PREFIXBIN:1",
        "^urn:ngsi-ld:PrefixBin:1",
    ):
        response = city.client.get(
            API + "/entities", params={"type": "PrefixBin", "idPattern": pattern}
        )
        assert entity_ids(response) == ["urn:ngsi-ld:PrefixBin:1"], pattern
    none = city.client.get(
        API + "/entities", params={"type": "PrefixBin", "idPattern": "^urn:ngsi-ld:PrefixBix"}
    )
    assert entity_ids(none) == []


def test_odd_numbers_and_geo_members_are_400_not_500(city: City) -> None:
    setup(city)
    for bad in ({"limit": "--5"}, {"limit": "²"}, {"offset": "²"}, {"limit": "1²"}):
        response = city.client.get(API + "/entities", params={"type": "Streetlight", **bad})
        assert response.status_code == 400, bad
        assert response.json()["type"] == ERR + "BadRequestData"
    point = [8.68, 49.4]
    for geo in (
        {"georel": 5, "geometry": "Point", "coordinates": point},
        {"georel": ["near"], "geometry": "Point", "coordinates": point},
        {"georel": "within", "geometry": 7, "coordinates": point},
        {"georel": "within", "geometry": ["Polygon"], "coordinates": point},
    ):
        body = {"type": "Query", "entities": [{"type": "Streetlight"}], "geoQ": geo}
        response = city.client.post(API + "/entityOperations/query", json=body)
        assert response.status_code == 400, geo
        assert response.json()["type"] == ERR + "BadRequestData"


def test_a_batch_item_the_database_refuses_fails_alone(city: City) -> None:
    """Two writers racing on one id: the database's unique constraint, not our check, refuses
    the second. The racing insert is made by a real INSERT just before the item's flush."""
    from sqlalchemy import event, insert

    from cityloop.platforms.data.perception.ngsild import context as contexts
    from cityloop.platforms.data.perception.ngsild.batch import batch_create
    from cityloop.platforms.data.perception.ngsild.models import NgsiEntity

    core = contexts.core()
    items = [({"id": f"urn:ngsi-ld:RaceBin:{n}", "type": "RaceBin"}, core) for n in ("a", "b", "c")]
    raced = "urn:ngsi-ld:RaceBin:b"
    with city.ctx.writing() as session:
        state = {"done": False}

        def other_writer(flushing: Any, _context: Any, _instances: Any) -> None:
            pending = [o for o in flushing.new if isinstance(o, NgsiEntity)]
            if not state["done"] and any(o.entity_id == raced for o in pending):
                state["done"] = True
                flushing.connection().execute(
                    insert(NgsiEntity).values(
                        tenant="", entity_id=raced, type="https://example.org/RaceBin"
                    )
                )

        event.listen(session, "before_flush", other_writer)
        result = batch_create(session, tenant="", items=items)
    assert state["done"]
    assert result.success == ["urn:ngsi-ld:RaceBin:a", "urn:ngsi-ld:RaceBin:c"]
    [error] = result.errors
    assert error["entityId"] == raced
    assert error["error"]["type"] == ERR + "AlreadyExists"
    for entity_id in ("urn:ngsi-ld:RaceBin:a", "urn:ngsi-ld:RaceBin:c"):
        assert city.client.get(f"{API}/entities/{entity_id}").status_code == 200
