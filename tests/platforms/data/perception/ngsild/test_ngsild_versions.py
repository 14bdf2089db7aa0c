"""Version preference (ETSI GS CIM 009 4.3.6.8, RFC 7240): Prefer: ngsi-ld=<version> is
honoured, named in Preference-Applied, and entity data reformats the attribute types the
preferred version lacks (Table 4.3.6.8-1), answering 203 when it altered the payload."""

from __future__ import annotations

import uuid

import pytest

from cityloop.platforms.data.perception.ngsild.versions import (
    downgrade,
    preferred_version,
    prefers_body_json,
)
from tests.support.city import City
from tests.support.ngsild import API

pytestmark = pytest.mark.usefixtures("ngsild_credentials")


@pytest.mark.parametrize(
    ("prefer", "version"),
    [
        ("ngsi-ld=1.0", "1.0"),
        ("NGSI-LD=1.0", "1.0"),
        ("Ngsi-Ld=1.5", "1.5"),
        ('ngsi-ld="1.0"', "1.0"),
        ("ngsi-ld=1.0;q=0.1", "1.0"),
        ("respond-async, ngsi-ld=1.7", "1.7"),
        ("respond-async", None),
        ("ngsi-ld=latest", None),
        ("ngsi-ld", None),
        (None, None),
    ],
)
def test_the_version_preference_is_read_as_rfc_7240_writes_it(
    prefer: str | None, version: str | None
) -> None:
    assert preferred_version(prefer) == version


def test_attribute_types_newer_than_the_preferred_version_fall_back() -> None:
    entity = {
        "id": "urn:ngsi-ld:Building:v",
        "type": "Building",
        "category": {"type": "VocabProperty", "vocab": "monument"},
        "owners": {
            "type": "ListRelationship",
            "objectList": [{"object": "urn:a"}, {"object": "urn:b"}],
        },
        "name": {"type": "LanguageProperty", "languageMap": {"en": "Tower"}},
        "height": {"type": "Property", "value": 300},
    }
    old, altered = downgrade(entity, "1.5")
    assert altered
    assert old["category"] == {"type": "Property", "value": "monument"}
    assert old["owners"] == {"type": "Relationship", "object": ["urn:a", "urn:b"]}
    assert old["name"]["type"] == "LanguageProperty"  # 1.4 had it already
    assert old["height"] == entity["height"]
    assert downgrade(entity, "1.3")[0]["name"] == {"type": "Property", "value": {"en": "Tower"}}
    assert downgrade(entity, "1.8") == (entity, False)


def test_an_entity_read_preferring_an_earlier_version_is_reformatted_with_203(
    city: City,
) -> None:
    entity_id = f"urn:ngsi-ld:Building:v{uuid.uuid4().hex[:8]}"
    body = {
        "id": entity_id,
        "type": "Building",
        "category": {"type": "VocabProperty", "vocab": "monument"},
    }
    assert city.client.post(API + "/entities", json=body).status_code == 201
    old = city.client.get(API + f"/entities/{entity_id}", headers={"Prefer": "ngsi-ld=1.5"})
    assert old.status_code == 203
    assert old.headers["Preference-Applied"] == "ngsi-ld=1.5"
    assert old.json()["category"] == {"type": "Property", "value": "monument"}
    native = city.client.get(API + f"/entities/{entity_id}", headers={"Prefer": "ngsi-ld=1.9"})
    assert native.status_code == 200
    assert native.headers["Preference-Applied"] == "ngsi-ld=1.9"
    assert native.json()["category"]["type"] == "VocabProperty"
    listed = city.client.get(
        API + "/entities", params={"type": "Building"}, headers={"Prefer": "ngsi-ld=1.5"}
    )
    assert listed.status_code == 203
    plain = city.client.get(API + f"/entities/{entity_id}")
    assert plain.status_code == 200 and "Preference-Applied" not in plain.headers


def test_a_subscription_is_returned_unaltered_under_any_version(city: City) -> None:
    """4.3.6.8's fallbacks cover entity data only."""
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"attributes": ["height"], "endpoint": {"uri": "http://127.0.0.1:9/n"}},
    }
    created = city.client.post(API + "/subscriptions", json=body)
    assert created.status_code == 201, created.text
    answer = city.client.get(created.headers["Location"], headers={"Prefer": "NGSI-LD=1.0"})
    assert answer.status_code == 200
    assert answer.headers["Preference-Applied"] == "ngsi-ld=1.0"
    assert answer.json()["notification"]["attributes"] == ["height"]
    city.client.delete(created.headers["Location"])


def test_prefer_body_json_moves_a_geojson_answers_context_to_a_link_header(city: City) -> None:
    """6.3.6: with Prefer body=json the GeoJSON body has no @context; the Link header names it."""
    headers = {"Accept": "application/geo+json"}
    plain = city.client.get(API + "/entities", params={"type": "Building"}, headers=headers)
    assert "@context" in plain.json()
    answer = city.client.get(
        API + "/entities",
        params={"type": "Building"},
        headers={**headers, "Prefer": "respond-async, body=json"},
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/geo+json")
    assert "@context" not in answer.json()
    assert "json-ld#context" in answer.headers["Link"]
    assert prefers_body_json('Body="JSON"') and not prefers_body_json("body=ld")
