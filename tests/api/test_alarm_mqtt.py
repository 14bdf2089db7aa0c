"""End to end over the real broker: a vendor manhole sensor publishes a binary uplink over MQTT,
the rules raise an alarm, governance files and dispatches a case, and the "closed" uplink puts
a line on the case's timeline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.api.test_mqtt_ingest import ingest_of, publish
from tests.api.test_rules_alarms import (
    MANHOLE_CONFIG,
    add_device,
    alarms_of,
    demo_rule,
    fleet,
    manhole_payload,
    post,
)
from tests.conftest import BACKENDS, City, make_city
from tests.mosquitto import Broker, private_broker


# A broker of its own: another platform subscriber on the shared broker, in the same test
# process, would also take these messages and skew that module's counters.
@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with private_broker(tmp_path_factory.mktemp("alarm-broker")) as running:
        yield running


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest,
    broker: Broker,
    templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[City]:
    client_id = f"cityloop-test-{uuid.uuid4().hex[:12]}"
    tmp_path: Path = tmp_path_factory.mktemp("mqtt-alarm-city")
    yield from make_city(
        templates,
        request.param,
        tmp_path,
        mqtt_url=broker.url,
        mqtt_client_id=client_id,
        run_background=True,
    )


@pytest.fixture(scope="module")
def publisher(broker: Broker) -> Iterator[mqtt.Client]:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"cityloop-test-pub-{uuid.uuid4().hex[:12]}",
    )
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll until ``check`` returns something truthy: the broker and relay work in threads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} never happened")


def test_a_binary_manhole_uplink_becomes_a_dispatched_case_and_closing_is_on_its_timeline(
    city: City,
    publisher: mqtt.Client,
) -> None:
    ingest_of(city)
    profile, apikey = fleet(city, "binary", MANHOLE_CONFIG, "ManholeCover")
    post(city, "/rules", demo_rule("MANHOLE_OPEN", profile))
    device = add_device(city, apikey)
    publish(publisher, f"/{apikey}/{device}/attrs", manhole_payload(True, tilt=2))

    def linked() -> dict[str, Any] | None:
        found = alarms_of(city, device)
        return found[0] if found and found[0]["case_id"] else None

    alarm = wait_until(linked, "an alarm with a case")
    case = city.case(alarm["case_id"])
    assert (alarm["type"], alarm["severity"]) == ("MANHOLE_OPEN", "CRITICAL")
    assert case["category"]["code"] == "C-01-01"
    assert case["status"] == "dispatched"
    assert case["department"]["code"] == "facilities"
    assert case["source_ref"]["device_id"] == device

    publish(publisher, f"/{apikey}/{device}/attrs", manhole_payload(False))

    def noted() -> list[dict[str, Any]]:
        timeline = city.case(alarm["case_id"])["timeline"]
        return [e for e in timeline if e["action"] == "device_normal"]

    [line] = wait_until(noted, "the device-normal timeline line")
    assert device in line["message"]
    assert city.case(alarm["case_id"])["status"] == "dispatched"
    assert alarms_of(city, device)[0]["status"] == "CLEARED_UNACK"
