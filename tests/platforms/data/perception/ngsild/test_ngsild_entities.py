"""NGSI-LD entities through HTTP: create, read, replace, attributes, errors, tenants, events."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.base.outbox import OutboxEvent
from cityloop.platforms.data.perception.events import EntitiesChanged
from tests.support.city import City
from tests.support.fuzz import Leaf, garbage
from tests.support.ngsild import API, error_type

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


# Writes under /ngsi-ld/v1 need credentials: the demo API key, on every request.
pytestmark = pytest.mark.usefixtures("ngsild_credentials")


def bin_entity(local: str, level: float = 0.5, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WasteContainer:{local}",
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": level, "unitCode": "P1"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [8.68, 49.4]},
        },
        **extra,
    }


def create(city: City, body: dict[str, Any], expect: int = 201, **headers: str) -> Any:
    response = city.client.post(API + "/entities", json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response


def test_create_read_and_delete(city: City) -> None:
    response = create(city, bin_entity("e1"))
    assert response.headers["Location"] == API + "/entities/urn:ngsi-ld:WasteContainer:e1"
    got = city.client.get(API + "/entities/urn:ngsi-ld:WasteContainer:e1")
    assert got.status_code == 200
    body = got.json()
    assert body["type"] == "WasteContainer"
    assert body["fillingLevel"] == {"type": "Property", "value": 0.5, "unitCode": "P1"}
    assert body["location"]["value"]["coordinates"] == [8.68, 49.4]
    assert CORE in got.headers["Link"]
    kv = city.client.get(
        API + "/entities/urn:ngsi-ld:WasteContainer:e1", params={"options": "keyValues"}
    ).json()
    assert kv["fillingLevel"] == 0.5
    concise = city.client.get(
        API + "/entities/urn:ngsi-ld:WasteContainer:e1", params={"options": "concise"}
    ).json()
    assert concise["fillingLevel"] == {"value": 0.5, "unitCode": "P1"}
    ld = city.client.get(
        API + "/entities/urn:ngsi-ld:WasteContainer:e1",
        headers={"Accept": "application/ld+json"},
    )
    assert ld.headers["content-type"].startswith("application/ld+json")
    assert ld.json()["@context"] == CORE
    projected = city.client.get(
        API + "/entities/urn:ngsi-ld:WasteContainer:e1", params={"attrs": "location"}
    ).json()
    assert "fillingLevel" not in projected and "location" in projected
    again = create(city, bin_entity("e1"), expect=409)
    assert error_type(again) == "AlreadyExists"
    assert city.client.delete(API + "/entities/urn:ngsi-ld:WasteContainer:e1").status_code == 204
    missing = city.client.get(API + "/entities/urn:ngsi-ld:WasteContainer:e1")
    assert missing.status_code == 404 and error_type(missing) == "ResourceNotFound"
    assert city.client.delete(API + "/entities/urn:ngsi-ld:WasteContainer:e1").status_code == 404


def test_every_change_emits_one_event(city: City) -> None:
    create(city, bin_entity("ev1"))
    city.client.patch(
        API + "/entities/urn:ngsi-ld:WasteContainer:ev1/attrs",
        json={"fillingLevel": {"type": "Property", "value": 0.9}},
    )
    city.client.delete(API + "/entities/urn:ngsi-ld:WasteContainer:ev1")
    with city.ctx.reading() as session:
        events = [
            EntitiesChanged.model_validate(e.payload)
            for e in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type == EntitiesChanged.type)
                .order_by(OutboxEvent.id)
            )
        ]
    events = [
        e for e in events if [c.entity_id for c in e.changes] == ["urn:ngsi-ld:WasteContainer:ev1"]
    ]
    default = "https://uri.etsi.org/ngsi-ld/default-context/"
    assert [e.deleted for e in events] == [False, False, True]
    assert events[0].changes[0].type == default + "WasteContainer"
    assert events[1].changes[0].attributes == [default + "fillingLevel"]
    assert events[0].tenant == ""


def test_bad_bodies_are_400_never_500(city: City) -> None:
    bad: list[tuple[Any, str]] = [
        ({"id": "not a uri", "type": "T"}, "BadRequestData"),
        ({"id": "urn:x:1"}, "BadRequestData"),
        ({"id": "urn:x:1", "type": "T", "p": {"type": "Property"}}, "BadRequestData"),
        ({"id": "urn:x:1", "type": "T", "r": {"type": "Relationship"}}, "BadRequestData"),
        (
            {"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "object": "x y"}},
            "BadRequestData",
        ),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "location": {"type": "GeoProperty", "value": {"type": "Point"}},
            },
            "BadRequestData",
        ),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [500, 1]},
                },
            },
            "BadRequestData",
        ),
        (
            {"id": "urn:x:1", "type": "T", "location": {"type": "Property", "value": 1}},
            "BadRequestData",
        ),
        (
            {"id": "urn:x:1", "type": "T", "bad(name)": {"type": "Property", "value": 1}},
            "BadRequestData",
        ),
        ({"id": "urn:x:1", "type": "T", "p": {"type": "Weird", "value": 1}}, "BadRequestData"),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "p": {"type": "Property", "value": 1, "observedAt": "yesterday"},
            },
            "BadRequestData",
        ),
        ({"id": "urn:x:1", "type": "T", "p": None}, "BadRequestData"),
        ({"id": "urn:x:1", "type": ["T", 5]}, "BadRequestData"),
        ([1, 2], "BadRequestData"),
        ("text", "BadRequestData"),
        ({"id": 5, "type": "T"}, "BadRequestData"),
    ]
    for body, kind in bad:
        response = city.client.post(API + "/entities", json=body)
        assert response.status_code == 400, (body, response.text)
        assert error_type(response) == kind, body
    for raw in (b"{not json", b"", b'{"id": "urn:x:1", "type": "T", "p": NaN}', b"[" * 100000):
        response = city.client.post(
            API + "/entities", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw[:20]
        assert error_type(response) == "InvalidRequest"
    wrong_media = city.client.post(
        API + "/entities", content=b"<x/>", headers={"Content-Type": "application/xml"}
    )
    assert wrong_media.status_code == 415
    with_context = city.client.post(API + "/entities", json={**bin_entity("c1"), "@context": CORE})
    assert with_context.status_code == 400
    ld_without = city.client.post(
        API + "/entities",
        json=bin_entity("c2"),
        headers={"Content-Type": "application/ld+json"},
    )
    assert ld_without.status_code == 400
    assert city.client.get(API + "/entities/not%20a%20uri").status_code == 400
    not_acceptable = city.client.get(API + "/entities/urn:x:1", headers={"Accept": "text/html"})
    assert not_acceptable.status_code == 406


def test_attributes_append_update_patch_delete(city: City) -> None:
    create(city, bin_entity("a1"))
    url = API + "/entities/urn:ngsi-ld:WasteContainer:a1"
    appended = city.client.post(
        url + "/attrs",
        json={
            "status": {"type": "Property", "value": "ok"},
            "fillingLevel": {"type": "Property", "value": 0.1},
        },
    )
    assert appended.status_code == 204
    assert city.client.get(url).json()["fillingLevel"]["value"] == 0.1
    partial = city.client.post(
        url + "/attrs",
        params={"options": "noOverwrite"},
        json={
            "status": {"type": "Property", "value": "new"},
            "colour": {"type": "Property", "value": "green"},
        },
    )
    assert partial.status_code == 207
    assert partial.json()["updated"] == ["colour"]
    assert partial.json()["notUpdated"][0]["attributeName"] == "status"
    assert partial.json()["notUpdated"][0]["reason"] == "attribute exists and noOverwrite was given"
    assert city.client.get(url).json()["status"]["value"] == "ok"
    in_chinese = city.client.post(
        url + "/attrs",
        params={"options": "noOverwrite"},
        json={"status": {"type": "Property", "value": "newer"}},
        headers={"Accept-Language": "zh-CN"},
    )
    assert in_chinese.json()["notUpdated"][0]["reason"] == "属性已存在，且给出了 noOverwrite"
    updated = city.client.patch(
        url + "/attrs",
        json={
            "status": {"type": "Property", "value": "full"},
            "ghost": {"type": "Property", "value": 1},
        },
    )
    assert updated.status_code == 207
    assert updated.json()["notUpdated"][0]["attributeName"] == "ghost"
    entity = city.client.get(url).json()
    assert entity["status"]["value"] == "full" and "ghost" not in entity
    patched = city.client.patch(url + "/attrs/fillingLevel", json={"value": 0.75})
    assert patched.status_code == 204
    level = city.client.get(url).json()["fillingLevel"]
    assert level == {"type": "Property", "value": 0.75}
    assert city.client.patch(url + "/attrs/ghost", json={"value": 1}).status_code == 404
    assert city.client.patch(url + "/attrs/fillingLevel", json={"value": None}).status_code == 400
    assert city.client.delete(url + "/attrs/colour").status_code == 204
    assert "colour" not in city.client.get(url).json()
    assert city.client.delete(url + "/attrs/colour").status_code == 404
    replaced = city.client.put(
        url, json={"type": "WasteContainer", "status": {"type": "Property", "value": "emptied"}}
    )
    assert replaced.status_code == 204
    entity = city.client.get(url).json()
    assert set(entity) == {"id", "type", "status"}
    assert city.client.put(API + "/entities/urn:x:none", json={"type": "T"}).status_code == 404


def test_relationships_subproperties_and_sys_attrs(city: City) -> None:
    body = bin_entity(
        "r1",
        refDevice={"type": "Relationship", "object": "urn:ngsi-ld:Device:d1"},
        temperature={
            "type": "Property",
            "value": 21.5,
            "observedAt": "2026-01-01T10:00:00Z",
            "accuracy": {"type": "Property", "value": 0.5},
        },
    )
    create(city, body)
    url = API + "/entities/urn:ngsi-ld:WasteContainer:r1"
    entity = city.client.get(url).json()
    assert entity["refDevice"] == {"type": "Relationship", "object": "urn:ngsi-ld:Device:d1"}
    assert entity["temperature"]["accuracy"] == {"type": "Property", "value": 0.5}
    sys = city.client.get(url, params={"options": "sysAttrs"}).json()
    assert "createdAt" in sys and "modifiedAt" in sys["temperature"]


def test_tenants_are_separate(city: City) -> None:
    unknown = city.client.get(
        API + "/entities", params={"type": "WasteContainer"}, headers={"NGSILD-Tenant": "nobody"}
    )
    assert unknown.status_code == 404 and error_type(unknown) == "NonexistentTenant"
    create(city, bin_entity("t1"), **{"NGSILD-Tenant": "harbour"})
    in_tenant = city.client.get(
        API + "/entities/urn:ngsi-ld:WasteContainer:t1", headers={"NGSILD-Tenant": "harbour"}
    )
    assert in_tenant.status_code == 200
    assert city.client.get(API + "/entities/urn:ngsi-ld:WasteContainer:t1").status_code == 404
    # Queries, types and attributes of one tenant list nothing of another's.
    harbour = {"NGSILD-Tenant": "harbour"}
    query = {"type": "WasteContainer", "limit": 1000}
    listed = city.client.get(API + "/entities", params=query).json()
    assert "urn:ngsi-ld:WasteContainer:t1" not in [e["id"] for e in listed]
    in_harbour = city.client.get(API + "/entities", params=query, headers=harbour).json()
    assert [e["id"] for e in in_harbour] == ["urn:ngsi-ld:WasteContainer:t1"]
    create(city, {"id": "urn:ngsi-ld:Crane:t2", "type": "Crane"}, **harbour)
    assert city.client.get(API + "/types/Crane").status_code == 404
    assert city.client.get(API + "/types/Crane", headers=harbour).status_code == 200
    bad = city.client.get(API + "/types", headers={"NGSILD-Tenant": "no spaces allowed"})
    assert bad.status_code == 400


# What the fuzzer below builds entity bodies from (tests.support.fuzz.garbage).
FUZZ_LEAVES: list[Leaf] = [
    lambda rng: None,
    lambda rng: rng.choice([True, False, 0, -1, 10**30, 1.5e300, 2**63]),
    lambda rng: rng.choice(["", "x", "urn:x:1", "\x00", "ü" * 300, "2026-01-01T00:00:00Z"]),
    lambda rng: rng.choice(["Property", "Relationship", "GeoProperty", "LanguageProperty"]),
    lambda rng: {"type": "Point", "coordinates": rng.choice([[1, 2], [[1]], "x", [1e308, 2]])},
    lambda rng: rng.choice(["urn:ngsi-ld:T:1", "urn:\x00", "a:" + "b" * 400]),
]
FUZZ_KEYS = [
    "id",
    "type",
    "value",
    "object",
    "observedAt",
    "unitCode",
    "datasetId",
    "location",
    "p",
    "q(",
    "@context",
    "scope",
    "languageMap",
    "json",
    "vocab",
    "valueList",
    "sub",
]


def _garbage(rng: random.Random) -> Any:
    return garbage(rng, FUZZ_LEAVES, FUZZ_KEYS, max_depth=4, width=5)


def test_fuzzed_bodies_never_give_a_500(city: City) -> None:
    import random

    rng = random.Random(20261125)
    create(city, bin_entity("fz"))
    target = API + "/entities/urn:ngsi-ld:WasteContainer:fz"
    calls = [
        ("POST", API + "/entities"),
        ("PUT", target),
        ("PATCH", target),
        ("POST", target + "/attrs"),
        ("PATCH", target + "/attrs"),
        ("PATCH", target + "/attrs/fillingLevel"),
        ("PUT", target + "/attrs/fillingLevel"),
        ("POST", API + "/entityOperations/create"),
        ("POST", API + "/entityOperations/upsert"),
        ("POST", API + "/entityOperations/update"),
        ("POST", API + "/entityOperations/delete"),
        ("POST", API + "/entityOperations/query"),
        ("POST", API + "/jsonldContexts"),
    ]
    for n in range(400):
        method, url = calls[n % len(calls)]
        body = _garbage(rng)
        if n % 3 == 0:
            body = {
                "id": f"urn:ngsi-ld:T:f{n}",
                "type": "T",
                "p": _garbage(rng),
                "location": _garbage(rng),
            }
        if "entityOperations" in url and n % 2:
            body = [body, _garbage(rng)]
        media = "application/ld+json" if n % 7 == 0 else "application/json"
        response = city.client.request(method, url, json=body, headers={"Content-Type": media})
        assert response.status_code < 500, (method, url, body, response.text)
    for params in (
        {"type": "T", "q": "p==\x00"},
        {"type": "T\x00"},
        {"id": "urn:\x00"},
        {"q": "a" * 5000},
        {"georel": "near;maxDistance==1e400", "geometry": "Point", "coordinates": "[1,2]"},
        {"georel": "within", "geometry": "Polygon", "coordinates": "[[[1,2]]]"},
        {"type": "T", "limit": "99999999999999999999"},
        {"idPattern": "["},
    ):
        response = city.client.get(API + "/entities", params=params)
        assert response.status_code < 500, (params, response.text)
    weird_link = city.client.get(
        API + "/entities",
        params={"type": "T"},
        headers={"Link": '<http://[::1/x>; rel="http://www.w3.org/ns/json-ld#context"'},
    )
    assert weird_link.status_code in (400, 504)
