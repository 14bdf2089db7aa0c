"""The /jsonldContexts resource (ETSI GS CIM 009 clauses 5.13, 6.30, 6.31): hosted contexts
per tenant, implicitly created ones, the shipped core contexts, details, delete and reload."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import closing

import pytest

from cityloop.platforms.data.perception.ngsild import context as contexts
from tests.support.city import City
from tests.support.ngsild import API, error_type, link
from tests.support.receivers import LocalServer, QuietHandler

pytestmark = pytest.mark.usefixtures("ngsild_credentials")
CORE_V18 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
CORE_V19 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
DETAIL_KEYS = {"URL", "localId", "kind", "createdAt", "lastUsage", "numberOfHits"}


class SwitchableServer(LocalServer):
    """Serves one @context document, which a test may change or take away."""

    def __init__(self) -> None:
        self.document: object | None = {"@context": {"Wagen": "https://schema.org/Car"}}
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if server.document is None:
                    self.reply(b"gone", status=404)
                    return
                self.reply(json.dumps(server.document).encode(), content_type="application/ld+json")

        super().__init__(Handler)


@pytest.fixture(scope="module")
def source() -> Iterator[SwitchableServer]:
    with closing(SwitchableServer()) as running:
        yield running


def _tenant() -> dict[str, str]:
    return {"NGSILD-Tenant": "ctx" + uuid.uuid4().hex[:12]}


def _host(city: City, term: str, headers: dict[str, str] | None = None) -> str:
    """Host a context with one term; returns its local id."""
    body = {"@context": {term: f"urn:ngsi-ld:attributes:{term}"}}
    response = city.client.post(API + "/jsonldContexts", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    assert response.content == b""
    # Clause 6.30.3.2: Location names the hosted context.
    assert response.headers["Location"].startswith(API + "/jsonldContexts/")
    return str(response.headers["Location"].rsplit("/", 1)[1])


def test_a_hosted_context_is_served_back_with_its_details(city: City) -> None:
    """Clause 5.13.4: the document itself, or with details=true its metadata (5.2.39)."""
    local_id = _host(city, "Served")
    served = city.client.get(API + "/jsonldContexts/" + local_id)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/json")
    assert served.json() == {"@context": {"Served": "urn:ngsi-ld:attributes:Served"}}
    info = city.client.get(API + "/jsonldContexts/" + local_id, params={"details": "true"}).json()
    assert info["kind"] == "Hosted" and info["localId"] == local_id
    assert info["URL"].endswith(API + "/jsonldContexts/" + local_id)
    assert set(info) <= DETAIL_KEYS
    # The URL the details give works as the context of another request.
    entity = {"id": f"urn:ngsi-ld:T:{uuid.uuid4().hex}", "type": "T", "Served": 1}
    created = city.client.post(
        API + "/entities",
        json={**entity, "Served": {"type": "Property", "value": 1}},
        headers=link(info["URL"]),
    )
    assert created.status_code == 201, created.text
    used = city.client.get(API + "/jsonldContexts/" + local_id, params={"details": "true"})
    assert used.json()["numberOfHits"] == 1 and "lastUsage" in used.json()


def test_bad_parameters_and_bodies(city: City) -> None:
    """Clauses 5.13.2.4 and 5.13.3.4: a body without @context is InvalidRequest; details and
    kind take fixed values (BadRequestData)."""
    response = city.client.post(API + "/jsonldContexts", json={"A1": "urn:a1"})
    assert response.status_code == 400 and error_type(response) == "InvalidRequest"
    for params in ({"details": "other"}, {"kind": "other"}, {"details": "true", "kind": "x"}):
        response = city.client.get(API + "/jsonldContexts", params=params)
        assert response.status_code == 400 and error_type(response) == "BadRequestData", params
    response = city.client.delete(API + "/jsonldContexts/nothing", params={"reload": "xxx"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"
    response = city.client.get(API + "/jsonldContexts/nothing", params={"details": "true"})
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


def test_hosted_contexts_belong_to_their_tenant(city: City) -> None:
    """Clauses 5.13.3.4, 5.13.4.4, 5.13.5.4 with 5.5.10: another tenant neither lists, reads
    nor deletes a tenant's hosted context."""
    owner, other = _tenant(), _tenant()
    local_id = _host(city, "TenantPrivateTerm", owner)
    # The same document hosted by another tenant is an entry of its own.
    assert _host(city, "TenantPrivateTerm", other) != local_id
    for params in ({}, {"details": "true"}):
        listed = city.client.get(API + "/jsonldContexts", params=params, headers=other)
        assert listed.status_code == 200 and local_id not in listed.text
        shown = city.client.get(API + "/jsonldContexts/" + local_id, params=params, headers=other)
        assert shown.status_code == 404
    assert city.client.delete(API + "/jsonldContexts/" + local_id, headers=other).status_code == 404
    mine = city.client.get(API + "/jsonldContexts/" + local_id, headers=owner)
    assert mine.status_code == 200 and "TenantPrivateTerm" in mine.text
    listed = city.client.get(API + "/jsonldContexts", params={"kind": "Hosted"}, headers=owner)
    assert [url.rsplit("/", 1)[1] for url in listed.json()] == [local_id]
    assert city.client.delete(API + "/jsonldContexts/" + local_id, headers=owner).status_code == 204


def test_an_inline_context_is_implicitly_created(city: City) -> None:
    """Clause 5.13.1: an inline @context (an object, or a list) gets a URL of its own, kind
    ImplicitlyCreated, seen by its tenant alone."""
    tenant = _tenant()
    inline = {"Implicit": "urn:ngsi-ld:attributes:Implicit"}
    created = city.client.post(
        API + "/entities",
        json={"id": f"urn:ngsi-ld:T:{uuid.uuid4().hex}", "type": "T", "@context": inline},
        headers={"Content-Type": "application/ld+json", **tenant},
    )
    assert created.status_code == 201, created.text
    listed = city.client.get(
        API + "/jsonldContexts",
        params={"kind": "ImplicitlyCreated", "details": "true"},
        headers=tenant,
    ).json()
    assert [info["kind"] for info in listed] == ["ImplicitlyCreated"]
    served = city.client.get(API + "/jsonldContexts/" + listed[0]["localId"], headers=tenant)
    assert served.json() == {"@context": inline}
    assert (
        "Implicit"
        not in city.client.get(API + "/jsonldContexts", params={"kind": "ImplicitlyCreated"}).text
    )
    # Its URL works as the context of another request.
    named = city.client.get(
        API + "/entities", params={"type": "T"}, headers={**tenant, **link(listed[0]["URL"])}
    )
    assert named.status_code == 200, named.text
    # Sending it again makes no second entry; deleting it works as for any other.
    city.client.post(
        API + "/entities",
        json={"id": f"urn:ngsi-ld:T:{uuid.uuid4().hex}", "type": "T", "@context": inline},
        headers={"Content-Type": "application/ld+json", **tenant},
    )
    again = city.client.get(
        API + "/jsonldContexts", params={"kind": "ImplicitlyCreated"}, headers=tenant
    )
    assert len(again.json()) == 1
    deleted = city.client.delete(API + "/jsonldContexts/" + listed[0]["localId"], headers=tenant)
    assert deleted.status_code == 204


def test_core_contexts_are_shipped_and_answers_name_v1_8(city: City) -> None:
    """Clause 5.13: the core context is never fetched; answers name the versioned one."""
    listed = city.client.get(API + "/jsonldContexts", params={"kind": "Cached"}).json()
    assert listed[0] == CORE_V18
    for core in ("core", CORE_V18, CORE_V19):
        served = city.client.get(API + "/jsonldContexts/" + core)
        assert served.status_code == 200 and "@context" in served.json()
        # Clause 5.13.5.4: the core context cannot be deleted; a reload has nothing to do.
        deleted = city.client.delete(API + "/jsonldContexts/" + core)
        assert deleted.status_code == 400 and error_type(deleted) == "BadRequestData"
        reloaded = city.client.delete(API + "/jsonldContexts/" + core, params={"reload": "true"})
        assert reloaded.status_code == 204
    v19 = city.client.get(API + "/jsonldContexts/" + CORE_V19).json()["@context"]
    assert "contextSourceAlias" in v19
    assert contexts.resolve(None, user=CORE_V19).expand("contextSourceAlias") == (
        "https://uri.etsi.org/ngsi-ld/contextSourceAlias"
    )
    answer = city.client.get(API + "/types")
    assert CORE_V18 in answer.headers["link"]
    ld = city.client.get(API + "/subscriptions", headers={"Accept": "application/ld+json"})
    assert all(item["@context"] == CORE_V18 for item in ld.json())


def test_reload_fetches_again_and_keeps_the_copy_when_that_fails(
    city: City, source: SwitchableServer
) -> None:
    """Clause 5.13.5.4: reload=true replaces a cached context with a fresh copy; when the
    source is unreachable the answer is 504 LdContextNotAvailable and the old copy stays."""
    contexts.forget()
    url = f"{source.url}/ctx-{uuid.uuid4().hex}.jsonld"
    source.document = {"@context": {"Wagen": "https://schema.org/Car"}}
    first = city.client.get(API + "/entities", params={"type": "Wagen"}, headers=link(url))
    assert first.status_code == 200, first.text
    quoted = API + "/jsonldContexts/" + url
    assert city.client.get(quoted, params={"details": "true"}).json()["kind"] == "Cached"
    source.document = {"@context": {"Wagen": "https://schema.org/Vehicle"}}
    assert city.client.delete(quoted, params={"reload": "true"}).status_code == 204
    assert "Vehicle" in city.client.get(quoted).text
    source.document = None
    failed = city.client.delete(quoted, params={"reload": "true"})
    assert failed.status_code == 504 and error_type(failed) == "LdContextNotAvailable"
    assert "Vehicle" in city.client.get(quoted).text
    assert city.client.delete(quoted).status_code == 204
    assert city.client.get(quoted).status_code == 404
    # A hosted context has nothing to reload.
    local_id = _host(city, "NoReload")
    hosted = city.client.delete(API + "/jsonldContexts/" + local_id, params={"reload": "true"})
    assert hosted.status_code == 400 and error_type(hosted) == "BadRequestData"
