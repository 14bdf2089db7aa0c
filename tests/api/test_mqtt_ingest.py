"""Device messages over MQTT: a persistent QoS 1 subscription on the IoT Agent topics."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cityloop.platforms.data.perception.mqtt import MqttIngest
from tests.conftest import BACKENDS, City, make_city

BASE = "/api/v1/perception"
HOST, PORT = "127.0.0.1", 1883
URL = f"mqtt://{HOST}:{PORT}"


@pytest.fixture(scope="module")
def broker() -> None:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            pass
    except OSError:
        pytest.skip(f"no MQTT broker on {HOST}:{PORT}")


def _purge_session(client_id: str) -> None:
    """Drop the broker's persistent session for this client id (a clean-session connect)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
    )
    client.connect(HOST, PORT)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@pytest.fixture(scope="module")
def client_id() -> str:
    return f"cityloop-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest,
    broker: None,
    client_id: str,
    templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[City]:
    tmp_path: Path = tmp_path_factory.mktemp("mqtt-city")
    yield from make_city(
        templates,
        request.param,
        tmp_path,
        mqtt_url=URL,
        mqtt_client_id=client_id,
        run_background=True,
    )
    _purge_session(client_id)


@pytest.fixture(scope="module")
def publisher(broker: None) -> Iterator[mqtt.Client]:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"cityloop-test-pub-{uuid.uuid4().hex[:12]}",
    )
    client.connect(HOST, PORT)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def ingest_of(city: City) -> MqttIngest:
    ingest = city.ctx.extras["mqtt"]
    assert isinstance(ingest, MqttIngest)
    assert ingest.ready.wait(10), "the subscriber never finished subscribing"
    return ingest


def publish(publisher: mqtt.Client, topic: str, payload: str) -> None:
    info = publisher.publish(topic, payload.encode(), qos=1)
    info.wait_for_publish(timeout=5)
    assert info.is_published()


def post(city: City, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = city.client.post(BASE + path, json=body, headers=city.headers("admin"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def setup_device(city: City) -> tuple[str, str]:
    """A fresh UltraLight profile, group (unique api key) and device; returns (apikey, device)."""
    suffix = uuid.uuid4().hex[:10]
    code = f"mqtt-ul-{suffix}"
    post(
        city,
        "/profiles",
        {
            "code": code,
            "name": "MQTT thermometer",
            "entity_type": "WeatherObserved",
            "codec": "ul",
            "codec_config": {
                "mappings": [{"object_id": "t", "name": "temperature", "type": "Number"}]
            },
        },
    )
    apikey = f"mqttkey{suffix}"
    group = post(city, "/groups", {"apikey": apikey, "profile_code": code})
    device = f"thermo-{suffix}"
    post(city, "/devices", {"device_id": device, "group_id": group["id"]})
    return apikey, device


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
    history = city.client.get(
        f"{BASE}/devices/{device}/measures",
        params={"attribute": "temperature"},
        headers=city.headers("admin"),
    ).json()
    assert sorted(m["value"] for m in history["items"]) == [1.5, 2.5, 3.5]
