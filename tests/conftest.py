"""Shared fixtures: the demo city is built once per database engine, then copied per module.

SQLite always runs. PostgreSQL runs too when CITYLOOP_TEST_DATABASE_URL points at a server
(a maintenance database such as postgresql://postgres@127.0.0.1:5432/postgres); each module then
gets its own database cloned from a migrated, seeded template (``tests/support/databases.py``).
The helpers tests import live in ``tests/support/``; fixtures of one part of the platform live
in the conftest.py of its folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from tests.support.city import City, make_city
from tests.support.databases import BACKENDS, REQUIRE_SERVICES, built_templates
from tests.support.mosquitto import Broker, SharedBroker, mqtt_client, private_broker


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test is a failed test: the services it needs must be there."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped with CITYLOOP_REQUIRE_SERVICES=1: {report.longrepr}"


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with built_templates(tmp_path_factory.mktemp("template")) as built:
        yield built


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine of this module's city: each in BACKENDS in turn. A module fixture
    that depends on it is made again for each engine."""
    return str(request.param)


@pytest.fixture(scope="module")
def city_overrides() -> dict[str, Any]:
    """Settings of this module's ``city`` beyond the tests' defaults: a module that needs other
    settings (small limits, an MQTT broker, a public URL) overrides this fixture, and makes it
    depend on ``engine`` when each engine's city needs its own values."""
    return {}


@pytest.fixture(scope="module")
def city(
    engine: str,
    templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    city_overrides: dict[str, Any],
) -> Iterator[City]:
    """The demo city of this module, on each engine in turn."""
    yield from make_city(templates, engine, tmp_path_factory.mktemp("city"), **city_overrides)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker | SharedBroker]:
    """A Mosquitto of this module's own (a module may take the shared one instead)."""
    with private_broker(tmp_path_factory.mktemp("broker")) as running:
        yield running


@pytest.fixture(scope="module")
def publisher(broker: Broker | SharedBroker) -> Iterator[mqtt.Client]:
    """A client that publishes to this module's broker, as devices do."""
    with mqtt_client(broker.port) as client:
        yield client
