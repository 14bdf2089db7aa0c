"""What NGSI-LD notifications say about deletions, over HTTP (ETSI GS CIM 009 5.8.6, 4.5.5):
one attribute instance deleted by datasetId is an attributeDeleted, a deleted entity keeps its
stamps under sysAttrs, previous vocab values read as the subscriber's terms; and a q with a
linked-entity subquery (4.9) selects through the related entity."""

from __future__ import annotations

import uuid
from typing import Any

from tests.platforms.data.perception.ngsild.test_ngsild_subscriptions import (
    call,
    clean,  # noqa: F401 (the autouse fixture: each test sees only its own subscriptions)
    queued,
    subscribe,
    target,
)
from tests.support.city import City

NULL = "urn:ngsi-ld:null"
FRENCH = "urn:ngsi-ld:Dataset:french"
GERMAN = "urn:ngsi-ld:Dataset:german"


def kind() -> str:
    """A type of its own per test, so the tests' entities never meet."""
    return f"Tower{uuid.uuid4().hex[:8]}"


def tower(btype: str, local: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:{btype}:{local}",
        "type": btype,
        "name": [
            {"type": "Property", "value": "Eiffel Tower"},
            {"type": "Property", "value": "Tour Eiffel", "datasetId": FRENCH},
            {"type": "Property", "value": "Eiffelturm", "datasetId": GERMAN},
        ],
        **extra,
    }


def data(city: City, sid: str) -> list[list[dict[str, Any]]]:
    return [n["body"]["data"] for n in queued(city, sid)]


def watching_name(city: City, btype: str, trigger: str, **notification: Any) -> str:
    return subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "watchedAttributes": ["name"],
            "notificationTrigger": [trigger],
            "notification": {**target(), **notification},
        },
    )


def test_deleting_one_instance_by_dataset_id_is_an_attribute_deletion(city: City) -> None:
    """5.8.6 with 4.5.5: the deleted instance is notified as Null under its datasetId, beside
    the instances the attribute keeps; it is no attributeUpdated."""
    btype = kind()
    deleted = watching_name(city, btype, "attributeDeleted")
    simplified = watching_name(city, btype, "attributeDeleted", format="keyValues")
    updated = watching_name(city, btype, "attributeUpdated")
    entity = tower(btype, "d1")
    call(city, "POST", "/entities", entity, 201)
    city.drain()
    path = f"/entities/{entity['id']}/attrs/name?datasetId={FRENCH}"
    call(city, "DELETE", path, expect=204)
    ((notified,),) = data(city, deleted)
    assert notified["name"] == [
        {"type": "Property", "value": "Eiffel Tower"},
        {"type": "Property", "value": "Eiffelturm", "datasetId": GERMAN},
        {"type": "Property", "value": NULL, "datasetId": FRENCH},
    ]
    ((simple,),) = data(city, simplified)
    assert simple["name"] == {
        "dataset": {"@none": "Eiffel Tower", GERMAN: "Eiffelturm", FRENCH: NULL}
    }
    assert data(city, updated) == []


def test_deleting_the_default_instance_leaves_the_datasets_and_is_notified(city: City) -> None:
    btype = kind()
    deleted = watching_name(city, btype, "attributeDeleted", sysAttrs=True)
    entity = tower(btype, "d2")
    call(city, "POST", "/entities", entity, 201)
    city.drain()
    call(city, "DELETE", f"/entities/{entity['id']}/attrs/name", expect=204)
    ((notified,),) = data(city, deleted)
    *kept, marker = notified["name"]
    assert [i["value"] for i in kept] == ["Tour Eiffel", "Eiffelturm"]
    assert marker["value"] == NULL and "datasetId" not in marker
    assert marker["deletedAt"] and marker["createdAt"]


def test_a_deleted_entity_keeps_its_stamps_with_sys_attrs(city: City) -> None:
    """5.8.6: an entityDeleted notification with sysAttrs carries createdAt, modifiedAt and
    deletedAt; without sysAttrs only deletedAt."""
    btype = kind()
    stamped = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "notificationTrigger": ["entityDeleted"],
            "notification": {**target(), "sysAttrs": True},
        },
    )
    plain = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "notificationTrigger": ["entityDeleted"],
            "notification": target(),
        },
    )
    entity = tower(btype, "d3")
    call(city, "POST", "/entities", entity, 201)
    stored = call(city, "GET", f"/entities/{entity['id']}?options=sysAttrs", expect=200).json()
    call(city, "DELETE", f"/entities/{entity['id']}", expect=204)
    ((gone,),) = data(city, stamped)
    assert set(gone) == {"id", "type", "createdAt", "modifiedAt", "deletedAt"}
    assert gone["createdAt"] == stored["createdAt"]
    assert gone["modifiedAt"] == stored["modifiedAt"]
    ((bare,),) = data(city, plain)
    assert set(bare) == {"id", "type", "deletedAt"}


def test_previous_vocab_values_read_as_the_subscribers_terms(city: City) -> None:
    """showChanges: previousVocab is compacted under the subscription's @context, as vocab is."""
    btype = kind()
    sid = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "notificationTrigger": ["attributeUpdated", "attributeDeleted"],
            "notification": {**target(), "showChanges": True},
        },
    )
    entity = {
        "id": f"urn:ngsi-ld:{btype}:v1",
        "type": btype,
        "category": {"type": "VocabProperty", "vocab": "monument"},
    }
    call(city, "POST", "/entities", entity, 201)
    call(
        city,
        "PATCH",
        f"/entities/{entity['id']}/attrs",
        {"category": {"type": "VocabProperty", "vocab": "museum"}},
        204,
    )
    city.drain()
    call(city, "DELETE", f"/entities/{entity['id']}/attrs/category", expect=204)
    (updated,), (deleted,) = data(city, sid)
    assert updated["category"]["vocab"] == "museum"
    assert updated["category"]["previousVocab"] == "monument"
    assert deleted["category"]["previousVocab"] == "museum"


def test_a_linked_entity_subquery_selects_through_the_related_entity(city: City) -> None:
    """4.9 EXAMPLE 13 in a subscription's q: managedBy{name} reads the managing entity."""
    btype = kind()
    sid = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "q": 'managedBy{name}=="Hill office"',
            "notification": target(),
        },
    )
    offices = [
        {"id": f"urn:ngsi-ld:Office:{btype}{n}", "type": "Office", "name": {"value": name}}
        for n, name in ((1, "Harbour office"), (2, "Hill office"))
    ]
    call(city, "POST", "/entityOperations/create", offices, 201)
    for n in (1, 2):
        managed = {
            "id": f"urn:ngsi-ld:{btype}:m{n}",
            "type": btype,
            "managedBy": {"type": "Relationship", "object": offices[n - 1]["id"]},
        }
        call(city, "POST", "/entities", managed, 201)
    assert [d[0]["id"] for d in data(city, sid)] == [f"urn:ngsi-ld:{btype}:m2"]
