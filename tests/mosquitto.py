"""A private Mosquitto broker for tests that stop and start it, or publish a lot, without
disturbing the shared broker on :1883 (other test modules subscribe to the same topics there)."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


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


def publish_all(broker: Broker, topic: str, payloads: list[str], timeout: float = 90.0) -> None:
    """Publish at QoS 1 from a client of its own and wait for every acknowledgement."""
    import uuid

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"cityloop-test-pub-{uuid.uuid4().hex[:10]}",
    )
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload.encode(), qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(timeout=timeout)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()
