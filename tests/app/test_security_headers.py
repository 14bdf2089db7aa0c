"""The pages browsers render carry a Content-Security-Policy and refuse framing; every answer
says nosniff; photos are served as what they are, inline, under their own name."""

from __future__ import annotations

from typing import Any

import pytest

from cityloop.base.headers import page_headers, tile_origin
from tests.support.city import City
from tests.support.media import jpeg_bytes

TILES = "https://{s}.tiles.riverton.example/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def city_overrides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dist = tmp_path_factory.mktemp("dist")
    for page in ("app", "console"):
        (dist / page).mkdir()
        (dist / page / "index.html").write_text(f"<!doctype html><title>{page}</title>")
    (dist / "assets").mkdir()
    (dist / "assets" / "app.js").write_text("console.log('app')")
    return {"static_dir": dist, "tile_url": TILES}


def policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in header.split(";"))
    return {name: value for name, value in directives}


@pytest.mark.parametrize("path", ["/app/", "/console/", "/assets/app.js", "/"])
def test_front_end_pages_carry_a_strict_content_security_policy(city: City, path: str) -> None:
    response = city.client.get(path)

    assert response.status_code == 200
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no inline scripts, no eval
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-src"] == "'self' blob:"  # a document under review, never another site
    assert csp["img-src"].split() == [
        "'self'",
        "data:",
        "blob:",
        "https://*.tiles.riverton.example",
    ]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_redirect_to_a_front_end_carries_the_headers_too(city: City) -> None:
    response = city.client.get("/app", follow_redirects=False)

    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_api_answers_say_nosniff_without_a_page_policy(city: City) -> None:
    response = city.client.get("/api/v1/config")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_photos_are_served_nosniff_inline_under_their_id(city: City) -> None:
    media_id = city.upload(jpeg_bytes())

    original = city.client.get(f"/api/v1/media/{media_id}")
    thumbnail = city.client.get(f"/api/v1/media/{media_id}/thumbnail")

    assert original.headers["x-content-type-options"] == "nosniff"
    assert original.headers["content-disposition"] == f'inline; filename="{media_id}.jpg"'
    assert thumbnail.headers["x-content-type-options"] == "nosniff"
    assert thumbnail.headers["content-disposition"] == f'inline; filename="{media_id}.thumb.jpg"'


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://tiles.city.example/{z}/{x}/{y}.png", "https://tiles.city.example"),
        ("https://{s}.tile.example:8443/{z}/{x}/{y}.png", "https://*.tile.example:8443"),
        ("http://maps.{s}.example/{z}/{x}/{y}.png", "http:"),
        ("/tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_the_tile_server_origin_becomes_an_image_source(template: str, source: str | None) -> None:
    assert tile_origin(template) == source


def test_without_a_tile_server_images_come_only_from_this_origin() -> None:
    csp = policy(page_headers(None)["Content-Security-Policy"])
    assert csp["img-src"].split() == ["'self'", "data:", "blob:"]
