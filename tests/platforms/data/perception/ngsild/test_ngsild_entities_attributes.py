"""NGSI-LD attributes through HTTP (ETSI GS CIM 009 v1.8): every attribute type in its three
representations, multi-attribute instances by datasetId, the NGSI-LD Null, strict payload
validation, observedAt as sent, and the Location header of non-ASCII ids."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

NULL = "urn:ngsi-ld:null"


def url(local: str) -> str:
    return f"{API}/entities/urn:ngsi-ld:Thing:{local}"


def create(city: City, local: str, expect: int = 201, **attrs: Any) -> Any:
    body = {"id": f"urn:ngsi-ld:Thing:{local}", "type": "Thing", **attrs}
    response = city.client.post(API + "/entities", json=body)
    assert response.status_code == expect, response.text
    return response


def read(city: City, local: str, **params: str) -> dict[str, Any]:
    response = city.client.get(url(local), params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refused(response: Any, member: str) -> None:
    """A 400 BadRequestData whose detail names ``member``."""
    assert response.status_code == 400, response.text
    assert error_type(response) == "BadRequestData"
    assert member in response.json()["detail"], response.json()["detail"]


def test_every_attribute_type_in_every_representation(city: City) -> None:
    """Clauses 4.5.2 to 4.5.8 (the attribute types), 4.5.4 (simplified) and the concise
    inference rules: what goes in normalized or concise comes back in all three forms."""
    create(
        city,
        "types",
        speed=55,
        area={"value": {"type": "Point", "coordinates": [1.0, 2.0]}},
        location={"type": "Point", "coordinates": [8.0, 49.0]},
        owner={"object": "urn:ngsi-ld:Person:1"},
        street={"languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
        category={"type": "VocabProperty", "vocab": "commercial"},
        raw={"json": {"speed": 3, "type": "raw", "gone": None}},
        depths={"valueList": [1.2, 3.4]},
        route={"objectList": ["urn:ngsi-ld:Road:1", {"object": "urn:ngsi-ld:Road:2"}]},
    )
    normalized = read(city, "types")
    assert normalized["speed"] == {"type": "Property", "value": 55}
    assert normalized["area"]["type"] == normalized["location"]["type"] == "GeoProperty"
    assert normalized["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Person:1"}
    assert normalized["street"]["type"] == "LanguageProperty"
    assert normalized["category"] == {"type": "VocabProperty", "vocab": "commercial"}
    # A JsonProperty's json is never expanded nor compacted, nulls included (4.5.24).
    assert normalized["raw"] == {
        "type": "JsonProperty",
        "json": {"speed": 3, "type": "raw", "gone": None},
    }
    assert normalized["depths"] == {"type": "ListProperty", "valueList": [1.2, 3.4]}
    assert normalized["route"] == {
        "type": "ListRelationship",
        "objectList": [{"object": "urn:ngsi-ld:Road:1"}, {"object": "urn:ngsi-ld:Road:2"}],
    }
    simplified = read(city, "types", options="keyValues")
    assert simplified["speed"] == 55
    assert simplified["owner"] == "urn:ngsi-ld:Person:1"
    assert simplified["street"] == {"languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}}
    assert simplified["category"] == {"vocab": "commercial"}
    assert simplified["raw"] == {"json": {"speed": 3, "type": "raw", "gone": None}}
    assert simplified["depths"] == [1.2, 3.4]
    assert simplified["route"] == ["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"]
    concise = read(city, "types", options="concise")
    assert concise["speed"] == 55
    assert concise["location"] == {"type": "Point", "coordinates": [8.0, 49.0]}
    assert concise["owner"] == {"object": "urn:ngsi-ld:Person:1"}
    assert concise["category"] == {"vocab": "commercial"}
    # What concise gives back creates the same entity again.
    again = {k: v for k, v in concise.items() if k not in ("id", "type")}
    create(city, "types-again", **again)
    assert read(city, "types-again") == {**normalized, "id": "urn:ngsi-ld:Thing:types-again"}


def test_vocab_terms_follow_the_context(city: City) -> None:
    """Clause 4.5.20: a VocabProperty's terms are expanded on the way in and compacted under
    the reader's @context on the way out."""
    create(city, "vocab", category={"type": "VocabProperty", "vocab": ["commercial", "urban"]})
    core = read(city, "vocab")["category"]["vocab"]
    assert core == ["commercial", "urban"]
    ld = city.client.get(url("vocab"), headers={"Accept": "application/ld+json"})
    assert ld.json()["category"]["vocab"] == ["commercial", "urban"]


@pytest.mark.parametrize(
    ("attribute", "member"),
    [
        # Clause 4.5.2: a Property has no object, languageMap or valueList.
        ({"type": "Property", "value": 1, "object": "urn:ngsi-ld:X:1"}, "object"),
        ({"type": "Property", "value": 1, "languageMap": {"en": "x"}}, "languageMap"),
        ({"type": "Property", "value": 1, "previousValue": 0}, "previousValue"),
        # Clause 4.5.3: a Relationship needs an object URI and has no unitCode or value.
        ({"type": "Relationship"}, "object"),
        ({"type": "Relationship", "object": "urn:ngsi-ld:X:1", "unitCode": "MTR"}, "unitCode"),
        ({"type": "Relationship", "object": "urn:ngsi-ld:X:1", "value": 4}, "value"),
        ({"type": "Relationship", "object": "not a uri"}, "object"),
        # Clause 4.5.24: a JsonProperty's json is an object or array; no unitCode or value.
        ({"type": "JsonProperty", "json": 5}, "json"),
        ({"type": "JsonProperty", "json": {"a": 1}, "unitCode": "MTR"}, "unitCode"),
        ({"type": "ListProperty", "valueList": [1], "value": 3}, "value"),
        ({"type": "ListRelationship", "objectList": ["not a uri"]}, "objectList"),
        # Clause 4.5.18 and 5.2.32: language tags and strings only; valueType langString.
        ({"type": "LanguageProperty", "languageMap": {"": "x"}}, "languageMap"),
        ({"type": "LanguageProperty", "languageMap": {"en": 5}}, "languageMap"),
        ({"type": "LanguageProperty", "languageMap": {"en": "x"}, "valueType": "x"}, "valueType"),
        # Clause 4.7: a GeoProperty holds a GeoJSON geometry other than GeometryCollection.
        ({"type": "GeoProperty", "value": {"type": "GeometryCollection"}}, "value"),
        ({"type": "GeoProperty", "value": 3}, "value"),
        # Clause 4.6.3: timestamps are UTC and end in Z.
        ({"type": "Property", "value": 1, "observedAt": "2026-08-10T12:00:00+02:00"}, "observedAt"),
        ({"type": "Property", "value": 1, "observedAt": "yesterday"}, "observedAt"),
        ({"type": "Property", "value": 1, "unitCode": None}, "unitCode"),
        ({"type": "Property", "value": 1, "datasetId": "no uri"}, "datasetId"),
        # Clause 5.5.4: the NGSI-LD Null is not a value that can be created.
        ({"type": "Property", "value": NULL}, "value"),
        ({"type": "Relationship", "object": NULL}, "object"),
        ({"type": "Property", "value": {"geo": {"country": NULL}}}, "country"),
        ({"type": "LanguageProperty", "languageMap": {"@none": NULL}}, "languageMap"),
        ({"type": "Property", "value": 1, "sub": {"type": "Property", "value": NULL}}, "sub"),
    ],
)
def test_invalid_members_are_refused_by_name(
    city: City, attribute: dict[str, Any], member: str
) -> None:
    """Bad member types, nulls and member combinations: 400 BadRequestData naming the member,
    and nothing created."""
    refused(
        city.client.post(
            API + "/entities",
            json={"id": "urn:ngsi-ld:Thing:bad", "type": "Thing", "attr": attribute},
        ),
        member,
    )
    assert city.client.get(url("bad")).status_code == 404


def test_invalid_names_and_ids_are_refused(city: City) -> None:
    """Clause 4.5.1 (ids are URIs; core terms name no attribute), 4.6.2 (names), RFC 3987
    (invisible and bidirectional-control characters are no part of an identifying IRI), and
    6.3.5 (no Link header with a JSON-LD body)."""
    base = {"type": "Thing"}
    both = city.client.post(
        API + "/entities",
        content=b'{"id": "urn:ngsi-ld:Thing:ld", "type": "Thing", "@context": []}',
        headers={
            "Content-Type": "application/ld+json",
            "Link": '<https://example.org/c.jsonld>; rel="http://www.w3.org/ns/json-ld#context"',
        },
    )
    refused(both, "Link")

    for bad_id in ("urn:ngsi-ld:Thing:A\u202eB", "urn:ngsi-ld:Thing:A\u200bB", NULL, "nope"):
        refused(city.client.post(API + "/entities", json={**base, "id": bad_id}), "id")
    refused(
        city.client.post(API + "/entities", json={"id": "urn:ngsi-ld:Thing:n", "type": "1Thing"}),
        "1Thing",
    )
    refused(
        city.client.post(
            API + "/entities",
            json={"id": "urn:ngsi-ld:Thing:n", "type": "Thing", "instanceId": {"value": 1}},
        ),
        "instanceId",
    )


def test_non_ascii_ids_get_a_percent_encoded_location(city: City) -> None:
    """Clause 6.3.5 / RFC 3987 §3.1: the Location of an IRI id is a URI, with the UTF-8 of
    the non-ASCII characters percent-encoded; reading it back finds the entity."""
    response = create(city, "Zürich-Straße")
    location = response.headers["Location"]
    assert location == API + "/entities/urn:ngsi-ld:Thing:Z%C3%BCrich-Stra%C3%9Fe"
    assert city.client.get(location).json()["id"] == "urn:ngsi-ld:Thing:Zürich-Straße"
    # A trailing slash on the collection still creates (the empty-id 400 is for paths below it).
    slash = city.client.post(
        API + "/entities/", json={"id": "urn:ngsi-ld:Thing:sl", "type": "Thing"}
    )
    assert slash.status_code == 201, slash.text


def test_observed_at_comes_back_as_sent(city: City) -> None:
    """Clause 4.8: observedAt with milliseconds keeps them, unchanged, through writes."""
    create(city, "ms", t={"type": "Property", "value": 1, "observedAt": "2026-03-14T13:00:00.120Z"})
    assert read(city, "ms")["t"]["observedAt"] == "2026-03-14T13:00:00.120Z"
    patched = city.client.patch(
        url("ms") + "/attrs/t", json={"observedAt": "2026-03-14T13:00:01.000Z"}
    )
    assert patched.status_code == 204, patched.text
    assert read(city, "ms")["t"] == {
        "type": "Property",
        "value": 1,
        "observedAt": "2026-03-14T13:00:01.000Z",
    }


def speed(value: float, dataset: str | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {"type": "Property", "value": value}
    if dataset:
        instance["datasetId"] = f"urn:ngsi-ld:Dataset:{dataset}"
    return instance


def by_dataset(attribute: Any) -> dict[str | None, Any]:
    instances = attribute if isinstance(attribute, list) else [attribute]
    return {
        i.get("datasetId", "").removeprefix("urn:ngsi-ld:Dataset:") or None: i["value"]
        for i in instances
    }


def test_multi_attribute_instances(city: City) -> None:
    """Clause 4.5.5: instances are told apart by datasetId (none: the default instance); append
    (5.6.3), update (5.6.2), partial update (5.6.4), replace (5.6.19) and delete (5.6.5) act
    on one instance; deleteAll on all."""
    create(city, "multi", speed=[speed(1), speed(2, "gps")])
    refused(
        city.client.post(
            API + "/entities",
            json={
                "id": "urn:ngsi-ld:Thing:dup",
                "type": "Thing",
                "speed": [speed(1, "a"), speed(2, "a")],
            },
        ),
        "datasetId",
    )
    # "@none" names the default instance, which then carries no datasetId.
    create(city, "none", speed=[{**speed(5), "datasetId": "@none"}, speed(6, "gps")])
    assert by_dataset(read(city, "none")["speed"]) == {None: 5, "gps": 6}
    # Append: a new datasetId adds an instance; noOverwrite skips one that exists (207).
    appended = city.client.post(url("multi") + "/attrs", json={"speed": speed(3, "radar")})
    assert appended.status_code == 204, appended.text
    skipped = city.client.post(
        url("multi") + "/attrs",
        params={"options": "noOverwrite"},
        json={"speed": speed(9, "gps"), "extra": 1},
    )
    assert skipped.status_code == 207
    assert skipped.json()["updated"] == ["extra"]
    assert skipped.json()["notUpdated"][0]["attributeName"] == "speed"
    assert by_dataset(read(city, "multi")["speed"]) == {None: 1, "gps": 2, "radar": 3}
    # Update: only existing instances; a missing one is reported.
    updated = city.client.patch(
        url("multi") + "/attrs", json={"speed": [speed(20, "gps"), speed(0, "lidar")]}
    )
    assert updated.status_code == 207
    assert by_dataset(read(city, "multi")["speed"]) == {None: 1, "gps": 20, "radar": 3}
    # Partial update and replace of one instance, by the body's datasetId.
    patch = city.client.patch(
        url("multi") + "/attrs/speed", json={"value": 21, "datasetId": "urn:ngsi-ld:Dataset:gps"}
    )
    assert patch.status_code == 204, patch.text
    put = city.client.put(url("multi") + "/attrs/speed", json={"type": "Property", "value": 10})
    assert put.status_code == 204, put.text
    assert by_dataset(read(city, "multi")["speed"]) == {None: 10, "gps": 21, "radar": 3}
    missing = city.client.patch(
        url("multi") + "/attrs/speed", json={"value": 1, "datasetId": "urn:ngsi-ld:Dataset:x"}
    )
    assert missing.status_code == 404
    wrong_type = city.client.patch(url("multi") + "/attrs/speed", json={"type": "Relationship"})
    refused(wrong_type, "type")
    # Clause 5.5.8: a datasetId cannot be deleted with the NGSI-LD Null.
    refused(city.client.patch(url("multi") + "/attrs/speed", json={"datasetId": NULL}), "datasetId")
    # Delete one instance, then the default one, then all.
    deleted = city.client.delete(
        url("multi") + "/attrs/speed", params={"datasetId": "urn:ngsi-ld:Dataset:radar"}
    )
    assert deleted.status_code == 204
    assert city.client.delete(url("multi") + "/attrs/speed").status_code == 204
    # One instance left: rendered as an object, no longer a list.
    assert read(city, "multi")["speed"] == {**speed(21, "gps")}
    assert city.client.delete(url("multi") + "/attrs/speed").status_code == 404
    everything = city.client.delete(url("multi") + "/attrs/speed", params={"deleteAll": "true"})
    assert everything.status_code == 204
    assert "speed" not in read(city, "multi")


def test_ngsi_ld_null_deletes_in_updates(city: City) -> None:
    """Clause 5.5.4 with 5.6.2 and 5.6.4: in an update the NGSI-LD Null deletes the instance
    (or the sub-attribute) it stands for; inside a compound value it is still refused."""
    create(
        city,
        "null",
        name=[{"type": "Property", "value": "a"}, {**speed(2, "two"), "value": "b"}],
        street={
            "type": "LanguageProperty",
            "languageMap": {"en": "x"},
            "note": {"type": "Property", "value": "n"},
        },
        owner={"type": "Relationship", "object": "urn:ngsi-ld:Person:1"},
    )
    gone = city.client.patch(
        url("null") + "/attrs",
        json={"owner": {"type": "Relationship", "object": NULL}},
    )
    assert gone.status_code == 204, gone.text
    one = city.client.patch(
        url("null") + "/attrs/name",
        json={"type": "Property", "value": NULL, "datasetId": "urn:ngsi-ld:Dataset:two"},
    )
    assert one.status_code == 204, one.text
    sub = city.client.patch(url("null") + "/attrs/street", json={"note": {"value": NULL}})
    assert sub.status_code == 204, sub.text
    entity = read(city, "null")
    assert "owner" not in entity
    assert entity["name"] == {"type": "Property", "value": "a"}
    assert entity["street"] == {"type": "LanguageProperty", "languageMap": {"en": "x"}}
    lang = city.client.patch(url("null") + "/attrs/street", json={"languageMap": {"@none": NULL}})
    assert lang.status_code == 204
    assert "street" not in read(city, "null")
    refused(
        city.client.patch(url("null") + "/attrs/name", json={"value": {"city": NULL}}),
        "city",
    )


def test_scope_types_and_type_selector_through_attribute_operations(city: City) -> None:
    """Clauses 4.16 and 4.18 (types and scope written with the attributes) and 4.17 (the
    ``type`` selector: an entity not of that type is not found)."""
    create(city, "scoped", scope="/Madrid", name="x")
    assert (
        city.client.post(
            url("scoped") + "/attrs", params={"options": "noOverwrite"}, json={"scope": "/Gardens"}
        ).status_code
        == 204
    )
    assert read(city, "scoped")["scope"] == ["/Madrid", "/Gardens"]
    assert city.client.patch(url("scoped") + "/attrs", json={"type": "Place"}).status_code == 204
    assert read(city, "scoped")["type"] == ["Thing", "Place"]
    refused(city.client.patch(url("scoped") + "/attrs/scope", json={"value": "/B"}), "scope")
    assert city.client.delete(url("scoped") + "/attrs/scope").status_code == 204
    assert "scope" not in read(city, "scoped")
    wrong = city.client.patch(
        url("scoped") + "/attrs", params={"type": "Vehicle"}, json={"name": "y"}
    )
    assert wrong.status_code == 404
    right = city.client.patch(
        url("scoped") + "/attrs", params={"type": "Place"}, json={"name": "y"}
    )
    assert right.status_code == 204
    assert city.client.delete(url("scoped"), params={"type": "Vehicle"}).status_code == 404
    empty = city.client.patch(API + "/entities//attrs", json={"name": "z"})
    refused(empty, "entity id")
