"""NGSI-LD temporal provision edges (ETSI GS CIM 009 v1.8): deletion instances and instances
resent at the same time in an upsert (5.6.11, 4.5.7), and paths with an empty entity id, an
empty attribute name or a dot segment for a name (5.6.12-5.6.15, 4.6.2)."""

from __future__ import annotations

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TEMPORAL = API + "/temporal/entities"


def speed(value: object, moment: str) -> dict[str, object]:
    return {"type": "Property", "value": value, "observedAt": moment}


def test_an_upsert_takes_a_deletion_instance_and_unions_types(city: City) -> None:
    """5.6.11.4 with 4.5.7: a second upsert adds a new type and a deletion instance (the
    NGSI-LD Null), which reads back with deletedAt and leaves the attribute out of the current
    state."""
    entity = "urn:ngsi-ld:Scooter:upsert"
    first = {"id": entity, "type": "Scooter", "speed": [speed(1, "2026-01-01T00:00:00Z")]}
    assert city.client.post(TEMPORAL, json=first).status_code == 201
    second = {
        "id": entity,
        "type": ["Scooter", "Moped"],
        "speed": [speed("urn:ngsi-ld:null", "2026-01-02T00:00:00Z")],
    }
    response = city.client.post(TEMPORAL, json=second)
    assert response.status_code == 204, response.text
    body = city.client.get(f"{TEMPORAL}/{entity}").json()
    assert body["type"] == ["Scooter", "Moped"]
    assert [i["value"] for i in body["speed"]] == [1, "urn:ngsi-ld:null"]
    assert "deletedAt" in body["speed"][1]
    assert "deletedAt" not in body["speed"][0]


def test_a_deletion_instance_alone_leaves_the_entity_without_the_attribute(city: City) -> None:
    """4.5.7: a history that ends in a deletion gives a current state without the attribute."""
    entity = "urn:ngsi-ld:Scooter:gone"
    body = {
        "id": entity,
        "type": "Scooter",
        "speed": [
            speed(3, "2026-01-01T00:00:00Z"),
            speed("urn:ngsi-ld:null", "2026-01-02T00:00:00Z"),
        ],
    }
    assert city.client.post(TEMPORAL, json=body).status_code == 201
    assert "speed" not in city.client.get(f"{API}/entities/{entity}").json()


def test_an_instance_resent_at_the_same_time_replaces_the_stored_one(city: City) -> None:
    """5.6.11: updating a temporal representation with an instance at the time (and datasetId)
    of a stored one keeps one instance there, with the new value."""
    entity = "urn:ngsi-ld:Scooter:resent"
    moment = "2020-09-01T12:03:00Z"
    first = {"id": entity, "type": "Scooter", "speed": [speed(120, moment)]}
    assert city.client.post(TEMPORAL, json=first).status_code == 201
    again = {
        "id": entity,
        "type": "Scooter",
        "speed": [speed(121, moment), speed(80, "2020-09-01T12:05:00Z")],
    }
    assert city.client.post(TEMPORAL, json=again).status_code == 204
    appended = city.client.post(f"{TEMPORAL}/{entity}/attrs", json={"speed": [speed(122, moment)]})
    assert appended.status_code == 204, appended.text
    got = city.client.get(f"{TEMPORAL}/{entity}").json()
    assert [i["value"] for i in got["speed"]] == [122, 80]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/temporal/entities//attrs"),
        ("DELETE", "/temporal/entities//attrs/speed"),
        ("PATCH", "/temporal/entities//attrs/speed/urn:ngsi-ld:Instance:1"),
        ("DELETE", "/temporal/entities//attrs/speed/urn:ngsi-ld:Instance:1"),
        ("DELETE", "/temporal/entities/urn:ngsi-ld:Scooter:x/attrs//urn:ngsi-ld:Instance:1"),
        ("DELETE", "/temporal/entities/urn:ngsi-ld:Scooter:x/attrs/%2e%2e"),
        ("DELETE", "/temporal/entities/urn:ngsi-ld:Scooter:x/attrs/%252e%252e"),
        ("DELETE", "/temporal/entities/urn:ngsi-ld:Scooter:x/attrs/%2e"),
    ],
)
def test_an_empty_id_or_name_or_a_dot_segment_in_the_path_is_bad_request_data(
    city: City, method: str, path: str
) -> None:
    """5.6.12-5.6.15: an entity id that is no URI and an attribute name that is not a name
    (4.6.2: it starts with a letter, so '.' and '..' are none) are 400 BadRequestData."""
    response = city.client.request(
        method, API + path, json={"speed": [speed(1, "2026-01-01T00:00:00Z")]}
    )
    assert response.status_code == 400, response.text
    assert error_type(response) == "BadRequestData"
    # With the parameters the operation takes, the path is still what the answer names.
    response = city.client.request(method, API + path, params={"deleteAll": "false"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_patching_an_attribute_without_an_instance_id_is_method_not_allowed(city: City) -> None:
    """6.21: /temporal/entities/{id}/attrs/{attr} allows only DELETE; a PATCH needs the
    instanceId after it."""
    path = f"{TEMPORAL}/urn:ngsi-ld:Scooter:x/attrs/speed/"
    response = city.client.patch(path, json=speed(1, "2026-01-01T00:00:00Z"))
    assert response.status_code == 405, response.text
    assert error_type(response) == "MethodNotAllowed"
