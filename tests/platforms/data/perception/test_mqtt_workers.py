"""Several processes on one broker: the workers of one `serve --workers N` share a client id and
elect one subscriber among themselves; processes on several hosts split the messages through a
shared subscription. Either way every message is stored exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from cityloop.platforms.data.perception.mqtt import MqttIngest
from tests.support.city import City
from tests.support.mosquitto import Broker, publish
from tests.support.perception import measures_of, setup_device
from tests.support.waiting import wait_until


def stored_values(city: City, device: str) -> list[float]:
    history = measures_of(city, device, attribute="temperature", limit=1000)
    return sorted(m["value"] for m in history["items"])


def test_workers_sharing_a_client_id_elect_one_subscriber_and_a_standby_takes_over(
    city: City, broker: Broker, publisher: mqtt.Client, tmp_path: Path
) -> None:
    client_id = f"cityloop-workers-{uuid.uuid4().hex[:8]}"
    lock = tmp_path / "mqtt.lock"
    first = MqttIngest(city.ctx, broker.url, client_id, lock_path=lock)
    second = MqttIngest(city.ctx, broker.url, client_id, lock_path=lock)
    first.start()
    wait_until(lambda: first.ready.is_set(), "the first worker subscribing")
    second.start()
    try:
        apikey, device = setup_device(city)
        for n in range(20):
            publish(publisher, f"/{apikey}/{device}/attrs", f"t|{n}")
        wait_until(lambda: len(stored_values(city, device)) == 20, "20 readings stored")
        # The standby never connected, so the subscriber was never thrown off the broker.
        assert not second.subscribing and second.handled == 0
        assert first.handled == 20
        first.stop()
        wait_until(lambda: second.ready.is_set(), "the standby taking over")
        for n in range(20, 30):
            publish(publisher, f"/{apikey}/{device}/attrs", f"t|{n}")
        wait_until(lambda: len(stored_values(city, device)) == 30, "30 readings stored")
        assert stored_values(city, device) == [float(n) for n in range(30)]
    finally:
        first.stop()
        second.stop()


def test_processes_in_a_shared_group_split_the_messages_and_store_each_once(
    city: City, broker: Broker, publisher: mqtt.Client
) -> None:
    group = f"cityloop-{uuid.uuid4().hex[:8]}"
    members = [
        MqttIngest(city.ctx, broker.url, f"{group}-host-{n}", shared_group=group) for n in (1, 2)
    ]
    for member in members:
        member.start()
    try:
        for member in members:
            wait_until(lambda member=member: member.ready.is_set(), "a member subscribing")
        apikey, device = setup_device(city)
        for n in range(40):
            publish(publisher, f"/{apikey}/{device}/attrs", f"t|{n}")
        wait_until(lambda: len(stored_values(city, device)) == 40, "40 readings stored")
        assert stored_values(city, device) == [float(n) for n in range(40)]
        assert sum(member.handled for member in members) == 40
        assert all(member.handled > 0 for member in members)
    finally:
        for member in members:
            member.stop()
