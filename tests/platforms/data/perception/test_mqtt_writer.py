"""The MQTT writer acknowledges a message only once it is stored (or refused for its own
fault): while the database is away nothing is acknowledged, so the broker keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception import mqtt as mqtt_module
from cityloop.platforms.data.perception import service
from cityloop.platforms.data.perception.mqtt import MqttIngest, _Queued
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS


@pytest.fixture(params=BACKENDS)
def city(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[City]:
    yield from make_city(templates, request.param, tmp_path)


def _writer(city: City, monkeypatch: pytest.MonkeyPatch, failures: int) -> tuple[Any, list[int]]:
    """A writer whose first ``failures`` write transactions fail, as when the database is
    away; returns it and the list of acknowledged message ids."""
    with city.ctx.writing() as session:
        service.create_profile(
            session, code="wr-ul", name="w", entity_type="T", codec="ul", codec_config={}
        )
        group = service.create_group(session, apikey="writer-key-1", profile_code="wr-ul")
        service.create_device(session, device_id="wr-1", group=group)
    ingest = MqttIngest(city.ctx, "mqtt://127.0.0.1:1", "unused")
    acked: list[int] = []
    monkeypatch.setattr(ingest.client, "ack", lambda mid, qos: acked.append(mid))
    monkeypatch.setattr(mqtt_module, "RETRY_FIRST_SECONDS", 0.01)
    real_writing = city.ctx.writing
    left = {"failures": failures}

    @contextmanager
    def flaky_writing() -> Iterator[Any]:
        if left["failures"] > 0:
            left["failures"] -= 1
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        with real_writing() as session:
            yield session

    monkeypatch.setattr(city.ctx, "writing", flaky_writing)
    return ingest, acked


def _message(mid: int, payload: str) -> _Queued:
    return _Queued(mid, 1, "/writer-key-1/wr-1/attrs", payload.encode(), utcnow())


def _stored(city: City) -> list[float]:
    return sorted(m.num_value for m in service_measures(city))


def service_measures(city: City) -> list[Any]:
    from cityloop.platforms.data.perception.telemetry import measurements

    with city.ctx.reading() as session:
        return measurements(session, device_id="wr-1", limit=100)


def test_nothing_is_acknowledged_until_stored_while_the_database_is_away(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch, each message on its own, then the health probe: all fail; the retry works.
    ingest, acked = _writer(city, monkeypatch, failures=4)
    seen_before_success: list[list[int]] = []
    real_store = ingest._store

    def store(batch: list[_Queued]) -> list[_Queued]:
        seen_before_success.append(list(acked))
        return real_store(batch)

    monkeypatch.setattr(ingest, "_store", store)
    ingest._store_until_done([_message(1, "t|1"), _message(2, "t|2")])
    assert seen_before_success[0] == [] and seen_before_success[1] == []  # nothing acked early
    assert sorted(acked) == [1, 2]
    assert _stored(city) == [1.0, 2.0]


def test_on_stop_unstored_messages_stay_unacknowledged(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest, acked = _writer(city, monkeypatch, failures=1000)
    ingest._stopping.set()
    ingest._store_until_done([_message(1, "t|1")])
    assert acked == []  # the broker sends it again on the next session
    assert _stored(city) == []
