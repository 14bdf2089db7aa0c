"""Device messages over MQTT: a persistent QoS 1 subscription on the IoT Agent topics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from cityloop.platforms.data.perception.mqtt import MqttIngest
from tests.support.city import City
from tests.support.mosquitto import (
    SharedBroker,
    drop_session,
    mqtt_settings,
    publish,
    shared_broker,
)
from tests.support.perception import BASE, ingest_of, measures_of, setup_device

URL = SharedBroker().url


@pytest.fixture(scope="module")
def broker() -> SharedBroker:
    """The shared broker: this module subscribes on it as a deployment would."""
    return shared_broker()


@pytest.fixture(scope="module")
def client_id(engine: str, broker: SharedBroker) -> Iterator[str]:
    """The platform subscriber's client id, one per engine's city; its persistent session is
    dropped once that city is gone."""
    client_id = f"cityloop-test-{uuid.uuid4().hex[:12]}"
    yield client_id
    drop_session(broker.port, client_id)


@pytest.fixture(scope="module")
def city_overrides(client_id: str) -> dict[str, Any]:
    return mqtt_settings(URL, client_id)


def wait_for_value(city: City, device: str, expected: float, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = city.client.get(f"{BASE}/devices/{device}/latest", headers=city.headers("admin"))
        if response.status_code == 200:
            last = response.json().get("attributes", {}).get("temperature", {}).get("value")
            if last == expected:
                return
        time.sleep(0.1)
    raise AssertionError(f"{device}: temperature {expected} never appeared (last {last!r})")


def rejected_count(city: City) -> float:
    """Messages refused for an unknown api key. Counters are per process, and other test
    modules' subscribers in this process reject malformed payloads, never unknown keys."""
    text = city.client.get("/metrics").text
    match = re.search(
        r'^cityloop_ingest_rejected_total\{reason="invalid-api-key"\} (\S+)$', text, re.MULTILINE
    )
    return float(match.group(1)) if match else 0.0


def test_a_message_on_the_attrs_topic_is_stored(city: City, publisher: mqtt.Client) -> None:
    ingest_of(city)
    apikey, device = setup_device(city)
    publish(publisher, f"/{apikey}/{device}/attrs", "t|21.5")
    wait_for_value(city, device, 21.5)


@pytest.mark.parametrize("prefix", ["ul", "json"])
def test_the_prefixed_topic_forms_work(city: City, publisher: mqtt.Client, prefix: str) -> None:
    ingest_of(city)
    apikey, device = setup_device(city)
    publish(publisher, f"/{prefix}/{apikey}/{device}/attrs", "t|18.25")
    wait_for_value(city, device, 18.25)


def test_an_unknown_api_key_is_rejected_counted_and_later_messages_still_flow(
    city: City, publisher: mqtt.Client
) -> None:
    ingest_of(city)
    apikey, device = setup_device(city)
    before = rejected_count(city)
    publish(publisher, f"/no-such-key-{uuid.uuid4().hex[:8]}/{device}/attrs", "t|99")
    publish(publisher, f"/{apikey}/{device}/attrs", "t|22.5")
    wait_for_value(city, device, 22.5)
    # The bad message came first on the same connection, so it has been handled by now. (At
    # least one: the counter is per process, and other modules' subscribers share it.)
    assert rejected_count(city) >= before + 1


def test_messages_sent_while_disconnected_arrive_after_reconnect(
    city: City, publisher: mqtt.Client, client_id: str
) -> None:
    ingest_of(city).stop()
    apikey, device = setup_device(city)
    for value in (1.5, 2.5, 3.5):
        publish(
            publisher, f"/{apikey}/{device}/attrs", f"2026-01-0{int(value)}T00:00:00Z|t|{value}"
        )
    replacement = MqttIngest(city.ctx, URL, client_id)
    city.ctx.extras["mqtt"] = replacement  # the lifespan stops whichever is current
    replacement.start()
    wait_for_value(city, device, 3.5)
    history = measures_of(city, device, attribute="temperature")
    assert sorted(m["value"] for m in history["items"]) == [1.5, 2.5, 3.5]
