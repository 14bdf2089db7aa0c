"""NGSI-LD subscription members beyond the basics, over HTTP (ETSI GS CIM 009 v1.8/v1.9):
notificationTrigger, showChanges, pick/omit, join, sysAttrs, lang, datasetId, scopeQ,
timeInterval (periodic notifications), PATCH with merge-patch and null, the status members,
and MQTT endpoints published through the local broker."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cityloop.platforms.data.perception.ngsild import notifier
from cityloop.platforms.data.perception.ngsild.subscription_periodic import (
    has_periodic,
    send_periodic,
)
from tests.platforms.data.perception.ngsild.test_ngsild_subscriptions import (
    call,
    clean,  # noqa: F401 (the autouse fixture: each test sees only its own subscriptions)
    endpoint,
    queued,
    subscribe,
    target,
)
from tests.support.city import City
from tests.support.ngsild import API, KEY, error_type
from tests.support.waiting import wait_until

NULL = "urn:ngsi-ld:null"


def building(local: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Building:{local}",
        "type": "Building",
        "name": {"type": "Property", "value": "Eiffel Tower"},
        "height": {"type": "Property", "value": 300},
        **extra,
    }


def kind() -> str:
    """A type of its own per test, so the tests' entities never meet."""
    return f"Building{uuid.uuid4().hex[:8]}"


def create(city: City, entity: dict[str, Any]) -> str:
    call(city, "POST", "/entities", entity, 201)
    return str(entity["id"])


def data(city: City, sid: str) -> list[list[dict[str, Any]]]:
    return [n["body"]["data"] for n in queued(city, sid)]


# --- validation (clause 5.8.1.4: every invalid member is BadRequestData naming it) ------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"notificationTrigger": ["entityTouched"]}, "notificationTrigger"),
        ({"notificationTrigger": []}, "notificationTrigger"),
        ({"timeInterval": 0}, "timeInterval"),
        ({"timeInterval": 10, "watchedAttributes": ["name"]}, "timeInterval"),
        ({"timeInterval": 10, "throttling": 5}, "timeInterval"),
        ({"scopeQ": "Madrid"}, "scopeQ"),
        ({"lang": "not a tag"}, "lang"),
        ({"datasetId": ["not a uri"]}, "datasetId"),
        ({"notification": {**target(), "format": "keyValues", "showChanges": True}}, "showChanges"),
        (
            {"notification": {**target(), "format": "simplified", "showChanges": True}},
            "showChanges",
        ),
        ({"notification": {**target(), "pick": ["id"], "omit": ["id"]}}, "pick"),
        ({"notification": {**target(), "pick": ["name"], "attributes": ["name"]}}, "attributes"),
        ({"notification": {**target(), "omit": []}}, "omit"),
        ({"notification": {**target(), "join": "sideways"}}, "join"),
        ({"notification": {**target(), "joinLevel": 0}}, "joinLevel"),
        ({"notification": {**target(), "sysAttrs": "yes"}}, "sysAttrs"),
        ({"notification": target(notifierInfo=[{"key": "MQTT-QoS", "value": "3"}])}, "MQTT-QoS"),
        ({"notification": target(notifierInfo=[{"key": "k", "value": 1}])}, "notifierInfo"),
        ({"notification": target("mqtt://127.0.0.1:1883/")}, "notification.endpoint.uri"),
        ({"notification": target("mqtt://10.20.30.40/topic")}, "notification.endpoint.uri"),
        ({"notification": target(accept="text/plain")}, "accept"),
    ],
)
def test_invalid_members_are_bad_request_data_naming_them(
    city: City, body: dict[str, Any], named: str
) -> None:
    """Clauses 5.2.12, 5.2.14, 5.2.15 and 5.8.1.4."""
    full = {"type": "Subscription", "entities": [{"type": "Building"}], **endpoint(), **body}
    response = call(city, "POST", "/subscriptions", full, 400)
    assert error_type(response) == "BadRequestData"
    assert named in response.json()["detail"]


def test_every_member_is_accepted_and_read_back(city: City) -> None:
    """Table 5.2.12-1 and 5.2.14.1-1: the members are stored and a GET shows them."""
    sid = subscribe(
        city,
        {
            "entities": [{"type": "Building"}],
            "notificationTrigger": ["entityCreated", "attributeDeleted"],
            "q": "height%3E100",  # URL-escaped inside the body: decoded once
            "scopeQ": "/Paris/#",
            "lang": "fr,en",
            "datasetId": ["urn:ngsi-ld:Dataset:a", "@none"],
            "notification": {
                "format": "simplified",
                "sysAttrs": True,
                "pick": ["id", "name"],
                "join": "flat",
                "joinLevel": 2,
                "endpoint": {
                    "uri": "mqtt://127.0.0.1:1883/cityloop/tests",
                    "accept": "application/json",
                    "notifierInfo": [
                        {"key": "MQTT-Version", "value": "mqtt5.0"},
                        {"key": "MQTT-QoS", "value": "1"},
                    ],
                },
            },
        },
    )
    got = call(city, "GET", f"/subscriptions/{sid}", expect=200).json()
    assert got["notificationTrigger"] == ["entityCreated", "attributeDeleted"]
    assert got["q"] == "height>100" and got["scopeQ"] == "/Paris/#" and got["lang"] == "fr,en"
    assert got["datasetId"] == ["urn:ngsi-ld:Dataset:a", "@none"]
    notification = got["notification"]
    assert notification["format"] == "keyValues" and notification["sysAttrs"] is True
    assert notification["pick"] == ["id", "name"] and notification["join"] == "flat"
    assert notification["endpoint"]["uri"] == "mqtt://127.0.0.1:1883/cityloop/tests"
    assert notification["timesSent"] == 0 and notification["timesFailed"] == 0
    periodic = subscribe(
        city, {"entities": [{"type": "Building"}], "timeInterval": 60, **endpoint()}
    )
    assert call(city, "GET", f"/subscriptions/{periodic}").json()["timeInterval"] == 60


# --- PATCH (clause 5.8.2) ---------------------------------------------------------------------


def test_patch_takes_merge_patch_and_null_removes_an_optional_member(city: City) -> None:
    """Clause 5.8.2 with IETF RFC 7396: null removes; required members cannot be removed."""
    sid = subscribe(
        city,
        {"entities": [{"type": "Building"}], "throttling": 30, "q": "height>1", **endpoint()},
    )
    response = city.client.patch(
        f"{API}/subscriptions/{sid}",
        content=json.dumps({"throttling": None, "q": None, "isActive": False}),
        headers={**KEY, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text
    got = call(city, "GET", f"/subscriptions/{sid}").json()
    assert "throttling" not in got and "q" not in got and got["status"] == "paused"
    refused = call(city, "PATCH", f"/subscriptions/{sid}", {"notification": None}, 400)
    assert "notification" in refused.json()["detail"]
    call(city, "PATCH", "/subscriptions/urn:ngsi-ld:Subscription:none", {"isActive": True}, 404)
    # timeInterval and throttling stay exclusive across a PATCH.
    call(city, "PATCH", f"/subscriptions/{sid}", {"throttling": 5}, 204)
    clash = call(city, "PATCH", f"/subscriptions/{sid}", {"timeInterval": 5}, 400)
    assert "timeInterval" in clash.json()["detail"]


# --- notification triggers (clause 5.8.6, Table 5.2.12-1) -------------------------------------


def test_notification_triggers_select_what_notifies(city: City) -> None:
    """Default triggers are attributeCreated and attributeUpdated; the others are opt-in."""
    btype = kind()
    default = subscribe(city, {"entities": [{"type": btype}], **endpoint()})
    created = subscribe(
        city,
        {"entities": [{"type": btype}], "notificationTrigger": ["entityCreated"], **endpoint()},
    )
    deleted = subscribe(
        city,
        {"entities": [{"type": btype}], "notificationTrigger": ["entityDeleted"], **endpoint()},
    )
    attr_deleted = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "watchedAttributes": ["name"],
            "notificationTrigger": ["attributeDeleted"],
            **endpoint(),
        },
    )
    entity_id = create(city, {**building("t1"), "type": btype})
    # Drained after each write: a change is notified with the entity as it is when matched.
    city.drain()
    call(city, "PATCH", f"/entities/{entity_id}/attrs", {"height": {"value": 301}}, 204)
    city.drain()
    call(city, "DELETE", f"/entities/{entity_id}/attrs/height", expect=204)
    city.drain()
    call(city, "DELETE", f"/entities/{entity_id}/attrs/name", expect=204)
    city.drain()
    call(city, "DELETE", f"/entities/{entity_id}", expect=204)
    assert len(data(city, default)) == 2  # the creation and the update
    assert [d[0]["id"] for d in data(city, created)] == [entity_id]
    gone = data(city, deleted)
    assert len(gone) == 1 and set(gone[0][0]) == {"id", "type", "deletedAt"}
    (removed,) = data(city, attr_deleted)  # only the watched attribute's deletion
    assert removed[0]["name"] == {"type": "Property", "value": NULL}
    assert "height" not in removed[0]


def test_show_changes_carries_the_previous_values(city: City) -> None:
    """Clause 5.8.6 / Table 5.2.14.1-1 showChanges: previousValue, previousObject, ..."""
    btype = kind()
    sid = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "notificationTrigger": ["attributeUpdated", "attributeDeleted", "entityDeleted"],
            "notification": {**target(), "showChanges": True},
        },
    )
    entity = {
        **building("s1"),
        "type": btype,
        "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:Paris"},
    }
    entity_id = create(city, entity)
    call(city, "PATCH", f"/entities/{entity_id}/attrs", {"height": {"value": 324}}, 204)
    city.drain()
    call(city, "DELETE", f"/entities/{entity_id}/attrs/locatedAt", expect=204)
    city.drain()
    call(city, "DELETE", f"/entities/{entity_id}", expect=204)
    updated, deleted_attr, deleted_entity = data(city, sid)
    assert updated[0]["height"] == {"type": "Property", "value": 324, "previousValue": 300}
    assert "previousValue" not in updated[0]["name"]
    assert deleted_attr[0]["locatedAt"] == {
        "type": "Relationship",
        "object": NULL,
        "previousObject": "urn:ngsi-ld:City:Paris",
    }
    assert deleted_entity[0]["deletedAt"]
    assert deleted_entity[0]["name"] == {
        "type": "Property",
        "value": NULL,
        "previousValue": "Eiffel Tower",
    }


# --- what a notification carries (clause 5.3.1, 4.21, 4.5.23) --------------------------------


def test_pick_omit_sys_attrs_and_join(city: City) -> None:
    """pick / omit (clause 4.21), sysAttrs, and join flat / inline (clause 4.5.23)."""
    btype = kind()
    picked = subscribe(
        city, {"entities": [{"type": btype}], "notification": {**target(), "pick": ["id", "name"]}}
    )
    omitted = subscribe(
        city,
        {"entities": [{"type": btype}], "notification": {**target(), "omit": ["type", "height"]}},
    )
    stamped = subscribe(
        city, {"entities": [{"type": btype}], "notification": {**target(), "sysAttrs": True}}
    )
    flat = subscribe(
        city, {"entities": [{"type": btype}], "notification": {**target(), "join": "flat"}}
    )
    inline = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "notification": {**target(), "join": "inline", "format": "keyValues"},
        },
    )
    create(city, {"id": "urn:ngsi-ld:City:Paris" + btype, "type": "City", "name": {"value": "P"}})
    link = {"type": "Relationship", "object": "urn:ngsi-ld:City:Paris" + btype}
    entity_id = create(city, {**building("p1"), "type": btype, "locatedAt": link})
    assert data(city, picked) == [
        [{"id": entity_id, "name": {"type": "Property", "value": "Eiffel Tower"}}]
    ]
    (omit,) = data(city, omitted)
    assert "type" not in omit[0] and "height" not in omit[0] and "name" in omit[0]
    (stamps,) = data(city, stamped)
    assert stamps[0]["createdAt"] and stamps[0]["name"]["modifiedAt"]
    (joined,) = data(city, flat)
    assert [e["id"] for e in joined] == [entity_id, "urn:ngsi-ld:City:Paris" + btype]
    (inlined,) = data(city, inline)
    assert inlined[0]["locatedAt"]["name"] == "P"


def test_lang_dataset_id_and_scope_q(city: City) -> None:
    """lang (clause 4.15), datasetId (clause 4.5.5) and scopeQ (clause 4.19)."""
    btype = kind()
    sid = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "scopeQ": "/Paris/#",
            "lang": "fr",
            "datasetId": ["urn:ngsi-ld:Dataset:fr", "@none"],
            **endpoint(),
        },
    )
    street = {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}}
    named = [
        {"type": "Property", "value": "Tour", "datasetId": "urn:ngsi-ld:Dataset:fr"},
        {"type": "Property", "value": "Tower", "datasetId": "urn:ngsi-ld:Dataset:en"},
    ]
    create(city, {"id": f"urn:ngsi-ld:{btype}:out", "type": btype, "scope": "/Lyon"})
    entity_id = create(
        city,
        {
            "id": f"urn:ngsi-ld:{btype}:in",
            "type": btype,
            "scope": "/Paris/Centre",
            "street": street,
            "label": named,
        },
    )
    (only,) = data(city, sid)
    assert only[0]["id"] == entity_id
    assert only[0]["street"] == {"type": "Property", "value": "Grand Place", "lang": "fr"}
    assert only[0]["label"] == named[0]


# --- periodic notifications (clause 5.8.6, timeInterval) --------------------------------------


def test_time_interval_sends_every_selected_entity_each_period(city: City) -> None:
    """A periodic subscription notifies every timeInterval seconds, changed or not, and is not
    notified by changes."""
    btype = kind()
    sid = subscribe(
        city, {"entities": [{"type": btype}], "timeInterval": 3600, "q": "height>100", **endpoint()}
    )
    tall = create(city, {**building("a"), "type": btype, "id": f"urn:ngsi-ld:{btype}:a"})
    create(
        city,
        {**building("b"), "type": btype, "id": f"urn:ngsi-ld:{btype}:b", "height": {"value": 5}},
    )
    assert data(city, sid) == []  # changes do not notify a periodic subscription
    with city.ctx.reading() as session:
        assert has_periodic(session)  # so the every-second job opens its write unit
    delivery = notifier.Delivery(city.ctx.db, city.ctx.outbound)
    with city.ctx.writing() as session:
        assert send_periodic(session, delivery=delivery) == 1
    with city.ctx.writing() as session:
        assert send_periodic(session, delivery=delivery) == 0  # not due for an hour
    (sent,) = data(city, sid)
    assert [e["id"] for e in sent] == [tall]


# --- MQTT endpoints (clause 5.2.15, MQTT binding) ---------------------------------------------


def test_an_mqtt_endpoint_receives_the_notification_through_the_broker(city: City) -> None:
    """notifierInfo MQTT-Version and MQTT-QoS choose protocol and QoS; the message is
    {"metadata", "body"}; the delivery counts in timesSent / lastSuccess."""
    topic = f"cityloop-tests/{uuid.uuid4().hex}"
    received: list[bytes] = []
    subscribed = threading.Event()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    listener.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_message = lambda _c, _u, message: received.append(message.payload)
    try:
        listener.connect("127.0.0.1", 1883)
    except OSError:
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    listener.loop_start()
    try:
        assert subscribed.wait(5)
        btype = kind()
        sid = subscribe(
            city,
            {
                "entities": [{"type": btype}],
                "notification": target(
                    f"mqtt://127.0.0.1:1883/{topic}",
                    notifierInfo=[
                        {"key": "MQTT-Version", "value": "mqtt5.0"},
                        {"key": "MQTT-QoS", "value": "1"},
                    ],
                ),
            },
        )
        entity_id = create(city, {**building("m1"), "type": btype})
        city.drain()
        wait_until(lambda: len(received) == 1, "the MQTT notification")
        message = json.loads(received[0])
        assert message["metadata"]["Content-Type"] == "application/json"
        assert message["body"]["subscriptionId"] == sid
        assert message["body"]["data"][0]["id"] == entity_id
        wait_until(
            lambda: (
                call(city, "GET", f"/subscriptions/{sid}").json()["notification"]["timesSent"] == 1
            ),
            "the delivery to be counted",
        )
        status = call(city, "GET", f"/subscriptions/{sid}").json()["notification"]
        assert status["lastSuccess"] and status["status"] == "ok"
    finally:
        listener.loop_stop()
        listener.disconnect()


# --- entity type selections, paging, and the order of checks ----------------------------------


def test_an_entity_type_selection_matches_any_of_its_types(city: City) -> None:
    """Clause 4.17: an entities item's type may be a selection such as (A|B)."""
    first, second, other = kind(), kind(), kind()
    sid = subscribe(
        city,
        {
            "entities": [{"type": f"({first}|{second})"}],
            "notificationTrigger": ["entityCreated"],
            **endpoint(),
        },
    )
    assert call(city, "GET", f"/subscriptions/{sid}").json()["entities"] == [
        {"type": f"{first}|{second}"}
    ]
    for btype in (first, second, other):
        create(city, {"id": f"urn:ngsi-ld:{btype}:x", "type": btype})
    assert sorted(d[0]["type"] for d in data(city, sid)) == sorted([first, second])
    refused = call(
        city,
        "POST",
        "/subscriptions",
        {"type": "Subscription", "entities": [{"type": f"{first};{second}"}], **endpoint()},
        400,
    )
    assert "entities type" in refused.json()["detail"]


def test_the_list_links_its_previous_and_next_pages(city: City) -> None:
    """Clause 5.5.9 / 6.3.13: pagination with Link rel="prev" and rel="next"."""
    for _ in range(3):
        subscribe(city, {"entities": [{"type": "Building"}], **endpoint()})
    response = city.client.get(
        f"{API}/subscriptions",
        params={"limit": 1, "offset": 1},
        headers={"Accept": "application/ld+json"},
    )
    assert len(response.json()) == 1
    assert response.headers["Link"] == (
        f'<{API}/subscriptions?limit=1&offset=0>;rel="prev";type="application/ld+json", '
        f'<{API}/subscriptions?limit=1&offset=2>;rel="next";type="application/ld+json"'
    )
    last = city.client.get(f"{API}/subscriptions", params={"limit": 1, "offset": 2})
    assert 'rel="next"' not in last.headers["Link"] and 'rel="prev"' in last.headers["Link"]


def test_an_unknown_subscription_is_404_before_its_patch_is_checked(city: City) -> None:
    """Clause 5.8.2: ResourceNotFound, even for a body that would be refused."""
    response = call(
        city,
        "PATCH",
        "/subscriptions/urn:ngsi-ld:Subscription:unknown",
        {"notification": {"endpoint": {"uri": "http://name.invalid/notify"}}},
        404,
    )
    assert error_type(response) == "ResourceNotFound"


def test_key_values_with_sys_attrs_keeps_the_entity_stamps(city: City) -> None:
    """Table 5.2.14.1-1 sysAttrs: createdAt and modifiedAt whatever the format."""
    btype = kind()
    sid = subscribe(
        city,
        {
            "entities": [{"type": btype}],
            "notification": {**target(), "format": "keyValues", "sysAttrs": True},
        },
    )
    create(city, {**building("k1"), "type": btype})
    ((entity,),) = data(city, sid)
    assert entity["createdAt"] and entity["modifiedAt"] and entity["name"] == "Eiffel Tower"


def test_an_mqtt_password_is_never_read_back(city: City) -> None:
    """Clause 5.2.15 puts MQTT credentials in the uri; reads may be public, so a GET masks it."""
    sid = subscribe(
        city,
        {
            "entities": [{"type": "Building"}],
            **endpoint("mqtt://user:s3cret@127.0.0.1:1883/cityloop/tests"),
        },
    )
    got = call(city, "GET", f"/subscriptions/{sid}").json()
    assert (
        got["notification"]["endpoint"]["uri"] == "mqtt://user:****@127.0.0.1:1883/cityloop/tests"
    )
    assert "s3cret" not in json.dumps(got)


def test_system_stamps_only_with_sys_attrs(city: City) -> None:
    """createdAt and modifiedAt are system-generated: shown with options=sysAttrs (clause 4.8)."""
    sid = subscribe(city, {"entities": [{"type": "Building"}], **endpoint()})
    plain = call(city, "GET", f"/subscriptions/{sid}").json()
    assert "createdAt" not in plain and "modifiedAt" not in plain
    stamped = city.client.get(f"{API}/subscriptions/{sid}", params={"options": "sysAttrs"}).json()
    assert stamped["createdAt"] and stamped["modifiedAt"]
    listed = city.client.get(f"{API}/subscriptions", params={"options": "sysAttrs"}).json()
    assert all("createdAt" in item for item in listed)
