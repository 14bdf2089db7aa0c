"""MQTT ingest survives a broker restart and a platform restart without losing or repeating a
message: persistent sessions (clean_session=False) and QoS 1, on a private Mosquitto with
persistence, so the shared broker on :1883 is left alone."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from cityloop.base.db import Database
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.mqtt import MqttIngest
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS, seeded_database
from tests.support.mosquitto import Broker, mqtt_settings, private_broker, publish_all
from tests.support.perception import make_device
from tests.support.servers import running

N = 20
DEADLINE = 90.0


def stored_values(db: Database, device_id: str) -> list[float]:
    with db.read() as session:
        rows = session.scalars(
            select(Measurement.num_value).where(Measurement.device_id == device_id)
        )
        return sorted(v for v in rows if v is not None)


def wait_for_values(db: Database, device_id: str, expected: list[float]) -> None:
    """Wait for ``expected`` (a sentinel last); then nothing may be missing or repeated."""
    deadline = time.monotonic() + DEADLINE
    while expected[-1] not in stored_values(db, device_id):
        assert time.monotonic() < deadline, f"{device_id}: the sentinel never arrived"
        time.sleep(0.2)
    # Redelivered messages come before new ones, so once the sentinel is in, all are.
    assert stored_values(db, device_id) == sorted(expected)


@pytest.fixture(params=BACKENDS)
def setup(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[tuple[City, Broker]]:
    with private_broker(tmp_path / "broker") as broker:
        for city in make_city(templates, request.param, tmp_path, **mqtt_settings(broker.url)):
            yield city, broker


def test_messages_published_before_the_platform_reconnects_arrive_exactly_once(
    setup: tuple[City, Broker],
) -> None:
    city, broker = setup
    ingest = city.ctx.extras["mqtt"]
    assert isinstance(ingest, MqttIngest)
    assert ingest.ready.wait(DEADLINE), "the subscriber never subscribed"
    with city.ctx.writing() as session:
        apikey, device = make_device(session)
    topic = f"/{apikey}/{device}/attrs"

    # Count the subscriber's failed reconnects: paho waits 1, 2, 4, 8… s between attempts, so
    # after three failures the next attempt is 8 s away, plenty to publish N messages first.
    failures = threading.Semaphore(0)
    previous = ingest.client.on_connect_fail

    def count_failure(client: mqtt.Client, userdata: Any) -> None:
        failures.release()
        if previous is not None:
            previous(client, userdata)

    ingest.client.on_connect_fail = count_failure
    broker.stop()
    for _ in range(3):
        assert failures.acquire(timeout=DEADLINE), "the subscriber did not try to reconnect"
    broker.start()
    publish_all(broker, topic, [f"t|{i}" for i in range(N)])
    # The premise: all N were queued by the broker for the absent subscriber.
    assert not ingest.ready.is_set()

    assert ingest.ready.wait(DEADLINE), "the subscriber never reconnected on its own"
    publish_all(broker, topic, [f"t|{N}"])
    wait_for_values(city.ctx.db, device, [float(i) for i in range(N + 1)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_messages_published_while_the_platform_is_stopped_arrive_when_it_starts(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    with (
        seeded_database(templates, backend, tmp_path) as url,
        private_broker(tmp_path / "broker") as broker,
    ):
        db = Database(url)
        try:
            with db.writing() as session:
                apikey, device = make_device(session)
            topic = f"/{apikey}/{device}/attrs"
            env = {
                "CITYLOOP_DATABASE_URL": url,
                "CITYLOOP_MQTT_URL": broker.url,
                "CITYLOOP_MQTT_CLIENT_ID": f"cityloop-proc-{uuid.uuid4().hex[:10]}",
            }
            with running("serve", tmp_path, env):
                # A first message stored means the persistent session and subscriptions exist.
                publish_all(broker, topic, ["t|1000"])
                wait_for_values(db, device, [1000.0])
            # The platform is down now (SIGTERM); the broker keeps its session and queues these.
            publish_all(broker, topic, [f"t|{i}" for i in range(N)])
            with running("serve", tmp_path, env):
                publish_all(broker, topic, [f"t|{N}"])
                wait_for_values(db, device, [1000.0, *[float(i) for i in range(N + 1)]])
        finally:
            db.dispose()
