"""The security review's findings, through the public surface of a city that keeps the default
outbound policy (no allow-list): anonymous @context URLs, subscription endpoints and webhooks
cannot reach loopback, private or metadata addresses, and failures do not tell why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cityloop.platforms.application.webhooks.dispatcher import (
    WebhookDispatcher,
    notify_dispatcher_after_commit,
)
from cityloop.platforms.application.webhooks.models import WebhookDelivery
from cityloop.platforms.application.webhooks.rules import WebhookConfig
from cityloop.platforms.application.webhooks.store import enqueue
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import context_loader
from cityloop.platforms.data.perception.ngsild.models import NgsiContext
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS
from tests.support.ngsild import API, KEY, link
from tests.support.receivers import LocalServer, QuietHandler, receiving
from tests.support.servers import free_port
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    return {"outbound_allow": "", "ngsild_anonymous_context_fetches": 0}


@pytest.fixture
def strict(city: City) -> City:
    """A city with the default policy; its anonymous fetch limit is off, so these tests do
    not count against each other (one test below turns it on)."""
    return city


@contextmanager
def serving_a_context() -> Iterator[tuple[str, list[str]]]:
    """A real @context on 127.0.0.1: its base URL, and the paths asked for."""
    asked: list[str] = []
    body = json.dumps({"@context": {"Car": "https://schema.org/Car"}}).encode()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.reply(body, content_type="application/ld+json")

    with closing(LocalServer(Handler)) as server:
        yield server.url, asked


def anonymous_query(city: City, context_url: str) -> Any:
    return city.client.get(API + "/entities", params={"type": "Car"}, headers=link(context_url))


def test_an_anonymous_link_header_cannot_reach_loopback_and_open_and_closed_ports_look_alike(
    strict: City,
) -> None:
    contexts.forget()
    with serving_a_context() as (base, asked):  # a context here; nothing at the other port
        opened = anonymous_query(strict, f"{base}/c.jsonld")
        closed = anonymous_query(strict, f"http://127.0.0.1:{free_port()}/c.jsonld")
    assert asked == []
    assert opened.status_code == closed.status_code == 504
    assert opened.json() == closed.json()
    assert opened.json()["detail"] == context_loader.UNAVAILABLE
    assert opened.json()["type"].endswith("LdContextNotAvailable")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:6379/",
        "http://localhost:6379/",
        "http://10.0.0.1/c.jsonld",
    ],
)
def test_an_anonymous_body_context_cannot_reach_metadata_or_private_addresses(
    strict: City, url: str
) -> None:
    response = strict.client.post(
        API + "/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Car"}], "@context": [url]},
        headers={"Content-Type": "application/ld+json"},
    )
    assert response.status_code == 504
    assert response.json()["detail"] == context_loader.UNAVAILABLE


def test_a_refused_context_is_neither_cached_nor_listed(strict: City) -> None:
    with serving_a_context() as (base, asked):
        url = f"{base}/secret.jsonld"
        assert anonymous_query(strict, url).status_code == 504
    assert asked == []
    listed = strict.client.get(API + "/jsonldContexts").json()
    assert url not in listed
    assert strict.client.get(API + "/jsonldContexts/" + url).status_code == 404
    with strict.ctx.reading() as session:
        assert session.scalar(select(NgsiContext).where(NgsiContext.url == url)) is None


def test_anonymous_context_fetches_are_rate_limited_per_client(
    templates: dict[str, str], tmp_path: Path
) -> None:
    with contextmanager(make_city)(
        templates, BACKENDS[-1], tmp_path, outbound_allow="", ngsild_anonymous_context_fetches=2
    ) as city:
        urls = [f"http://10.0.0.{n}/c.jsonld" for n in range(1, 4)]
        assert [anonymous_query(city, url).status_code for url in urls[:2]] == [504, 504]
        limited = anonymous_query(city, urls[2])
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["type"].endswith("TooManyRequests")
        # The core context needs no fetch, and a caller with credentials is not limited.
        assert city.client.get(API + "/entities", params={"type": "Car"}).status_code == 200
        with_key = city.client.get(
            API + "/entities", params={"type": "Car"}, headers={**link(urls[2]), **KEY}
        )
        assert with_key.status_code == 504


def subscription(uri: str) -> dict[str, Any]:
    return {
        "type": "Subscription",
        "entities": [{"type": "Car"}],
        "notification": {"endpoint": {"uri": uri}},
    }


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:6379/",
        "http://192.168.1.1/hook",
    ],
)
def test_a_subscription_endpoint_the_policy_refuses_is_a_400_naming_the_field(
    strict: City, uri: str
) -> None:
    created = strict.client.post(API + "/subscriptions", json=subscription(uri), headers=KEY)
    assert created.status_code == 400, created.text
    assert "notification.endpoint.uri" in created.json()["detail"]
    listed = strict.client.get(API + "/subscriptions", headers=KEY).json()
    assert all(s["notification"]["endpoint"]["uri"] != uri for s in listed)


def test_a_subscription_cannot_be_patched_to_a_refused_endpoint(strict: City) -> None:
    # A public address is accepted (and never contacted by this test).
    created = strict.client.post(
        API + "/subscriptions", json=subscription("http://93.184.216.34/hook"), headers=KEY
    )
    assert created.status_code == 201, created.text
    path = created.headers["Location"]
    patched = strict.client.patch(
        path, json={"notification": {"endpoint": {"uri": "http://127.0.0.1:6379/"}}}, headers=KEY
    )
    assert patched.status_code == 400
    assert "notification.endpoint.uri" in patched.json()["detail"]
    got = strict.client.get(path, headers=KEY).json()
    assert got["notification"]["endpoint"]["uri"] == "http://93.184.216.34/hook"
    assert strict.client.delete(path, headers=KEY).status_code == 204


def test_the_dispatcher_checks_the_address_again_when_it_sends(strict: City) -> None:
    # Queued while the name pointed elsewhere (or by a path that never checked): at send time
    # the policy still holds, and the refusal is final, not retried.
    dispatcher = WebhookDispatcher(strict.ctx.db, WebhookConfig(), outbound=strict.ctx.outbound)
    undo = notify_dispatcher_after_commit(strict.ctx.db, dispatcher=dispatcher)
    dispatcher.start()
    try:
        with receiving() as receiver:
            with strict.ctx.writing() as session:
                delivery_id = enqueue(
                    session,
                    endpoint=f"http://localhost:{receiver.port}/hook",
                    body=b"{}",
                    content_type="application/json",
                    headers={},
                    source="test.policy",
                    source_id="s1",
                )

            def status() -> str:
                with strict.ctx.reading() as session:
                    row = session.get(WebhookDelivery, delivery_id)
                    assert row is not None
                    return row.status

            wait_until(lambda: status() == "failed", "the refusal")
            assert receiver.received == []
    finally:
        dispatcher.stop()
        undo()
    with strict.ctx.reading() as session:
        row = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
    assert row is not None and row.attempts == 1
    assert (row.last_error or "").startswith("refused")
