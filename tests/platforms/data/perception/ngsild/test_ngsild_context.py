"""@context handling: user contexts from a real HTTP server, Link headers, hosted contexts."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import context_loader
from cityloop.platforms.data.perception.ngsild.models import NgsiContext
from tests.support.city import City
from tests.support.ngsild import API, ERR, link
from tests.support.receivers import LocalServer, QuietHandler

SCHEMA = {
    "@context": {
        "schema": "https://schema.org/",
        "Car": "schema:Car",
        "brand": "schema:brand",
        "speed": "https://example.org/vocab#speed",
    }
}
# A second client names the same IRIs differently.
OTHER = {"@context": {"Auto": "https://schema.org/Car", "marke": "https://schema.org/brand"}}


# Writes under /ngsi-ld/v1 need credentials: the demo API key, on every request.
pytestmark = pytest.mark.usefixtures("ngsild_credentials")


class ContextServer(LocalServer):
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        documents = {
            "/schema.jsonld": SCHEMA,
            "/other.jsonld": OTHER,
            "/broken.jsonld": "oops",
            "/no-context.jsonld": {"note": "no context member here"},
        }
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                path = self.path.split("?", 1)[0]
                if path == "/drip.jsonld":
                    self.drip(b'{"@context": {"a": "https://e.org/a"}}')
                    return
                if path == "/not-json.jsonld":
                    self.reply(b"this is { not json", content_type="application/ld+json")
                    return
                if self.path == "/huge.jsonld":
                    body = json.dumps({"@context": {"x": "y" * 2_000_000}}).encode()
                elif path in documents:
                    body = json.dumps(documents[path]).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.reply(body, content_type="application/ld+json")

            def drip(self, body: bytes) -> None:
                """A valid document, one byte at a time: each read is quick, the whole slow."""
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass  # the client gave up, as it should

        super().__init__(Handler)
        self.base = self.url


@pytest.fixture(scope="module")
def server() -> Iterator[ContextServer]:
    with closing(ContextServer()) as running:
        yield running


def car(local: str) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Car:{local}",
        "type": "Car",
        "brand": {"type": "Property", "value": "Volvo"},
        "speed": {"type": "Property", "value": 80},
    }


def test_link_header_context_is_fetched_once_and_cached(city: City, server: ContextServer) -> None:
    contexts.forget()
    url = server.base + "/schema.jsonld"
    before = server.hits.get("/schema.jsonld", 0)  # the server outlives one engine's city
    for n in range(3):
        response = city.client.post(API + "/entities", json=car(f"l{n}"), headers=link(url))
        assert response.status_code == 201, response.text
    assert server.hits["/schema.jsonld"] == before + 1
    with city.ctx.reading() as session:
        cached = session.scalar(select(NgsiContext).where(NgsiContext.url == url))
    assert cached is not None and cached.kind == "Cached"
    # A new process (memory forgotten) reads the database, not the network.
    contexts.forget()
    got = city.client.get(API + "/entities/urn:ngsi-ld:Car:l0", headers=link(url))
    assert server.hits["/schema.jsonld"] == before + 1
    body = got.json()
    assert body["type"] == "Car" and body["brand"]["value"] == "Volvo"
    assert url in got.headers["Link"]
    # Without the context the same entity reads back with full IRIs.
    plain = city.client.get(API + "/entities/urn:ngsi-ld:Car:l0").json()
    assert plain["type"] == "schema:Car" or plain["type"] == "https://schema.org/Car"
    assert "https://schema.org/brand" in plain
    # A third context names the same things its own way.
    other = city.client.get(
        API + "/entities/urn:ngsi-ld:Car:l0", headers=link(server.base + "/other.jsonld")
    ).json()
    assert other["type"] == "Auto" and other["marke"]["value"] == "Volvo"
    found = city.client.get(
        API + "/entities",
        params={"type": "Car", "q": 'brand=="Volvo";speed>=80'},
        headers=link(url),
    )
    assert len(found.json()) == 3
    by_other = city.client.get(
        API + "/entities", params={"type": "Auto"}, headers=link(server.base + "/other.jsonld")
    )
    assert len(by_other.json()) == 3
    assert city.client.get(API + "/entities", params={"type": "Car"}).json() == []
    listed = city.client.get(API + "/jsonldContexts").json()
    assert url in listed and contexts.CORE_URL in listed
    details = city.client.get(API + "/jsonldContexts", params={"details": "true"}).json()
    assert any(d["URL"] == url and d["kind"] == "Cached" for d in details)
    assert city.client.get(API + "/jsonldContexts/" + cached.id).json() == SCHEMA


def test_ld_json_body_context_and_response(city: City, server: ContextServer) -> None:
    body = {**car("ld1"), "@context": [server.base + "/schema.jsonld"]}
    response = city.client.post(
        API + "/entities", json=body, headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 201, response.text
    inline = {**car("ld2"), "@context": SCHEMA["@context"]}
    assert (
        city.client.post(
            API + "/entities", json=inline, headers={"Content-Type": "application/ld+json"}
        ).status_code
        == 201
    )
    got = city.client.get(
        API + "/entities/urn:ngsi-ld:Car:ld2",
        headers={"Accept": "application/ld+json", **link(server.base + "/schema.jsonld")},
    )
    assert got.json()["@context"] == server.base + "/schema.jsonld"
    assert got.json()["brand"]["value"] == "Volvo"


def test_unavailable_contexts_are_504_and_invalid_ones_400(
    city: City, server: ContextServer
) -> None:
    """Clause 5.5.6: a remote @context that cannot be retrieved is LdContextNotAvailable (504,
    clause 6.3.2); one retrieved but not a JSON-LD context is BadRequestData."""
    for path in ("/missing.jsonld", "/huge.jsonld"):
        response = city.client.post(
            API + "/entities", json=car("x"), headers=link(server.base + path)
        )
        assert response.status_code == 504, path
        assert response.json()["type"] == ERR + "LdContextNotAvailable"
    for path in ("/broken.jsonld", "/no-context.jsonld", "/not-json.jsonld"):
        response = city.client.post(
            API + "/entities", json=car("x"), headers=link(server.base + path)
        )
        assert response.status_code == 400, path
        assert response.json()["type"] == ERR + "BadRequestData"
        assert "@context" in response.json()["detail"]
    refused = city.client.get(
        API + "/entities", params={"type": "Car"}, headers=link("ftp://example.org/c.jsonld")
    )
    assert refused.status_code == 504
    invalid = city.client.post(
        API + "/entities",
        json={**car("y"), "@context": {"brand": {"@id": 5}}},
        headers={"Content-Type": "application/ld+json"},
    )
    assert invalid.status_code == 400
    assert city.client.get(API + "/entities/urn:ngsi-ld:Car:x").status_code == 404


def test_hosted_contexts(city: City) -> None:
    response = city.client.post(API + "/jsonldContexts", json=OTHER)
    assert response.status_code == 201
    location = response.headers["Location"]
    local_id = location.rsplit("/", 1)[1]
    assert city.client.get(API + "/jsonldContexts/" + local_id).json() == OTHER
    # Clause 6.30.3.2: Location names the context; its absolute URL works in a Link header.
    url = city.ctx.settings.public_base_url.rstrip("/") + location
    created = city.client.post(
        API + "/entities",
        json={
            "id": "urn:ngsi-ld:Car:h1",
            "type": "Auto",
            "marke": {"type": "Property", "value": "Saab"},
        },
        headers=link(url),
    )
    assert created.status_code == 201, created.text
    assert (
        "https://schema.org/brand" in city.client.get(API + "/entities/urn:ngsi-ld:Car:h1").json()
    )
    hosted = city.client.get(API + "/jsonldContexts", params={"kind": "Hosted", "details": "true"})
    assert [d["localId"] for d in hosted.json()] == [local_id]
    assert city.client.delete(API + "/jsonldContexts/" + local_id).status_code == 204
    assert city.client.get(API + "/jsonldContexts/" + local_id).status_code == 404
    assert city.client.delete(API + "/jsonldContexts/" + local_id).status_code == 404
    assert city.client.post(API + "/jsonldContexts", json={"no": "context"}).status_code == 400
    assert city.client.delete(API + "/jsonldContexts/core").status_code == 400
    core = city.client.get(API + "/jsonldContexts/core").json()
    assert "@context" in core


def test_core_context_urls_are_served_from_the_package() -> None:
    for version in ("", "-v1.3", "-v1.6", "-v1.8", "-v1.9"):
        url = f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context{version}.jsonld"
        active = contexts.resolve(None, user=url)
        assert active.expand("location") == "https://uri.etsi.org/ngsi-ld/location"
        assert active.expand("temperature").endswith("/default-context/temperature")
        assert active.compact("https://uri.etsi.org/ngsi-ld/default-context/temperature") == (
            "temperature"
        )


# --- review fixes -----------------------------------------------------------------------------


def test_a_slow_context_server_is_cut_off_by_a_deadline_over_the_whole_fetch(
    city: City, server: ContextServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.base + "/drip.jsonld"
    with caplog.at_level(logging.WARNING), pytest.raises(contexts.NgsiError) as caught:
        contexts.resolve(
            city.ctx.db,
            user=url,
            limits=contexts.ContextLimits(timeout_seconds=0.5),
            outbound=city.ctx.outbound,
        )
    assert caught.value.kind == "LdContextNotAvailable"
    # The caller learns only that it failed; the log says why.
    assert caught.value.detail == context_loader.UNAVAILABLE
    assert "timed out" in caplog.text
    with city.ctx.reading() as session:
        assert session.scalar(select(NgsiContext).where(NgsiContext.url == url)) is None


def test_cached_contexts_are_capped_least_recently_used_first(
    city: City, server: ContextServer
) -> None:
    from datetime import timedelta

    from sqlalchemy import func, update

    from cityloop.base.db import utcnow

    hosted = city.client.post(API + "/jsonldContexts", json=OTHER)
    assert hosted.status_code == 201
    with city.ctx.writing() as session:
        # Whatever other tests cached counts as just used, so the new ones are the oldest.
        session.execute(
            update(NgsiContext)
            .where(NgsiContext.kind == "Cached")
            .values(last_used_at=utcnow() + timedelta(days=1))
        )
        cached = session.scalar(
            select(func.count()).select_from(NgsiContext).where(NgsiContext.kind == "Cached")
        )
        hosted_count = session.scalar(
            select(func.count()).select_from(NgsiContext).where(NgsiContext.kind == "Hosted")
        )
    limits = contexts.ContextLimits(cache_max=(cached or 0) + 2)
    urls = [f"{server.base}/schema.jsonld?cap={n}" for n in range(3)]
    for url in urls:
        contexts.resolve(city.ctx.db, user=url, limits=limits, outbound=city.ctx.outbound)
    with city.ctx.reading() as session:
        kept = set(session.scalars(select(NgsiContext.url).where(NgsiContext.kind == "Cached")))
        assert urls[0] not in kept and {urls[1], urls[2]} <= kept
        assert len(kept) == (cached or 0) + 2
        assert (
            session.scalar(
                select(func.count()).select_from(NgsiContext).where(NgsiContext.kind == "Hosted")
            )
            == hosted_count
        )
    assert urls[0] not in context_loader.fetched
