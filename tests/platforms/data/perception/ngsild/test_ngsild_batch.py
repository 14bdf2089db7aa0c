"""Batch entity operations (CIM 009 5.6.7-5.6.10, 6.14-6.17, 6.31) and Purge Entities
(5.6.21, 6.4.3.3) through HTTP: status codes, BatchOperationResult shapes and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.city import City
from tests.support.ngsild import API, error_type, link

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


def vehicle(n: str, **attrs: Any) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:Vehicle:b{n}", "type": "Vehicle", **attrs}


def op(city: City, name: str, body: Any, **kwargs: Any) -> Any:
    return city.client.post(f"{API}/entityOperations/{name}", json=body, **kwargs)


def read(city: City, entity_id: str) -> Any:
    return city.client.get(f"{API}/entities/{entity_id}")


@pytest.mark.parametrize("operation", ["create", "upsert", "update", "merge", "delete"])
def test_invalid_payloads_fail_the_whole_batch(city: City, operation: str) -> None:
    """5.5.4 / 5.6.7.4-5.6.20.4: a body that is not an array, an empty array, or an item of the
    wrong kind (null included) is 400 BadRequestData naming the problem; nothing is written."""
    first = vehicle(f"{operation}-0")
    item = first["id"] if operation == "delete" else first
    for body, named in (
        ({"id": "urn:x:1"}, "array"),
        ([], "empty"),
        ([item, None], "item 1"),
        ([item, 7], "item 1"),
    ):
        response = op(city, operation, body)
        assert response.status_code == 400, (operation, body)
        assert error_type(response) == "BadRequestData"
        assert named in response.json()["detail"]
    assert read(city, first["id"]).status_code == 404


def test_create_statuses_and_result_shapes(city: City) -> None:
    """5.6.7.4 / 6.14.3.1: all created is 201 with the ids; otherwise 207 with a
    BatchOperationResult whose errors name the entity and carry a ProblemDetails."""
    created = op(city, "create", [vehicle("c1"), vehicle("c2")])
    assert created.status_code == 201
    assert created.json() == ["urn:ngsi-ld:Vehicle:bc1", "urn:ngsi-ld:Vehicle:bc2"]
    again = op(city, "create", [vehicle("c1"), vehicle("c3"), vehicle("c3")])
    assert again.status_code == 207
    result = again.json()
    assert result["success"] == ["urn:ngsi-ld:Vehicle:bc3"]
    kinds = {e["entityId"]: e["error"]["type"].rsplit("/", 1)[1] for e in result["errors"]}
    # The second bc3 is refused as a repeat of the first; bc1 exists already.
    assert kinds == {
        "urn:ngsi-ld:Vehicle:bc1": "AlreadyExists",
        "urn:ngsi-ld:Vehicle:bc3": "BadRequestData",
    }


def test_each_entitys_error_reads_in_the_readers_language(city: City) -> None:
    """A 207's per-entity details are in the reader's language (Accept-Language), both for an
    entity refused while it is written and for one refused before (its @context missing)."""
    refused = {**vehicle("zh1", speed=None), "@context": CORE}
    uncontexted = vehicle("zh2")
    response = op(
        city,
        "create",
        [refused, uncontexted],
        headers={"Content-Type": "application/ld+json", "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 207
    details = {e["entityId"]: e["error"]["detail"] for e in response.json()["errors"]}
    assert details == {
        refused["id"]: "属性 'speed' 不能为 null",
        uncontexted["id"]: "每个 application/ld+json 实体都必须带 @context",
    }
    titles = {e["error"]["title"] for e in response.json()["errors"]}
    assert titles == {"BadRequestData"}


def test_json_ld_with_a_link_header_is_refused(city: City) -> None:
    """6.3.5: application/ld+json with a JSON-LD Link header too is 400 BadRequestData."""
    entity = {**vehicle("l1"), "@context": CORE}
    response = op(
        city, "create", [entity], headers={"Content-Type": "application/ld+json", **link(CORE)}
    )
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_upsert_applies_repeated_ids_in_order(city: City) -> None:
    """5.6.8.4 / 4.6.6: an id given twice is applied twice, the later one winning (replace);
    it is reported once among the created ids; replace also replaces scope."""
    first = vehicle(
        "u1", speed={"type": "Property", "value": 1}, old={"type": "Property", "value": 1}
    )
    second = vehicle("u1", speed={"type": "Property", "value": 2}, scope="/fleet")
    response = op(city, "upsert", [first, vehicle("u2"), second])
    assert response.status_code == 201
    assert response.json() == ["urn:ngsi-ld:Vehicle:bu1", "urn:ngsi-ld:Vehicle:bu2"]
    entity = read(city, "urn:ngsi-ld:Vehicle:bu1").json()
    assert entity["speed"]["value"] == 2 and "old" not in entity
    assert entity["scope"] == "/fleet"
    assert op(city, "upsert", [second]).status_code == 204


def test_update_adds_types_and_reports_no_overwrite(city: City) -> None:
    """5.6.9.4: types given are added; with noOverwrite, an entity whose existing attributes
    were kept is among the errors (207), while its new attributes are written."""
    op(city, "create", [vehicle("p1", speed={"type": "Property", "value": 1})])
    typed = op(city, "update", [{"id": "urn:ngsi-ld:Vehicle:bp1", "type": "Car"}])
    assert typed.status_code == 204
    assert read(city, "urn:ngsi-ld:Vehicle:bp1").json()["type"] == ["Vehicle", "Car"]
    fragment = {
        "id": "urn:ngsi-ld:Vehicle:bp1",
        "speed": {"type": "Property", "value": 9},
        "colour": {"type": "Property", "value": "red"},
    }
    kept = op(city, "update", [fragment], params={"options": "noOverwrite"})
    assert kept.status_code == 207
    assert "speed" in kept.json()["errors"][0]["error"]["detail"]
    entity = read(city, "urn:ngsi-ld:Vehicle:bp1").json()
    assert entity["speed"]["value"] == 1 and entity["colour"]["value"] == "red"


def test_purge_selects_and_refuses_too_wide_queries(city: City) -> None:
    """5.6.21.4: a purge needs a type, a non-system attribute (attrs or q) or a geo-query, or
    local=true; id and idPattern alone are refused, as are keep with drop and linked-entity
    queries; nothing is deleted by a refused purge."""
    entities = [
        {**vehicle(f"g{n}"), "type": "Bus", "line": {"type": "Property", "value": n}}
        for n in range(3)
    ]
    assert op(city, "create", entities).status_code == 201
    for params in (
        {},
        {"id": "urn:ngsi-ld:Vehicle:bg0"},
        {"idPattern": ".*"},
        {"attrs": "createdAt"},
        {"q": 'modifiedAt>"2020-01-01T00:00:00Z"'},
        {"type": "Bus", "keep": "line", "drop": "line"},
        {"type": "Bus", "q": 'owner{name}=="x"'},
        {"type": "Bus", "attrs": "owner{name}"},
    ):
        refused = city.client.delete(API + "/entities", params=params)
        assert refused.status_code == 400, params
        assert error_type(refused) == "BadRequestData"
    assert read(city, "urn:ngsi-ld:Vehicle:bg0").status_code == 200
    # Braces inside a quoted value are text, not a linked-entity query.
    quoted = city.client.delete(API + "/entities", params={"type": "Bus", "q": 'line=="{x}"'})
    assert quoted.status_code == 204 and read(city, "urn:ngsi-ld:Vehicle:bg0").status_code == 200
    one = city.client.delete(API + "/entities", params={"type": "Bus", "q": "line==0"})
    assert one.status_code == 204 and not one.content
    assert read(city, "urn:ngsi-ld:Vehicle:bg0").status_code == 404
    assert read(city, "urn:ngsi-ld:Vehicle:bg1").status_code == 200
    narrowed = {"type": "Bus", "id": "urn:ngsi-ld:Vehicle:bg1"}
    assert city.client.delete(API + "/entities", params=narrowed).status_code == 204
    assert read(city, "urn:ngsi-ld:Vehicle:bg1").status_code == 404
    assert read(city, "urn:ngsi-ld:Vehicle:bg2").status_code == 200


def test_purge_keep_and_drop_remove_attributes_only(city: City) -> None:
    """5.6.21.4: with drop, the attributes named are deleted; with keep, all others are."""
    entity = {
        **vehicle("k1"),
        "type": "Tram",
        "a": {"type": "Property", "value": 1},
        "b": {"type": "Property", "value": 2},
        "c": {"type": "Property", "value": 3},
    }
    assert op(city, "create", [entity]).status_code == 201
    assert (
        city.client.delete(API + "/entities", params={"type": "Tram", "drop": "a"}).status_code
        == 204
    )
    assert set(read(city, entity["id"]).json()) == {"id", "type", "b", "c"}
    assert (
        city.client.delete(API + "/entities", params={"type": "Tram", "keep": "b"}).status_code
        == 204
    )
    assert set(read(city, entity["id"]).json()) == {"id", "type", "b"}
    everything = city.client.delete(
        API + "/entities", params={"local": "true"}, headers={"NGSILD-Tenant": "purged"}
    )
    # local=true alone qualifies (5.6.21.3); a tenant never written is still 404.
    assert everything.status_code == 404 and error_type(everything) == "NonexistentTenant"
