"""NGSI-LD subscriptions over HTTP: CRUD and validation, matching (through the API and through
device ingest), notifications to real local receivers under the subscriber's own @context,
isolation between subscribers, delivery status, and access control on /ngsi-ld/v1.

"Not notified" is checked on the queue itself after draining the outbox: the matcher enqueues
inside the relay's transaction, so an empty queue after the drain means no notification."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from cityloop.base.db import utcnow
from cityloop.demo.seed import DEMO_API_KEY
from cityloop.platforms.application.webhooks.dispatcher import (
    WebhookDispatcher,
)
from cityloop.platforms.application.webhooks.models import WebhookDelivery, WebhookSourceStats
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import notifier, subscriptions
from cityloop.platforms.data.perception.ngsild.models import NgsiSubscription
from tests.support.city import City
from tests.support.fuzz import Leaf, garbage
from tests.support.ngsild import API, KEY, REL, error_type
from tests.support.receivers import LocalServer, QuietHandler, receiving
from tests.support.waiting import wait_until
from tests.support.webhooks import clear_webhook_queue
from tests.support.webhooks import dispatching as webhook_dispatching

FAST = {"backoff_base_seconds": 0.05, "backoff_cap_seconds": 0.2, "poll_seconds": 0.05}
# A subscriber's own vocabulary: the same IRIs under its own names.
USER_CONTEXT = {
    "@context": {
        "Bin": "https://example.org/city#WasteBin",
        "fill": "https://example.org/city#fillRatio",
        "colour": "https://example.org/city#colour",
    }
}


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean(city: City) -> Iterator[None]:
    """Each test sees only its own subscriptions and notifications."""
    with city.ctx.writing() as session:
        for tenant, sid in session.execute(
            select(NgsiSubscription.tenant, NgsiSubscription.subscription_id)
        ).all():
            subscriptions.delete_subscription(session, tenant=tenant, subscription_id=sid)
        clear_webhook_queue(session)
    yield


def dispatching(city: City) -> AbstractContextManager[WebhookDispatcher]:
    return webhook_dispatching(city, **FAST)


def call(
    city: City, method: str, path: str, body: Any = None, expect: int | None = None, **headers: str
) -> Any:
    merged = {**KEY, **headers}
    response = city.client.request(method, API + path, json=body, headers=merged)
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


def subscribe(city: City, body: dict[str, Any], **headers: str) -> str:
    body = {"type": "Subscription", **body}
    response = call(city, "POST", "/subscriptions", body, 201, **headers)
    location = response.headers["Location"]
    assert location.startswith(API + "/subscriptions/urn:")
    return str(location.removeprefix(API + "/subscriptions/"))


def bin_entity(local: str, kind: str, level: float = 0.5, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:{kind}:{local}",
        "type": kind,
        "fillingLevel": {"type": "Property", "value": level},
        "status": {"type": "Property", "value": "ok"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [8.68, 49.4]},
        },
        **extra,
    }


def set_level(city: City, entity_id: str, level: float) -> None:
    call(
        city,
        "PATCH",
        f"/entities/{entity_id}/attrs",
        {"fillingLevel": {"type": "Property", "value": level}},
        204,
    )


def queued(city: City, subscription_id: str) -> list[dict[str, Any]]:
    """The notifications queued for a subscription (after draining the outbox)."""
    city.drain()
    with city.ctx.reading() as session:
        row_id = session.scalar(
            select(NgsiSubscription.id).where(NgsiSubscription.subscription_id == subscription_id)
        )
        rows = session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.source == subscriptions.SOURCE,
                WebhookDelivery.source_id == str(row_id),
            )
            .order_by(WebhookDelivery.id)
        ).all()
        return [
            {"body": json.loads(r.body), "headers": r.headers, "type": r.content_type} for r in rows
        ]


def target(uri: str = "http://127.0.0.1:9/notify", **extra: Any) -> dict[str, Any]:
    """The endpoint member of a notification."""
    return {"endpoint": {"uri": uri, **extra}}


def endpoint(uri: str = "http://127.0.0.1:9/notify", **extra: Any) -> dict[str, Any]:
    """A whole notification member with just an endpoint."""
    return {"notification": target(uri, **extra)}


# --- CRUD -------------------------------------------------------------------------------------


def test_create_read_list_patch_and_delete(city: City) -> None:
    sid = subscribe(
        city,
        {
            "subscriptionName": "full bins",
            "description": "tell the depot",
            "entities": [{"type": "WasteContainer", "idPattern": "^urn:ngsi-ld:WasteContainer:"}],
            "watchedAttributes": ["fillingLevel"],
            "q": "fillingLevel>0.8",
            "geoQ": {
                "georel": "near;maxDistance==500",
                "geometry": "Point",
                "coordinates": [8.68, 49.4],
            },
            "notification": {
                "attributes": ["fillingLevel"],
                "format": "keyValues",
                "endpoint": {
                    "uri": "http://127.0.0.1:9/notify",
                    "accept": "application/json",
                    "receiverInfo": [{"key": "X-Token", "value": "abc"}],
                },
            },
            "throttling": 10,
            "expiresAt": "2099-01-01T00:00:00Z",
        },
    )
    got = call(city, "GET", f"/subscriptions/{sid}", expect=200).json()
    assert got["id"] == sid and got["type"] == "Subscription"
    assert got["entities"] == [
        {"type": "WasteContainer", "idPattern": "^urn:ngsi-ld:WasteContainer:"}
    ]
    assert got["watchedAttributes"] == ["fillingLevel"]
    assert got["q"] == "fillingLevel>0.8"
    assert got["geoQ"]["geoproperty"] == "location"
    assert got["notification"]["format"] == "keyValues"
    assert got["notification"]["attributes"] == ["fillingLevel"]
    assert got["notification"]["endpoint"]["receiverInfo"] == [{"key": "X-Token", "value": "abc"}]
    # notification.status is the last attempt's outcome: none before the first one.
    assert "status" not in got["notification"] and got["notification"]["timesSent"] == 0
    # isActive is shown only when false: absent means the default, true (Table 5.2.12-1).
    assert got["status"] == "active" and "isActive" not in got
    assert got["throttling"] == 10 and got["expiresAt"] == "2099-01-01T00:00:00Z"
    again = call(city, "POST", "/subscriptions", {**got, "status": "active"}, 409)
    assert error_type(again) == "AlreadyExists"
    given = subscribe(
        city, {"id": "urn:ngsi-ld:Subscription:mine", "watchedAttributes": ["x"], **endpoint()}
    )
    assert given == "urn:ngsi-ld:Subscription:mine"
    listed = call(city, "GET", "/subscriptions", expect=200, **{}).json()
    assert {s["id"] for s in listed} == {sid, given}
    paged = city.client.get(API + "/subscriptions", params={"limit": 1, "count": "true"})
    assert paged.headers["NGSILD-Results-Count"] == "2" and len(paged.json()) == 1
    call(city, "PATCH", f"/subscriptions/{sid}", {"isActive": False, "q": "fillingLevel>0.9"}, 204)
    patched = call(city, "GET", f"/subscriptions/{sid}", expect=200).json()
    assert patched["status"] == "paused" and patched["q"] == "fillingLevel>0.9"
    call(city, "PATCH", f"/subscriptions/{sid}", {"notification": {"format": "concise"}}, 204)
    patched = call(city, "GET", f"/subscriptions/{sid}", expect=200).json()
    assert patched["notification"]["format"] == "concise"
    assert patched["notification"]["endpoint"]["uri"] == "http://127.0.0.1:9/notify"
    call(city, "DELETE", f"/subscriptions/{sid}", expect=204)
    missing = call(city, "GET", f"/subscriptions/{sid}", expect=404)
    assert error_type(missing) == "ResourceNotFound"
    assert call(city, "DELETE", f"/subscriptions/{sid}", expect=404).status_code == 404


def test_tenants_keep_their_own_subscriptions(city: City) -> None:
    sid = subscribe(city, {"watchedAttributes": ["x"], **endpoint()}, **{"NGSILD-Tenant": "subs1"})
    assert call(city, "GET", f"/subscriptions/{sid}", expect=404).status_code == 404
    theirs = city.client.get(API + "/subscriptions", headers={"NGSILD-Tenant": "subs1"}).json()
    assert [s["id"] for s in theirs] == [sid]
    unknown = city.client.get(API + "/subscriptions", headers={"NGSILD-Tenant": "nobody"})
    assert error_type(unknown) == "NonexistentTenant"


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("no notification", {"watchedAttributes": ["a"]}),
    ("neither entities nor watchedAttributes", {**endpoint()}),
    ("wrong type", {"type": "Subscriptions", "watchedAttributes": ["a"], **endpoint()}),
    ("id not a URI", {"id": "not a uri", "watchedAttributes": ["a"], **endpoint()}),
    ("empty entities", {"entities": [], **endpoint()}),
    ("entity without type", {"entities": [{"id": "urn:x:1"}], **endpoint()}),
    ("entity id not a URI", {"entities": [{"type": "T", "id": "x y"}], **endpoint()}),
    ("bad idPattern", {"entities": [{"type": "T", "idPattern": "(["}], **endpoint()}),
    ("back-reference", {"entities": [{"type": "T", "idPattern": "(a+)\\1"}], **endpoint()}),
    (
        "id and idPattern",
        {"entities": [{"type": "T", "id": "urn:a", "idPattern": "a"}], **endpoint()},
    ),
    ("unknown selector member", {"entities": [{"type": "T", "x": 1}], **endpoint()}),
    ("watched not a list", {"watchedAttributes": "a", **endpoint()}),
    ("watched bad name", {"watchedAttributes": ["a b"], **endpoint()}),
    ("bad q", {"watchedAttributes": ["a"], "q": "a==", **endpoint()}),
    ("q not text", {"watchedAttributes": ["a"], "q": 5, **endpoint()}),
    ("geoQ incomplete", {"watchedAttributes": ["a"], "geoQ": {"georel": "within"}, **endpoint()}),
    (
        "geoQ bad relation",
        {
            "watchedAttributes": ["a"],
            "geoQ": {"georel": "inside", "geometry": "Point", "coordinates": [1, 2]},
            **endpoint(),
        },
    ),
    (
        "geoQ bad coordinates",
        {
            "watchedAttributes": ["a"],
            "geoQ": {"georel": "within", "geometry": "Polygon", "coordinates": [[[1, 2]]]},
            **endpoint(),
        },
    ),
    (
        "geoQ coordinates out of range",
        {
            "watchedAttributes": ["a"],
            "geoQ": {"georel": "near;maxDistance==5", "geometry": "Point", "coordinates": [500, 2]},
            **endpoint(),
        },
    ),
    ("endpoint not http", {"watchedAttributes": ["a"], **endpoint("ftp://example.org/x")}),
    ("endpoint not a URL", {"watchedAttributes": ["a"], **endpoint("not a url")}),
    ("endpoint with credentials", {"watchedAttributes": ["a"], **endpoint("http://u:p@h/x")}),
    ("endpoint missing", {"watchedAttributes": ["a"], "notification": {"format": "keyValues"}}),
    ("bad accept", {"watchedAttributes": ["a"], **endpoint(accept="text/plain")}),
    (
        "bad receiverInfo",
        {"watchedAttributes": ["a"], **endpoint(receiverInfo=[{"key": "A B", "value": "x"}])},
    ),
    (
        "receiverInfo line break",
        {"watchedAttributes": ["a"], **endpoint(receiverInfo=[{"key": "A", "value": "x\r\ny"}])},
    ),
    (
        "receiverInfo sets Content-Type",
        {
            "watchedAttributes": ["a"],
            **endpoint(receiverInfo=[{"key": "Content-Type", "value": "x"}]),
        },
    ),
    (
        "bad format",
        {
            "watchedAttributes": ["a"],
            "notification": {"format": "simplified!", **target()},
        },
    ),
    ("expired", {"watchedAttributes": ["a"], "expiresAt": "2001-01-01T00:00:00Z", **endpoint()}),
    ("expiresAt not a time", {"watchedAttributes": ["a"], "expiresAt": "soon", **endpoint()}),
    ("negative throttling", {"watchedAttributes": ["a"], "throttling": -1, **endpoint()}),
    ("throttling not a number", {"watchedAttributes": ["a"], "throttling": "5", **endpoint()}),
    ("isActive not a boolean", {"watchedAttributes": ["a"], "isActive": "yes", **endpoint()}),
    ("unsupported member", {"watchedAttributes": ["a"], "timeInterval": 5, **endpoint()}),
    ("jsonldContext not http", {"watchedAttributes": ["a"], "jsonldContext": "x", **endpoint()}),
]


@pytest.mark.parametrize("name,body", BAD_BODIES, ids=[name for name, _ in BAD_BODIES])
def test_bad_subscriptions_are_400_bad_request_data(
    city: City, name: str, body: dict[str, Any]
) -> None:
    body = {"type": "Subscription", **body} if "type" not in body else body
    response = call(city, "POST", "/subscriptions", body)
    assert response.status_code == 400, (name, response.text)
    assert error_type(response) == "BadRequestData"
    assert call(city, "GET", "/subscriptions", expect=200).json() == []  # nothing half-written


def test_bad_requests_around_subscriptions(city: City) -> None:
    raw = city.client.post(
        API + "/subscriptions",
        content=b"{not json",
        headers={**KEY, "Content-Type": "application/json"},
    )
    assert raw.status_code == 400 and error_type(raw) == "InvalidRequest"
    ld_without_context = call(
        city,
        "POST",
        "/subscriptions",
        {"type": "Subscription", "watchedAttributes": ["a"], **endpoint()},
        400,
        **{"Content-Type": "application/ld+json"},
    )
    assert "@context" in ld_without_context.json()["detail"]
    sid = subscribe(city, {"watchedAttributes": ["a"], **endpoint()})
    for patch, word in (
        ({}, "nothing"),
        ({"isActive": 1}, "isActive"),
        ({"expiresAt": "2000-01-01T00:00:00Z"}, "future"),
        ({"watchedAttributes": []}, "watchedAttributes"),
        ({"id": "urn:ngsi-ld:Subscription:other"}, "differs"),
        ({"notification": {"endpoint": {"uri": "mailto:x@example.org"}}}, "http"),
    ):
        response = call(city, "PATCH", f"/subscriptions/{sid}", patch, 400)
        assert word in response.json()["detail"], (patch, response.text)
    assert call(city, "GET", "/subscriptions/not%20a%20uri", expect=400).status_code == 400
    missing = call(
        city, "PATCH", "/subscriptions/urn:ngsi-ld:Subscription:none", {"isActive": True}
    )
    assert missing.status_code == 404
    too_many = city.client.get(API + "/subscriptions", params={"limit": 5000})
    assert error_type(too_many) == "TooManyResults"


# What the fuzzer below builds subscription bodies from (tests.support.fuzz.garbage).
FUZZ_LEAVES: list[Leaf] = [
    lambda rng: None,
    lambda rng: rng.choice([True, False, 0, -1, 1e308, 3.5]),
    lambda rng: rng.choice(["", "x", "urn:a:b", "http://127.0.0.1:1/x", "a==", "\x00", "ä" * 3]),
    lambda rng: "2099-01-01T00:00:00Z",
    lambda rng: rng.choice(["near;maxDistance==5", "within", "Point", "keyValues"]),
    lambda rng: [1, 2],
]
FUZZ_KEYS = [
    "type",
    "id",
    "idPattern",
    "uri",
    "accept",
    "receiverInfo",
    "key",
    "value",
    "endpoint",
    "attributes",
    "format",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
]


def _garbage(rng: random.Random) -> Any:
    return garbage(rng, FUZZ_LEAVES, FUZZ_KEYS, max_depth=3, width=4)


def test_fuzzed_subscriptions_never_give_a_500(city: City) -> None:
    rng = random.Random(20261127)
    sid = subscribe(city, {"watchedAttributes": ["a"], **endpoint()})
    members = [
        "entities",
        "watchedAttributes",
        "q",
        "geoQ",
        "notification",
        "isActive",
        "expiresAt",
        "throttling",
        "description",
        "subscriptionName",
        "id",
        "jsonldContext",
    ]
    for n in range(300):
        body: Any = {m: _garbage(rng) for m in rng.sample(members, rng.randrange(1, 6))}
        if n % 2:
            body["type"] = "Subscription"
        if n % 5 == 0:
            body = _garbage(rng)
        method, path = ("POST", "/subscriptions") if n % 3 else ("PATCH", f"/subscriptions/{sid}")
        response = call(city, method, path, body)
        unreachable = (
            response.status_code == 504 and error_type(response) == "LdContextNotAvailable"
        )
        assert response.status_code < 500 or unreachable, (method, body, response.text)
        if response.status_code == 201:
            created = response.headers["Location"].removeprefix(API + "/subscriptions/")
            got = call(city, "GET", f"/subscriptions/{created}")
            assert got.status_code == 200, got.text
    assert call(city, "GET", f"/subscriptions/{sid}").status_code == 200


# --- matching ---------------------------------------------------------------------------------


def test_a_watched_change_through_the_api_reaches_a_real_receiver(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("n1", "SubBinA"), 201)
    with receiving() as receiver, dispatching(city):
        sid = subscribe(
            city,
            {
                "entities": [{"type": "SubBinA"}],
                "watchedAttributes": ["fillingLevel"],
                "notification": {
                    "attributes": ["fillingLevel"],
                    "endpoint": {
                        "uri": receiver.url + "/hook",
                        "receiverInfo": [{"key": "X-Token", "value": "s3cret"}],
                    },
                },
            },
        )
        set_level(city, "urn:ngsi-ld:SubBinA:n1", 0.9)
        city.drain()
        wait_until(lambda: len(receiver.received) == 1, "the notification")
        got = receiver.received[0]
        body = json.loads(got.body)
        assert got.path == "/hook"
        assert got.headers["x-token"] == "s3cret"
        assert got.headers["content-type"].startswith("application/json")
        assert "ngsi-ld-core-context" in got.headers["link"]
        assert body["type"] == "Notification" and body["subscriptionId"] == sid
        assert body["id"].startswith("urn:ngsi-ld:Notification:") and body["notifiedAt"]
        assert body["data"] == [
            {
                "id": "urn:ngsi-ld:SubBinA:n1",
                "type": "SubBinA",
                "fillingLevel": {"type": "Property", "value": 0.9},
            }
        ]
        status = call(city, "GET", f"/subscriptions/{sid}").json()["notification"]
        wait_until(
            lambda: (
                call(city, "GET", f"/subscriptions/{sid}").json()["notification"].get("lastSuccess")
                is not None
            ),
            "the success to be recorded",
        )
        status = call(city, "GET", f"/subscriptions/{sid}").json()["notification"]
        assert status["timesSent"] == 1 and status["status"] == "ok"
        assert status["lastNotification"] and "lastFailure" not in status


def _setup_device(city: City) -> None:
    base = "/api/v1/perception"
    admin = city.headers("admin")
    if city.client.get(base + "/devices/sub-tilt-1", headers=admin).status_code == 200:
        return
    profile = {
        "code": "sub-ul",
        "name": "UL tilt sensor",
        "entity_type": "ManholeCover",
        "codec": "ul",
        "codec_config": {
            "mappings": [
                {"object_id": "t", "name": "tilt", "type": "Number", "unit": "DD"},
                {"object_id": "s", "name": "status", "type": "Text"},
            ]
        },
    }
    assert city.client.post(base + "/profiles", json=profile, headers=admin).status_code == 201
    group = city.client.post(
        base + "/groups",
        json={"apikey": "sub-ul-key-00001", "profile_code": "sub-ul"},
        headers=admin,
    )
    assert group.status_code == 201, group.text
    for device_id in ("sub-tilt-1", "sub-tilt-2", "sub-tilt-3"):
        device = city.client.post(
            base + "/devices",
            json={"device_id": device_id, "group_id": group.json()["id"]},
            headers=admin,
        )
        assert device.status_code == 201, device.text


def test_a_device_reading_through_ingest_reaches_a_real_receiver(city: City) -> None:
    _setup_device(city)
    with receiving() as receiver, dispatching(city):
        sid = subscribe(
            city,
            {
                "entities": [
                    {"type": "ManholeCover", "idPattern": "^urn:ngsi-ld:ManholeCover:sub-"}
                ],
                "watchedAttributes": ["tilt"],
                "q": "tilt>10",
                "notification": {"format": "keyValues", **target(receiver.url)},
            },
        )
        response = city.client.post(
            "/iot/d",
            params={"k": "sub-ul-key-00001", "i": "sub-tilt-1"},
            content=b"2026-03-01T10:00:00Z|t|3|s|closed",
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 200, response.text
        assert queued(city, sid) == []  # q is false: tilt 3
        response = city.client.post(
            "/iot/d",
            params={"k": "sub-ul-key-00001", "i": "sub-tilt-1"},
            content=b"2026-03-01T10:01:00Z|t|42.5",
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 200, response.text
        city.drain()
        wait_until(lambda: len(receiver.received) == 1, "the device notification")
        data = json.loads(receiver.received[0].body)["data"][0]
        assert data["id"] == "urn:ngsi-ld:ManholeCover:sub-tilt-1"
        assert data["tilt"] == 42.5 and data["status"] == "closed"


def test_a_batch_of_readings_notifies_once_per_entity_it_changed(city: City) -> None:
    _setup_device(city)
    with receiving() as receiver, dispatching(city):
        subscribe(
            city,
            {
                "entities": [
                    {"type": "ManholeCover", "idPattern": "^urn:ngsi-ld:ManholeCover:sub-"}
                ],
                "watchedAttributes": ["status"],
                "notification": {"format": "keyValues", **target(receiver.url)},
            },
        )
        measures = [
            {"k": "sub-ul-key-00001", "i": device_id, "payload": f"{stamp}|s|{state}"}
            for device_id, stamp, state in (
                ("sub-tilt-2", "2026-04-01T10:00:00Z", "open"),
                ("sub-tilt-3", "2026-04-01T10:00:00Z", "open"),
                ("sub-tilt-2", "2026-04-01T10:05:00Z", "closed"),
            )
        ]
        response = city.client.post("/api/v1/perception/measures", json={"measures": measures})
        assert response.status_code == 200, response.text
        city.drain()
        wait_until(lambda: len(receiver.received) == 2, "a notification per entity")
        notified = {
            item["id"]: item["status"]
            for message in receiver.received
            for item in json.loads(message.body)["data"]
        }
        # One per entity, with its newest state, not one per message.
        assert notified == {
            "urn:ngsi-ld:ManholeCover:sub-tilt-2": "closed",
            "urn:ngsi-ld:ManholeCover:sub-tilt-3": "open",
        }


def test_changes_that_do_not_match_queue_nothing(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("m1", "SubBinB", 0.5), 201)
    call(city, "POST", "/entities", bin_entity("other-1", "SubBinB", 0.5), 201)
    watched = subscribe(
        city,
        {"entities": [{"type": "SubBinB"}], "watchedAttributes": ["fillingLevel"], **endpoint()},
    )
    other_type = subscribe(city, {"entities": [{"type": "SubBinZ"}], **endpoint()})
    pattern = subscribe(
        city,
        {"entities": [{"type": "SubBinB", "idPattern": "^urn:ngsi-ld:SubBinB:m"}], **endpoint()},
    )
    by_id = subscribe(
        city, {"entities": [{"type": "SubBinB", "id": "urn:ngsi-ld:SubBinB:m1"}], **endpoint()}
    )
    high = subscribe(
        city, {"entities": [{"type": "SubBinB"}], "q": "fillingLevel>0.8", **endpoint()}
    )
    far = subscribe(
        city,
        {
            "entities": [{"type": "SubBinB"}],
            "geoQ": {
                "georel": "near;maxDistance==1000",
                "geometry": "Point",
                "coordinates": [9.5, 50.1],
            },
            **endpoint(),
        },
    )
    near = subscribe(
        city,
        {
            "entities": [{"type": "SubBinB"}],
            "geoQ": {
                "georel": "near;maxDistance==1000",
                "geometry": "Point",
                "coordinates": [8.681, 49.4],
            },
            **endpoint(),
        },
    )
    paused = subscribe(city, {"entities": [{"type": "SubBinB"}], "isActive": False, **endpoint()})
    expiring = subscribe(
        city, {"entities": [{"type": "SubBinB"}], "expiresAt": "2099-01-01T00:00:00Z", **endpoint()}
    )
    with city.ctx.writing() as session:  # it expired since: the clock moved, not the API
        session.execute(
            update(NgsiSubscription)
            .where(NgsiSubscription.subscription_id == expiring)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert call(city, "GET", f"/subscriptions/{expiring}").json()["status"] == "expired"
    # An unwatched attribute changes.
    call(
        city,
        "PATCH",
        "/entities/urn:ngsi-ld:SubBinB:m1/attrs",
        {"status": {"type": "Property", "value": "jammed"}},
        204,
    )
    assert queued(city, watched) == []
    assert len(queued(city, pattern)) == 1 and len(queued(city, by_id)) == 1
    assert len(queued(city, near)) == 1
    # The watched attribute changes on the other bin, still below the q threshold.
    set_level(city, "urn:ngsi-ld:SubBinB:other-1", 0.6)
    assert len(queued(city, watched)) == 1
    assert len(queued(city, pattern)) == 1 and len(queued(city, by_id)) == 1
    for silent in (other_type, high, far, paused, expiring):
        assert queued(city, silent) == [], silent
    # Now q holds.
    set_level(city, "urn:ngsi-ld:SubBinB:m1", 0.95)
    assert len(queued(city, high)) == 1
    assert queued(city, far) == [] and queued(city, paused) == [] and queued(city, expiring) == []
    # Resuming a paused subscription makes it match again.
    call(city, "PATCH", f"/subscriptions/{paused}", {"isActive": True}, 204)
    set_level(city, "urn:ngsi-ld:SubBinB:m1", 0.97)
    assert len(queued(city, paused)) == 1
    # Deleting the entity notifies nobody (deletion notifications are not offered).
    before = len(queued(city, by_id))
    call(city, "DELETE", "/entities/urn:ngsi-ld:SubBinB:m1", expect=204)
    assert len(queued(city, by_id)) == before


def test_throttling_holds_back_notifications_within_its_window(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("t1", "SubBinC"), 201)
    throttled = subscribe(
        city, {"entities": [{"type": "SubBinC"}], "throttling": 3600, **endpoint()}
    )
    free = subscribe(city, {"entities": [{"type": "SubBinC"}], **endpoint()})
    for level in (0.1, 0.2, 0.3):
        set_level(city, "urn:ngsi-ld:SubBinC:t1", level)
    assert len(queued(city, throttled)) == 1
    assert len(queued(city, free)) == 3
    with city.ctx.writing() as session:  # the window has passed
        session.execute(
            update(NgsiSubscription)
            .where(NgsiSubscription.subscription_id == throttled)
            .values(last_notified_at=utcnow() - timedelta(hours=2))
        )
    set_level(city, "urn:ngsi-ld:SubBinC:t1", 0.4)
    notes = queued(city, throttled)
    assert len(notes) == 2
    assert notes[1]["body"]["data"][0]["fillingLevel"]["value"] == 0.4


def test_formats_and_attribute_projection(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("f1", "SubBinD", 0.3), 201)
    concise = subscribe(
        city,
        {
            "entities": [{"type": "SubBinD"}],
            "notification": {"format": "concise", "attributes": ["fillingLevel"], **target()},
        },
    )
    ld = subscribe(
        city,
        {"entities": [{"type": "SubBinD"}], **endpoint(accept="application/ld+json")},
    )
    set_level(city, "urn:ngsi-ld:SubBinD:f1", 0.35)
    [note] = queued(city, concise)
    assert note["body"]["data"] == [
        {"id": "urn:ngsi-ld:SubBinD:f1", "type": "SubBinD", "fillingLevel": 0.35}
    ]
    [note] = queued(city, ld)
    assert note["type"] == "application/ld+json"
    assert "ngsi-ld-core-context" in json.dumps(note["body"]["@context"])
    assert "Link" not in note["headers"]
    # Each notified entity is a JSON-LD document of its own (clause 5.3.1 with accept ld+json).
    entity = note["body"]["data"][0]
    assert set(entity) == {"id", "type", "fillingLevel", "status", "location", "@context"}
    assert entity["@context"] == note["body"]["@context"]


# --- the subscriber's own @context ------------------------------------------------------------


class ContextServer(LocalServer):
    """Serves USER_CONTEXT over real HTTP, as a subscriber's own vocabulary would be."""

    def __init__(self) -> None:
        document = json.dumps(USER_CONTEXT).encode()
        self.hits = 0
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.hits += 1
                self.reply(document, content_type="application/ld+json")

        super().__init__(Handler)
        self.url += "/city.jsonld"  # the document's own address


@pytest.fixture(scope="module")
def context_server() -> Iterator[ContextServer]:
    with closing(ContextServer()) as server:
        yield server


def test_notifications_compact_under_the_subscribers_own_context(
    city: City, context_server: ContextServer
) -> None:
    # The publisher names the IRIs in full; the subscriber knows them as Bin / fill / colour.
    call(
        city,
        "POST",
        "/entities",
        {
            "id": "urn:ngsi-ld:Bin:u1",
            "type": "https://example.org/city#WasteBin",
            "https://example.org/city#fillRatio": {"type": "Property", "value": 0.2},
            "https://example.org/city#colour": {"type": "Property", "value": "green"},
        },
        201,
    )
    link = {"Link": f"<{context_server.url}>; {REL}"}
    with receiving() as receiver, dispatching(city):
        sid = subscribe(
            city,
            {
                "entities": [{"type": "Bin"}],
                "watchedAttributes": ["fill"],
                "q": "fill>0.5",
                "notification": {"attributes": ["fill"], **target(receiver.url)},
            },
            **link,
        )
        shown = call(city, "GET", f"/subscriptions/{sid}", **link).json()
        assert shown["entities"] == [{"type": "Bin"}] and shown["watchedAttributes"] == ["fill"]
        assert call(city, "GET", f"/subscriptions/{sid}").json()["watchedAttributes"] == [
            "https://example.org/city#fillRatio"
        ]
        call(
            city,
            "PATCH",
            "/entities/urn:ngsi-ld:Bin:u1/attrs",
            {"https://example.org/city#fillRatio": {"type": "Property", "value": 0.8}},
            204,
        )
        city.drain()
        wait_until(lambda: len(receiver.received) == 1, "the notification")
        got = receiver.received[0]
        assert context_server.url in got.headers["link"]
        assert json.loads(got.body)["data"] == [
            {"id": "urn:ngsi-ld:Bin:u1", "type": "Bin", "fill": {"type": "Property", "value": 0.8}}
        ]
    # With ld+json the context travels in the body: an inline one works too.
    inline = subscribe(
        city,
        {
            "entities": [{"type": "Bin"}],
            **endpoint(accept="application/ld+json"),
            "@context": USER_CONTEXT["@context"],
        },
        **{"Content-Type": "application/ld+json"},
    )
    call(
        city,
        "PATCH",
        "/entities/urn:ngsi-ld:Bin:u1/attrs",
        {"https://example.org/city#colour": {"type": "Property", "value": "red"}},
        204,
    )
    [note] = queued(city, inline)
    assert note["body"]["@context"] == USER_CONTEXT["@context"]
    assert note["body"]["data"][0]["colour"] == {"type": "Property", "value": "red"}


# --- isolation and status ---------------------------------------------------------------------


def test_a_dead_endpoint_does_not_delay_a_healthy_subscriber(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("i1", "SubBinE"), 201)
    with (
        receiving(hold=True) as stuck,
        receiving() as healthy,
        dispatching(city),
    ):
        subscribe(city, {"entities": [{"type": "SubBinE"}], **endpoint(stuck.url)})
        subscribe(city, {"entities": [{"type": "SubBinE"}], **endpoint(healthy.url)})
        set_level(city, "urn:ngsi-ld:SubBinE:i1", 0.7)
        city.drain()
        wait_until(lambda: len(stuck.received) == 1, "the stuck endpoint to hold a request")
        wait_until(lambda: len(healthy.received) == 1, "the healthy subscriber")
        # Causality: the healthy subscriber was served while the other request still hangs.
        assert stuck.open_requests == 1 and not stuck.released.is_set()
        stuck.release()


def test_status_fields_follow_failures_and_successes(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("s1", "SubBinF"), 201)
    with receiving(statuses=[400]) as receiver, dispatching(city):
        sid = subscribe(city, {"entities": [{"type": "SubBinF"}], **endpoint(receiver.url)})

        def status() -> dict[str, Any]:
            return dict(call(city, "GET", f"/subscriptions/{sid}").json()["notification"])

        set_level(city, "urn:ngsi-ld:SubBinF:s1", 0.1)
        city.drain()
        wait_until(lambda: status().get("lastFailure") is not None, "the failure")
        failed = status()
        assert failed["status"] == "failed" and failed["timesSent"] == 1
        assert "lastSuccess" not in failed
        set_level(city, "urn:ngsi-ld:SubBinF:s1", 0.2)
        city.drain()
        wait_until(lambda: status().get("lastSuccess") is not None, "the success")
        ok = status()
        assert ok["status"] == "ok" and ok["timesSent"] == 2
        assert ok["lastNotification"] >= ok["lastFailure"]
        listed = call(city, "GET", "/subscriptions").json()
        assert listed[0]["notification"]["timesSent"] == 2
    call(city, "DELETE", f"/subscriptions/{sid}", expect=204)
    with city.ctx.reading() as session:
        assert session.scalars(select(WebhookSourceStats)).all() == []


def test_deleting_a_subscription_drops_its_queued_notifications(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("d1", "SubBinG"), 201)
    sid = subscribe(city, {"entities": [{"type": "SubBinG"}], **endpoint()})
    set_level(city, "urn:ngsi-ld:SubBinG:d1", 0.3)
    assert len(queued(city, sid)) == 1
    call(city, "DELETE", f"/subscriptions/{sid}", expect=204)
    with city.ctx.reading() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []


# --- access control ---------------------------------------------------------------------------


def test_writes_need_credentials(city: City) -> None:
    body = {"id": "urn:ngsi-ld:SubBinH:a1", "type": "SubBinH"}
    bare = city.client.post(API + "/entities", json=body)
    assert bare.status_code == 401 and error_type(bare) == "Unauthorized"
    assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    for headers in (
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer a.b.c"},
        {"X-Api-Key": "wrong"},
        {"Authorization": "Basic YWRtaW46ZGVtbw=="},
    ):
        response = city.client.post(API + "/entities", json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert error_type(response) == "Unauthorized"
    for user in ("citizen", "supervisor", "inspector"):
        response = city.client.post(API + "/entities", json=body, headers=city.headers(user))
        assert response.status_code == 403, (user, response.text)
        assert error_type(response) == "Forbidden"
    subscription = {"type": "Subscription", "watchedAttributes": ["a"], **endpoint()}
    for method, path, payload in (
        ("POST", "/subscriptions", subscription),
        ("PATCH", "/subscriptions/urn:ngsi-ld:Subscription:x", {"isActive": False}),
        ("DELETE", "/subscriptions/urn:ngsi-ld:Subscription:x", None),
        ("POST", "/entityOperations/upsert", [body]),
        ("POST", "/jsonldContexts", USER_CONTEXT),
        ("DELETE", "/jsonldContexts/abc", None),
        ("DELETE", "/entities/urn:ngsi-ld:SubBinH:a1", None),
        ("PUT", "/entities/urn:ngsi-ld:SubBinH:a1", body),
    ):
        response = city.client.request(method, API + path, json=payload)
        assert response.status_code == 401, (method, path, response.text)
    ok = [
        city.client.post(API + "/entities", json=body, headers=city.headers("admin")),
        city.client.post(
            API + "/entities/urn:ngsi-ld:SubBinH:a1/attrs",
            json={"p": {"type": "Property", "value": 1}},
            headers=city.headers("dispatcher"),
        ),
        city.client.post(
            API + "/entities/urn:ngsi-ld:SubBinH:a1/attrs",
            json={"p": {"type": "Property", "value": 2}},
            headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        ),
    ]
    assert [r.status_code for r in ok] == [201, 204, 204], [r.text for r in ok]


def test_reads_are_public_unless_the_setting_says_otherwise(city: City) -> None:
    call(city, "POST", "/entities", {"id": "urn:ngsi-ld:SubBinH:r1", "type": "SubBinH"}, 201)
    path = API + "/entities/urn:ngsi-ld:SubBinH:r1"
    assert city.client.get(path).status_code == 200
    assert city.client.get(API + "/subscriptions").status_code == 200
    settings = city.ctx.settings
    settings.ngsild_public_read = False
    try:
        closed = city.client.get(path)
        assert closed.status_code == 401 and error_type(closed) == "Unauthorized"
        assert city.client.get(API + "/subscriptions").status_code == 401
        assert city.client.get(path, headers=city.headers("citizen")).status_code == 403
        assert city.client.get(path, headers=KEY).status_code == 200
        assert city.client.get(path, headers=city.headers("dispatcher")).status_code == 200
    finally:
        settings.ngsild_public_read = True
    assert city.client.get(path).status_code == 200


# --- review fixes -----------------------------------------------------------------------------


def test_throttling_has_an_upper_bound(city: City) -> None:
    for huge in (1e300, 30 * 24 * 3600 + 1):
        response = call(
            city,
            "POST",
            "/subscriptions",
            {"type": "Subscription", "entities": [{"type": "T"}], "throttling": huge, **endpoint()},
        )
        assert response.status_code == 400 and error_type(response) == "BadRequestData", huge
        assert "throttling" in response.json()["detail"]
    subscribe(city, {"entities": [{"type": "T"}], "throttling": 30 * 24 * 3600, **endpoint()})


def test_one_broken_subscription_does_not_lose_the_others_notifications(city: City) -> None:
    call(city, "POST", "/entities", bin_entity("b1", "SubBinZ"), 201)
    broken = subscribe(city, {"entities": [{"type": "SubBinZ"}], **endpoint()})
    healthy = subscribe(city, {"entities": [{"type": "SubBinZ"}], **endpoint()})
    with city.ctx.writing() as session:  # as stored before throttling had a bound
        session.execute(
            update(NgsiSubscription)
            .where(NgsiSubscription.subscription_id == broken)
            .values(throttling=1e300, last_notified_at=utcnow())
        )
    notifier._cache.clear()
    set_level(city, "urn:ngsi-ld:SubBinZ:b1", 0.9)
    assert len(queued(city, healthy)) == 1
    assert queued(city, broken) == []


def test_a_deleted_context_is_never_fetched_by_the_matcher(
    city: City, context_server: ContextServer
) -> None:
    """After DELETE /jsonldContexts/{url} the matcher (inside the relay's transaction) uses the
    context documents kept with the subscription; it never goes to the network."""
    from urllib.parse import quote

    call(
        city,
        "POST",
        "/entities",
        {
            "id": "urn:ngsi-ld:Bin:d1",
            "type": "https://example.org/city#WasteBin",
            "https://example.org/city#fillRatio": {"type": "Property", "value": 0.2},
        },
        201,
    )
    link = {"Link": f"<{context_server.url}>; {REL}"}
    kept = subscribe(
        city,
        {"entities": [{"type": "Bin"}], "q": "fill>0.5", **endpoint()},
        **link,
    )
    bare = subscribe(city, {"entities": [{"type": "Bin"}], "q": "fill>0.5", **endpoint()}, **link)
    with city.ctx.writing() as session:  # a subscription stored before documents were kept
        row = session.scalar(
            select(NgsiSubscription).where(NgsiSubscription.subscription_id == bare)
        )
        assert row is not None and context_server.url in row.spec["contextDocuments"]
        row.spec = {k: v for k, v in row.spec.items() if k != "contextDocuments"}
    call(city, "DELETE", "/jsonldContexts/" + quote(context_server.url, safe=""), None, 204)
    notifier._cache.clear()  # as in a process that has not matched since
    hits = context_server.hits
    call(
        city,
        "PATCH",
        "/entities/urn:ngsi-ld:Bin:d1/attrs",
        {"https://example.org/city#fillRatio": {"type": "Property", "value": 0.8}},
        204,
    )
    [note] = queued(city, kept)
    assert note["body"]["data"][0]["type"] == "Bin"
    assert note["body"]["data"][0]["fill"]["value"] == 0.8
    assert context_server.url in note["headers"]["Link"]
    assert context_server.hits == hits
    # With nothing in memory either, the one without kept documents is skipped, not fetched.
    before = len(queued(city, bare))
    call(city, "DELETE", f"/subscriptions/{kept}", None, 204)
    contexts.forget()
    notifier._cache.clear()
    call(
        city,
        "PATCH",
        "/entities/urn:ngsi-ld:Bin:d1/attrs",
        {"https://example.org/city#fillRatio": {"type": "Property", "value": 0.9}},
        204,
    )
    assert len(queued(city, bare)) == before
    assert context_server.hits == hits
