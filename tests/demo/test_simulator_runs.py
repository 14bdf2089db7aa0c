"""The demo fleet in a real platform: seeded, every device's messages stored, over HTTP to a real
server, over MQTT through a real Mosquitto and the platform's subscriber, and `cityloop demo`
feeding itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cityloop.base.db import Database
from cityloop.demo.devices import PROFILES_BY_CODE, demo_devices
from cityloop.demo.simulator import FleetSimulator, Message, pick_devices
from cityloop.demo.transport import HttpSender, MqttSender, run
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.data.perception import service
from cityloop.platforms.data.perception.codecs import get_codec
from cityloop.platforms.data.perception.ingest import ingest_measure
from cityloop.platforms.data.perception.models import Device, Measurement
from cityloop.platforms.data.perception.mqtt import MqttIngest
from cityloop.platforms.data.perception.telemetry import latest_values
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS, seeded_database
from tests.support.mosquitto import mqtt_settings, private_broker
from tests.support.servers import running

DEADLINE = 60.0


def readings_in(message: Message) -> int:
    profile = PROFILES_BY_CODE[message.device.profile]
    codec = get_codec(profile.codec)
    return len(codec.decode(message.payload, device_id="x", config=profile.codec_config))


def test_the_demo_fleet_is_seeded_inside_the_city(city: City) -> None:
    with city.ctx.reading() as session:
        for spec in demo_devices():
            device = service.get_device(session, device_id=spec.device_id)
            assert device.profile_code == spec.profile
            assert device.lat == spec.lat and device.lon == spec.lon
            placement = geo.place_point(session, lon=spec.lon, lat=spec.lat)
            assert placement is not None and placement.grid is not None, spec.device_id
        groups = {g.apikey: g for g in service.list_groups(session)}
        assert groups["riverton-generic"].auto_provision
        assert groups["riverton-manholes"].profile_code == "manhole-lora"


def test_every_demo_device_message_is_stored_with_its_contract_attributes(city: City) -> None:
    simulator = FleetSimulator(seed=11, anomaly_rate=0)
    now = datetime.now(UTC)
    with city.ctx.writing() as session:
        for spec in demo_devices():
            message = simulator.message(spec, now)
            assert message is not None
            result = ingest_measure(
                session,
                apikey=message.apikey,
                device_id=spec.device_id,
                payload=message.payload,
                content_type=message.content_type,
            )
            assert result.stored == readings_in(message), spec.device_id
            names = {row.attribute for row in latest_values(session, entity_id=result.entity_id)}
            mapped = {m["name"] for m in PROFILES_BY_CODE[spec.profile].codec_config["mappings"]}
            assert names == mapped, spec.device_id


def _count(db: Database, device_ids: list[str]) -> int:
    with db.read() as session:
        query = select(func.count()).where(Measurement.device_id.in_(device_ids))
        return int(session.scalar(query) or 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_http_run_against_a_real_server_stores_the_readings(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    fleet = pick_devices(8)
    sent: list[Message] = []
    with seeded_database(templates, backend, tmp_path) as url:
        with running("serve", tmp_path, {"CITYLOOP_DATABASE_URL": url}) as base:
            summary = run(
                FleetSimulator(fleet, seed=3, anomaly_rate=0),
                HttpSender(base),
                rate=40,
                duration=1.0,
                on_message=sent.append,
            )
        # How many go out in the second depends on the machine's load; that some do, and all are
        # stored, is the point.
        assert summary.sent == len(sent) >= 2
        assert summary.outcomes == {"stored": summary.sent}
        db = Database(url)
        try:
            expected = sum(readings_in(m) for m in sent)
            assert _count(db, [d.device_id for d in fleet]) == expected
        finally:
            db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_faults_reach_a_real_server_as_precise_rejections(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    with (
        seeded_database(templates, backend, tmp_path) as url,
        running("serve", tmp_path, {"CITYLOOP_DATABASE_URL": url}) as base,
    ):
        # A number of messages, not a span of time: on a busy machine one second may send
        # too few for every kind of fault to turn up.
        enough, sent = threading.Event(), []

        def count(message: Message) -> None:
            sent.append(message)
            if len(sent) >= 60:
                enough.set()

        summary = run(
            FleetSimulator(pick_devices(16), seed=9, anomaly_rate=100),
            HttpSender(base),
            rate=50,
            duration=30.0,
            stop=enough,
            on_message=count,
        )
    assert summary.sent == 60 and summary.failed == 0
    assert summary.outcomes["rejected:malformed-payload"] == summary.kinds["malformed"] > 0
    assert summary.outcomes["rejected:out-of-range"] == summary.kinds["out_of_range"] > 0


@pytest.fixture(params=BACKENDS)
def mqtt_city(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[tuple[City, str]]:
    # A private broker: the shared one on :1883 carries other modules' subscriptions, and this
    # run's deliberate traffic must not reach them (nor theirs reach this city).
    with private_broker(tmp_path / "broker") as broker:
        yield from (
            (city, broker.url)
            for city in make_city(templates, request.param, tmp_path, **mqtt_settings(broker.url))
        )


def test_an_mqtt_run_is_ingested_by_the_platform_subscriber(mqtt_city: tuple[City, str]) -> None:
    city, url = mqtt_city
    ingest = city.ctx.extras["mqtt"]
    assert isinstance(ingest, MqttIngest)
    assert ingest.ready.wait(DEADLINE), "the subscriber never subscribed"
    fleet = pick_devices(16)
    sent: list[Message] = []
    summary = run(
        FleetSimulator(fleet, seed=21, anomaly_rate=0),
        MqttSender(url),
        rate=50,
        duration=1.0,
        on_message=sent.append,
    )
    assert summary.outcomes == {"published": summary.sent}
    assert {m.content_type for m in sent} == {"text/plain", "application/json"}
    expected = sum(readings_in(m) for m in sent)
    deadline = time.monotonic() + DEADLINE
    while _count(city.ctx.db, [d.device_id for d in fleet]) < expected:
        assert time.monotonic() < deadline, "not every simulated reading was ingested"
        time.sleep(0.2)
    assert _count(city.ctx.db, [d.device_id for d in fleet]) == expected


def test_cityloop_demo_feeds_its_own_sensor_fleet(tmp_path: Path) -> None:
    with running("demo", tmp_path):
        db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
        try:
            deadline = time.monotonic() + DEADLINE
            while True:
                with db.read() as session:
                    seen = session.scalar(
                        select(func.count()).where(
                            Device.device_id.like("rv-%"), Device.last_seen_at.is_not(None)
                        )
                    )
                if seen and seen >= 2:
                    break
                assert time.monotonic() < deadline, "the demo's simulator sent nothing"
                time.sleep(0.5)
        finally:
            db.dispose()
