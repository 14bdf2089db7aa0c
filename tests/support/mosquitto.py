"""MQTT for tests: a private Mosquitto broker for tests that stop and start it, or publish a
lot, without disturbing the shared broker on :1883 (other test modules subscribe to the same
topics there); clients that publish at QoS 1; the settings of a city that subscribes."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.servers import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SHARED_PORT = 1883


class Broker:
    """One mosquitto process on a fixed free port, with persistence in ``directory``."""

    def __init__(self, directory: Path, extra_config: str = "") -> None:
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # Started as root, mosquitto would switch to its own user, who cannot write here.
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            f"log_dest file {directory}/mosquitto.log\n"
            f"{extra_config}"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, seconds: float = 20) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "mosquitto.log").read_text(errors="replace")
                raise AssertionError(f"mosquitto exited: {log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"mosquitto did not listen on {self.port} in {seconds:.0f} s")

    def stop(self) -> None:
        """SIGTERM, so the broker writes its persistent sessions and queued messages to disk."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self.process = None


@contextmanager
def private_broker(directory: Path, extra_config: str = "") -> Iterator[Broker]:
    """A broker of its own; ``extra_config`` holds more mosquitto.conf lines."""
    if not os.access(MOSQUITTO, os.X_OK):
        pytest.skip(f"no mosquitto binary at {MOSQUITTO}")
    broker = Broker(directory, extra_config)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class SharedBroker:
    """The broker on :1883 that every test process shares (CI starts it). Tests that stop it,
    or publish a lot, take a private one instead."""

    port: int = SHARED_PORT

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


def shared_broker() -> SharedBroker:
    """The shared broker, or a skip when nothing listens on its port."""
    try:
        with socket.create_connection(("127.0.0.1", SHARED_PORT), timeout=1):
            pass
    except OSError:
        pytest.skip(f"no MQTT broker on 127.0.0.1:{SHARED_PORT}")
    return SharedBroker()


def mqtt_settings(url: str, client_id: str | None = None) -> dict[str, Any]:
    """Settings of a city whose platform subscribes to the broker at ``url`` (a fresh client id
    unless one is given), with its background workers running."""
    return {
        "mqtt_url": url,
        "mqtt_client_id": client_id or f"cityloop-test-{uuid.uuid4().hex[:12]}",
        "run_background": True,
    }


@contextmanager
def mqtt_client(
    port: int, client_id: str | None = None, clean_session: bool | None = None
) -> Iterator[mqtt.Client]:
    """A client of the test's own, connected to the broker on ``port`` with its network loop
    running; disconnected at the end."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id or f"cityloop-test-pub-{uuid.uuid4().hex[:12]}",
        clean_session=clean_session,
    )
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def drop_session(port: int, client_id: str) -> None:
    """Drop the broker's persistent session for this client id (a clean-session connect)."""
    with mqtt_client(port, client_id, clean_session=True):
        pass


def publish(client: mqtt.Client, topic: str, payload: str, timeout: float = 5.0) -> None:
    """Publish at QoS 1 and wait for the broker's acknowledgement."""
    info = client.publish(topic, payload.encode(), qos=1)
    info.wait_for_publish(timeout=timeout)
    assert info.is_published()


def publish_all(broker: Broker, topic: str, payloads: list[str], timeout: float = 90.0) -> None:
    """Publish at QoS 1 from a client of its own and wait for every acknowledgement."""
    with mqtt_client(broker.port) as client:
        infos = [client.publish(topic, payload.encode(), qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(timeout=timeout)
            assert info.is_published()
