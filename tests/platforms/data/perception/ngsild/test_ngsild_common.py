"""Common behaviours of every /ngsi-ld/v1 operation (ETSI GS CIM 009 clauses 6.3): content
negotiation, 411 and 415, the tenant header echoed, and unknown query parameters refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from cityloop.platforms.data.perception.ngsild.errors import NgsiError
from cityloop.platforms.data.perception.ngsild.views import router
from cityloop.platforms.data.perception.ngsild.views.common import (
    GEO_JSON,
    JSON,
    LD_JSON,
    negotiate,
)
from cityloop.platforms.data.perception.ngsild.views.parameters import PARAMETERS, route_key
from tests.support.city import City
from tests.support.ngsild import API, error_type

pytestmark = pytest.mark.usefixtures("ngsild_credentials")


def _create(city: City, tenant: str | None = None) -> str:
    """A new Building's id (the city's database lives as long as the test module)."""
    entity_id = f"urn:ngsi-ld:Building:{uuid.uuid4().hex}"
    headers = {"NGSILD-Tenant": tenant} if tenant else {}
    response = city.client.post(
        API + "/entities", json={"id": entity_id, "type": "Building"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return entity_id


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # Clause 6.3.4: equal weights go to application/json, then application/ld+json.
        ("application/ld+json, application/json", JSON),
        ("application/ld+json", LD_JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        # RFC 9110 §12.5.1: weights decide; q=0 refuses; the most specific range counts.
        ("application/json;q=0.1, application/ld+json;q=0.9", LD_JSON),
        ("application/json;q=0, */*", LD_JSON),
        ("application/json;q=0, application/ld+json", LD_JSON),
        ("*/*;q=0.9, application/ld+json;q=0.8", JSON),
        ("application/ld+json;q=notanumber", LD_JSON),
        ("text/html, application/ld+json;q=0.5", LD_JSON),
    ],
)
def test_accept_negotiation(city: City, accept: str, expected: str) -> None:
    entity_id = _create(city)
    response = city.client.get(API + "/entities/" + entity_id, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(expected)
    if expected == LD_JSON:
        assert "@context" in response.json()
    else:
        assert "link" in response.headers


def test_nothing_acceptable_is_406(city: City) -> None:
    """Clause 6.3.4: an Accept header that allows neither JSON nor JSON-LD is 406."""
    entity_id = _create(city)
    for accept in ("application/xml", "application/json;q=0, application/ld+json;q=0"):
        response = city.client.get(API + "/entities/" + entity_id, headers={"Accept": accept})
        assert response.status_code == 406, accept
        assert error_type(response) == "NotAcceptable"
    # GeoJSON is for entity retrieval and queries alone (clause 6.3.15).
    response = city.client.get(API + "/subscriptions", headers={"Accept": GEO_JSON})
    assert response.status_code == 406


def test_negotiation_lets_a_route_offer_geojson() -> None:
    offered = (JSON, LD_JSON, GEO_JSON)
    assert negotiate(GEO_JSON, offered) == GEO_JSON
    assert negotiate("application/geo+json, application/json", offered) == JSON
    assert negotiate("application/geo+json;q=0.9, application/ld+json;q=0.1") == LD_JSON
    with pytest.raises(NgsiError):
        negotiate(GEO_JSON)


def test_a_body_without_content_length_is_a_bare_411(city: City) -> None:
    """Clauses 6.3.2 and 6.3.4: POST, PATCH and PUT need Content-Length, checked first."""
    body = b'{"id": "urn:ngsi-ld:Building:c9", "type": "Building"}'
    for method, path, headers in (
        ("POST", "/entities", {}),
        ("PATCH", "/entities/urn:ngsi-ld:Building:c9/attrs", {}),
        ("PUT", "/entities/urn:ngsi-ld:Building:c9", {}),
        ("POST", "/entities", {"NGSILD-Tenant": "nosuchtenant"}),
    ):
        # A body from an iterator goes chunked, with no Content-Length.
        response = city.client.request(
            method,
            API + path,
            content=iter([body]),
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status_code == 411, (method, path)
        assert response.content == b""
    assert city.client.get(API + "/entities", params={"type": "Building"}).status_code == 200


def test_content_types(city: City) -> None:
    """Clause 6.3.4: bodies are JSON or JSON-LD (415 otherwise); a PATCH may also be
    application/merge-patch+json."""
    response = city.client.post(
        API + "/entities", content=b"<a/>", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 415
    assert error_type(response) == "UnsupportedMediaType"
    entity_id = _create(city)
    patch = city.client.patch(
        API + "/entities/" + entity_id,
        json={"height": {"type": "Property", "value": 12}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patch.status_code == 204, patch.text
    height = city.client.get(API + "/entities/" + entity_id).json()["height"]
    assert height["value"] == 12
    post = city.client.post(
        API + "/entities",
        json={"id": "urn:ngsi-ld:Building:c2", "type": "Building"},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert post.status_code == 415


def test_the_tenant_header_is_echoed(city: City) -> None:
    """Clause 6.3.14: a request's NGSILD-Tenant is in its answer, errors included."""
    tenant = {"NGSILD-Tenant": "t" + uuid.uuid4().hex[:12]}
    missing = city.client.get(API + "/entities", params={"type": "Building"}, headers=tenant)
    assert missing.status_code == 404 and error_type(missing) == "NonexistentTenant"
    assert missing.headers["NGSILD-Tenant"] == tenant["NGSILD-Tenant"]
    entity_id = f"urn:ngsi-ld:Building:{uuid.uuid4().hex}"
    created = city.client.post(
        API + "/entities", json={"id": entity_id, "type": "Building"}, headers=tenant
    )
    assert created.status_code == 201
    assert created.headers["NGSILD-Tenant"] == tenant["NGSILD-Tenant"]
    read = city.client.get(API + "/entities/" + entity_id, headers=tenant)
    assert read.status_code == 200
    assert read.headers["NGSILD-Tenant"] == tenant["NGSILD-Tenant"]
    # The default tenant neither sees the entity nor gets a tenant header.
    default = city.client.get(API + "/entities/" + entity_id)
    assert default.status_code == 404 and "NGSILD-Tenant" not in default.headers


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("POST", "/entities", {}),
        ("GET", "/entities", {"type": "Building"}),
        ("GET", "/types", {}),
        ("GET", "/subscriptions", {}),
        ("GET", "/jsonldContexts", {}),
        ("GET", "/temporal/entities", {"type": "Building"}),
        # The trailing-slash copy of a route takes the same parameters.
        ("POST", "/entities/", {}),
        ("GET", "/entities/", {"type": "Building"}),
        ("GET", "/types/", {}),
    ],
)
def test_unknown_query_parameters_are_invalid_requests(
    city: City, method: str, path: str, params: dict[str, str]
) -> None:
    """Clause 6.3.20: a query parameter the operation does not define is InvalidRequest."""
    building = {"id": f"urn:ngsi-ld:Building:{uuid.uuid4().hex}", "type": "Building"}
    body = {"json": building} if method == "POST" else {}
    response = city.client.request(
        method, API + path, params={**params, "invalidParams": "x"}, **body
    )
    assert response.status_code == 400, response.text
    assert error_type(response) == "InvalidRequest"
    assert "invalidParams" in response.json()["detail"]


def test_known_parameters_pass(city: City) -> None:
    _create(city)
    response = city.client.get(
        API + "/entities",
        params={"type": "Building", "limit": "5", "count": "true", "options": "keyValues"},
    )
    assert response.status_code == 200, response.text


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route, through the routers FastAPI includes lazily (each keeps the original)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_every_route_has_its_parameters_listed() -> None:
    """A new route must say which query parameters it takes (views/parameters.py PARAMETERS)."""
    routes = list(_api_routes(router.routes))
    assert len(routes) > 40  # the walk found the routes (it is no check if it finds none)
    missing = [
        route_key(method, route.path)
        for route in routes
        for method in route.methods
        if route_key(method, route.path) not in PARAMETERS
    ]
    assert not missing


def test_error_details_read_in_the_readers_language(city: City) -> None:
    """The detail of an NGSI-LD error is in the reader's language (Accept-Language); its type
    and title stay the ETSI names clients match on."""
    body = {"id": "urn:ngsi-ld:Building:lang", "type": "Building", "height": None}
    english = city.client.post(API + "/entities", json=body)
    chinese = city.client.post(API + "/entities", json=body, headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 400
    assert english.json()["detail"] == "attribute 'height' may not be null"
    assert chinese.json()["detail"] == "属性 'height' 不能为 null"
    for key in ("type", "title", "status"):
        assert chinese.json()[key] == english.json()[key]
    assert error_type(chinese) == "BadRequestData"


@pytest.mark.parametrize(
    ("params", "english", "chinese"),
    [
        (
            {"type": "Building", "q": "height>"},
            "q: missing value at position 7",
            "q：位置 7 处缺少值",
        ),
        (
            {"type": "Building", "orderBy": "height;sideways"},
            "orderBy: direction 'sideways' is not asc, desc, dist-asc or dist-desc",
            "orderBy：方向 'sideways' 不是 asc、desc、dist-asc 或 dist-desc",
        ),
        (
            # csf carries the q language's own detail, in the reader's language too.
            {"type": "Building", "csf": "a=="},
            "csf: q: missing value at position 3",
            "csf 有误：q：位置 3 处缺少值",
        ),
    ],
)
def test_a_query_error_reads_in_the_readers_language(
    city: City, params: dict[str, str], english: str, chinese: str
) -> None:
    """A malformed q or orderBy is refused in the reader's language, as any NGSI-LD error."""
    in_english = city.client.get(API + "/entities", params=params)
    in_chinese = city.client.get(
        API + "/entities", params=params, headers={"Accept-Language": "zh-CN"}
    )
    assert in_english.status_code == in_chinese.status_code == 400
    assert in_english.json()["detail"] == english
    assert in_chinese.json()["detail"] == chinese
    assert error_type(in_chinese) == "BadRequestData"


def test_a_subscription_error_reads_in_the_readers_language(city: City) -> None:
    """A refused subscription's detail names the member in the reader's language."""
    body = {"type": "Subscription", "entities": [{"type": "Building"}], "timeInterval": 0}
    english = city.client.post(API + "/subscriptions", json=body)
    chinese = city.client.post(
        API + "/subscriptions", json=body, headers={"Accept-Language": "zh-CN"}
    )
    assert english.status_code == chinese.status_code == 400
    assert english.json()["detail"] == "timeInterval must be a positive number of seconds"
    assert chinese.json()["detail"] == "timeInterval 必须是以秒为单位的正数"
    assert error_type(chinese) == "BadRequestData"
