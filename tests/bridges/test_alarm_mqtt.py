"""End to end over the real broker: a vendor manhole sensor publishes a binary uplink over MQTT,
the rules raise an alarm, governance files and dispatches a case, and the "closed" uplink puts
a line on the case's timeline."""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
import pytest

from tests.support.city import City
from tests.support.mosquitto import Broker, mqtt_settings, publish
from tests.support.perception import (
    MANHOLE_CONFIG,
    add_device,
    alarms_of,
    demo_rule,
    fleet,
    ingest_of,
    manhole_payload,
    post,
)
from tests.support.waiting import wait_until


# The broker is the module's own (the root conftest's): another platform subscriber on the
# shared broker, in the same test process, would also take these messages and skew that
# module's counters.
@pytest.fixture(scope="module")
def city_overrides(engine: str, broker: Broker) -> dict[str, Any]:
    """A city subscribing to the module's broker, with a client id of its own per engine."""
    return mqtt_settings(broker.url)


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
