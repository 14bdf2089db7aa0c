"""Prefix dispatch answers every request as the full router would, trying only the routes that
could match its path."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse

from cityloop.base.dispatch import (
    PrefixDispatch,
    install_prefix_dispatch,
    literal_part,
    segment_prefixes,
)


def build_app() -> FastAPI:
    """Routers under /a and /b, a route the root app declares after them, a catch-all and a
    route that answers with a link into another prefix."""
    app = FastAPI()
    first = APIRouter(prefix="/a/v1")

    @first.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    @first.post("/items")
    def add_item() -> dict[str, str]:
        return {"added": "yes"}

    @first.get("/folder/")
    def folder() -> dict[str, str]:
        return {"folder": "a"}

    second = APIRouter(prefix="/b")

    @second.get("/things/{name}.{fmt}")
    def thing(name: str, fmt: str, request: Request) -> dict[str, str]:
        return {"thing": name, "fmt": fmt, "link": str(request.url_for("item", item_id=7))}

    app.include_router(first)
    app.include_router(second)

    @app.get("/a/v1/late")
    def late() -> dict[str, str]:
        return {"late": "root app"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/files/{rest:path}")
    def files(rest: str) -> PlainTextResponse:
        return PlainTextResponse(rest)

    return app


PATHS = [
    ("GET", "/a/v1/items/3"),
    ("GET", "/a/v1/items/x"),  # a parameter the route refuses: 422
    ("DELETE", "/a/v1/items/3"),  # a method the route lacks: 405
    ("GET", "/a/v1/items"),  # only POST here: 405
    ("GET", "/a/v1/folder"),  # the slash redirect
    ("GET", "/a/v1/folder/"),
    ("GET", "/a/v1/late"),
    ("GET", "/a/v1/nothing"),
    ("GET", "/a/"),
    ("GET", "/b/things/lamp.json"),
    ("GET", "/b/nothing/here"),
    ("GET", "/files/deep/down/file.txt"),
    ("GET", "/healthz"),
    ("GET", "/nowhere"),
    ("GET", "/"),
]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_a_dispatched_app_answers_as_the_undispatched_one(method: str, path: str) -> None:
    plain = TestClient(build_app())
    dispatched_app = build_app()
    install_prefix_dispatch(dispatched_app)
    dispatched = TestClient(dispatched_app)

    want = plain.request(method, path, follow_redirects=False)
    got = dispatched.request(method, path, follow_redirects=False)

    assert (got.status_code, got.content) == (want.status_code, want.content)
    assert got.headers.get("location") == want.headers.get("location")
    assert got.headers.get("allow") == want.headers.get("allow")


def test_a_path_is_matched_against_its_prefix_routes_only() -> None:
    app = build_app()
    dispatch = install_prefix_dispatch(app)

    part = dispatch.router_for("/b/things/lamp.json")

    assert part is not None
    paths = {getattr(route, "path", None) for route in part.routes}
    assert "/a/v1/late" not in paths
    assert "/healthz" not in paths
    assert len(part.routes) < len(app.router.routes)


def test_a_path_without_a_known_prefix_goes_to_the_full_router() -> None:
    dispatch = install_prefix_dispatch(build_app())

    assert dispatch.router_for("/healthz") is None
    assert dispatch.router_for("/unknown/path") is None
    # The slash redirect of "/b/" is "/b", outside the prefix "/b/".
    assert dispatch.router_for("/b/") is None


def test_routes_added_after_installation_are_found() -> None:
    app = build_app()
    install_prefix_dispatch(app)
    client = TestClient(app)
    assert client.get("/c/new").status_code == 404

    @app.get("/c/new")
    def new() -> dict[str, str]:
        return {"new": "yes"}

    assert client.get("/c/new").json() == {"new": "yes"}


def test_the_openapi_document_still_lists_every_route() -> None:
    app = build_app()
    install_prefix_dispatch(app)

    assert app.openapi() == build_app().openapi()


def test_a_router_with_middleware_of_its_own_is_refused() -> None:
    app = build_app()
    app.router.middleware_stack = PrefixDispatch(app.router)

    with pytest.raises(ValueError, match="middleware"):
        install_prefix_dispatch(app)


def test_a_literal_part_ends_at_the_first_parameter() -> None:
    assert literal_part("/open311/v2/requests/{request_id}.{fmt}") == "/open311/v2/requests/"
    assert literal_part("/healthz") == "/healthz"
    assert list(segment_prefixes("/api/v1/cases/")) == ["/api/", "/api/v1/", "/api/v1/cases/"]
