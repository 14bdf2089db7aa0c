"""Merge Entity (CIM 009 5.6.17, 6.5.3.4) and Batch Entity Merge (5.6.20, 6.31) through HTTP:
the NGSI-LD Null, instance and sub-attribute merges, keyValues input, merge-patch+json."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

NULL = "urn:ngsi-ld:null"


def building(n: str, **attrs: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Building:m{n}",
        "type": "Building",
        "name": {"type": "Property", "value": "Town hall"},
        "airQualityLevel": {
            "type": "Property",
            "value": 4,
            "unitCode": "C62",
            "observedAt": "2026-01-01T00:00:00Z",
            "reliability": {"type": "Property", "value": 0.9},
            "source": {"type": "Property", "value": "sensor"},
        },
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:p1"},
        "street": {"type": "LanguageProperty", "languageMap": {"en": "Main St", "fr": "Rue"}},
        **attrs,
    }


def make(city: City, entity: dict[str, Any]) -> str:
    assert city.client.post(API + "/entities", json=entity).status_code == 201
    return str(entity["id"])


def read(city: City, entity_id: str) -> dict[str, Any]:
    response = city.client.get(f"{API}/entities/{entity_id}")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def merge(city: City, entity_id: str, body: Any, **kwargs: Any) -> Any:
    return city.client.patch(f"{API}/entities/{entity_id}", json=body, **kwargs)


def test_merge_adds_and_merges_keeping_members_not_given(city: City) -> None:
    """5.6.17.4: new attributes are added; an existing instance keeps the members (unitCode,
    sub-attributes) the fragment does not give, and takes those it gives."""
    entity_id = make(city, building("1"))
    fragment = {
        "airQualityLevel": {"type": "Property", "value": 1, "observedAt": "2026-02-01T00:00:00Z"},
        "height": {"type": "Property", "value": 30},
    }
    assert merge(city, entity_id, fragment).status_code == 204
    entity = read(city, entity_id)
    level = entity["airQualityLevel"]
    assert level["value"] == 1 and level["unitCode"] == "C62"
    assert level["observedAt"] == "2026-02-01T00:00:00Z"
    assert level["reliability"]["value"] == 0.9
    assert entity["height"]["value"] == 30 and entity["name"]["value"] == "Town hall"
    # An empty fragment (id and type only) changes nothing and is no error.
    assert merge(city, entity_id, {"id": entity_id, "type": "Building"}).status_code == 204


def test_the_ngsi_ld_null_deletes_attributes_and_sub_attributes(city: City) -> None:
    """4.5.5 / 5.6.17.4: urn:ngsi-ld:null in the content member of any attribute type, or as
    a concise value, deletes it; inside an attribute it deletes a sub-attribute."""
    entity_id = make(city, building("2"))
    fragment = {
        "name": {"type": "Property", "value": NULL},
        "owner": {"type": "Relationship", "object": NULL},
        "street": {"type": "LanguageProperty", "languageMap": {"@none": NULL}},
        "airQualityLevel": {"value": 5, "reliability": NULL, "source": {"value": NULL}},
    }
    assert merge(city, entity_id, fragment).status_code == 204
    entity = read(city, entity_id)
    assert not {"name", "owner", "street"} & set(entity)
    assert entity["airQualityLevel"]["value"] == 5
    assert not {"reliability", "source"} & set(entity["airQualityLevel"])
    assert NULL not in str(entity)
    assert merge(city, entity_id, {"airQualityLevel": NULL}).status_code == 204
    assert "airQualityLevel" not in read(city, entity_id)


def test_dataset_instances_merge_and_delete_one_by_one(city: City) -> None:
    """4.5.5: the fragment's datasetId picks the instance merged into or (Null) deleted."""
    entity_id = make(
        city,
        building(
            "3",
            speed=[
                {"type": "Property", "value": 10},
                {"type": "Property", "value": 20, "datasetId": "urn:ngsi-ld:Dataset:a"},
            ],
        ),
    )
    fragment = {
        "speed": [
            {"type": "Property", "value": 21, "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": 30, "datasetId": "urn:ngsi-ld:Dataset:b"},
        ]
    }
    assert merge(city, entity_id, fragment).status_code == 204
    speeds = {i.get("datasetId"): i["value"] for i in read(city, entity_id)["speed"]}
    assert speeds == {None: 10, "urn:ngsi-ld:Dataset:a": 21, "urn:ngsi-ld:Dataset:b": 30}
    # Null without a datasetId deletes the default instance only.
    assert merge(city, entity_id, {"speed": {"type": "Property", "value": NULL}}).status_code == 204
    null_b = {"type": "Property", "value": NULL, "datasetId": "urn:ngsi-ld:Dataset:b"}
    assert merge(city, entity_id, {"speed": null_b}).status_code == 204
    # One instance left: it is an object again, not a list of one.
    assert read(city, entity_id)["speed"] == {
        "type": "Property",
        "value": 21,
        "datasetId": "urn:ngsi-ld:Dataset:a",
    }


def test_key_values_input_replaces_content_members(city: City) -> None:
    """6.5.3.4 options=keyValues: bare values replace the content of the existing attribute
    (its other members kept) or become new Properties."""
    entity_id = make(city, building("4"))
    response = merge(
        city,
        entity_id,
        {"airQualityLevel": 2, "owner": "urn:ngsi-ld:Person:p2", "floors": 3, "name": NULL},
        params={"options": "keyValues"},
    )
    assert response.status_code == 204
    entity = read(city, entity_id)
    assert entity["airQualityLevel"]["value"] == 2 and entity["airQualityLevel"]["unitCode"]
    assert entity["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Person:p2"}
    assert entity["floors"] == {"type": "Property", "value": 3} and "name" not in entity


def test_merge_members_types_scope_and_errors(city: City) -> None:
    """5.6.17.4: types given are added; 6.5.3.4 errors: a bad id is 400, a missing entity 404,
    a body id differing from the path 400, bad content 400 naming the attribute."""
    entity_id = make(city, building("5"))
    body = {"type": "Landmark", "scope": "/city/centre"}
    assert merge(city, entity_id, body).status_code == 204
    entity = read(city, entity_id)
    assert entity["type"] == ["Building", "Landmark"] and entity["scope"] == "/city/centre"
    assert merge(city, "not-a-uri", {"a": 1}).status_code == 400
    missing = merge(city, "urn:ngsi-ld:Building:none", {"a": 1})
    assert missing.status_code == 404 and error_type(missing) == "ResourceNotFound"
    other = merge(city, entity_id, {"id": "urn:ngsi-ld:Building:other"})
    assert other.status_code == 400 and "id" in other.json()["detail"]
    geo = merge(city, entity_id, {"location": {"type": "GeoProperty", "value": {"x": 1}}})
    assert geo.status_code == 400 and error_type(geo) == "BadRequestData"
    assert merge(city, entity_id, [1]).status_code == 400
    no_id = city.client.patch(API + "/entities/", json={"a": 1})
    assert no_id.status_code == 400 and error_type(no_id) == "BadRequestData"


def test_merge_checks_scope_as_creation_does_and_the_null_removes_it(city: City) -> None:
    """4.18: a merged scope follows the grammar creation checks (levels of a letter, then
    letters, digits or "_"); 5.6.17.4: the NGSI-LD Null removes the scope."""
    entity_id = make(city, building("scope", scope="/city/north"))
    for bad in ("/city/1st", "/", "/city/", "/city district", [], ["/ok", 7]):
        refused = merge(city, entity_id, {"scope": bad})
        assert refused.status_code == 400 and error_type(refused) == "BadRequestData", bad
        assert "scope" in refused.json()["detail"]
    assert read(city, entity_id)["scope"] == "/city/north"
    assert merge(city, entity_id, {"scope": ["/city/south", "/water"]}).status_code == 204
    assert read(city, entity_id)["scope"] == ["/city/south", "/water"]
    assert merge(city, entity_id, {"scope": NULL}).status_code == 204
    assert "scope" not in read(city, entity_id)


def test_merge_patch_json_is_accepted_on_patch_only(city: City) -> None:
    """6.3.4: application/merge-patch+json is accepted on PATCH (entity and attribute) and
    read like application/json; other methods answer 415."""
    entity_id = make(city, building("6"))
    headers = {"Content-Type": "application/merge-patch+json"}
    body = '{"height": {"type": "Property", "value": 12}}'
    assert merge(city, entity_id, None, content=body, headers=headers).status_code == 204
    patched = city.client.patch(
        f"{API}/entities/{entity_id}/attrs/height", content='{"value": 13}', headers=headers
    )
    assert patched.status_code == 204 and read(city, entity_id)["height"]["value"] == 13
    refused = city.client.post(
        API + "/entities", content='{"id": "urn:x:m6b", "type": "T"}', headers=headers
    )
    assert refused.status_code == 415 and error_type(refused) == "UnsupportedMediaType"


def test_routes_answer_with_a_trailing_slash(city: City) -> None:
    """A trailing slash serves the same route (no 307 that clients would not follow)."""
    entity = building("7")
    created = city.client.post(API + "/entities/", json=entity, follow_redirects=False)
    assert created.status_code == 201
    merged = city.client.patch(
        f"{API}/entities/{entity['id']}/", json={"floors": 2}, follow_redirects=False
    )
    assert merged.status_code == 204
    listed = city.client.get(API + "/entities/", params={"type": "Building"})
    assert listed.status_code == 200 and entity["id"] in [e["id"] for e in listed.json()]


def test_batch_merge(city: City) -> None:
    """5.6.20: each fragment merged as in 5.6.17; all merged is 204, a missing entity makes a
    207 BatchOperationResult naming it as ResourceNotFound."""
    first, second = make(city, building("8a")), make(city, building("8b"))
    fragments = [
        {"id": first, "type": "Building", "name": NULL, "floors": {"type": "Property", "value": 1}},
        {"id": second, "type": "Building", "floors": {"type": "Property", "value": 2}},
    ]
    done = city.client.post(API + "/entityOperations/merge", json=fragments)
    assert done.status_code == 204 and not done.content
    assert "name" not in read(city, first) and read(city, second)["floors"]["value"] == 2
    missing = "urn:ngsi-ld:Building:m8none"
    partly = city.client.post(
        API + "/entityOperations/merge", json=[fragments[1], {"id": missing, "floors": 3}]
    )
    assert partly.status_code == 207
    result = partly.json()
    assert result["success"] == [second]
    assert result["errors"][0]["entityId"] == missing
    assert result["errors"][0]["error"]["type"].endswith("ResourceNotFound")
