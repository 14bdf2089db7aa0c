"""The assembled app matches each request against its prefix's routes (base/dispatch.py) and
still answers as before: security headers, each API's error format, per-route metrics and an
OpenAPI document of every route."""

from __future__ import annotations

from fastapi.routing import APIRoute

from cityloop.base.dispatch import PrefixDispatch
from cityloop.modules import load_modules
from tests.support.city import City

READ_ROUTE = "/open311/v2/requests/{request_id}.{fmt}"


def test_the_app_router_dispatches_by_prefix(city: City) -> None:
    dispatch = city.client.app.router.middleware_stack  # type: ignore[attr-defined]

    assert isinstance(dispatch, PrefixDispatch)
    part = dispatch.router_for("/open311/v2/requests/1.json")
    assert part is not None
    assert len(part.routes) < len(city.client.app.router.routes)  # type: ignore[attr-defined]


def test_an_open311_read_keeps_its_headers_error_format_and_route_metrics(city: City) -> None:
    response = city.client.get("/open311/v2/requests/999999999.json")

    assert response.status_code == 404
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()[0]["code"] == 404  # Open311's error list, not a problem
    metrics = city.client.get("/metrics").text
    assert f'route="{READ_ROUTE}"' in metrics


def test_unknown_paths_and_methods_answer_in_each_apis_format(city: City) -> None:
    missing = city.client.get("/api/v1/no-such-thing")
    wrong_method = city.client.put("/api/v1/categories")
    open311_missing = city.client.get("/open311/v2/no-such-thing.json")
    open311_method = city.client.delete("/open311/v2/services.json")

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/problem+json")
    assert open311_missing.status_code == 404
    assert open311_missing.json() == [{"code": 404, "description": "Not Found"}]
    assert open311_method.status_code == 405
    assert open311_method.json()[0]["code"] == 405


def test_a_trailing_slash_still_redirects_to_the_route(city: City) -> None:
    response = city.client.get("/api/v1/categories/", follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"].endswith("/api/v1/categories")


def test_the_openapi_document_lists_every_declared_route(city: City) -> None:
    documented = city.client.get("/openapi.json").json()["paths"]

    declared = {
        route.path
        for module in load_modules()
        for router in module.routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema and router.include_in_schema
    }
    assert declared
    assert declared <= set(documented)
