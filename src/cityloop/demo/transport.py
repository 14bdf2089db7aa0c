"""Send the simulator's messages: over MQTT (QoS 1) or the HTTP measure endpoint, on a steady
schedule, until a duration ends or someone stops it, then report what happened."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cityloop.demo.simulator import FleetSimulator, Message

# A sender slower than the schedule by more than this gives up the lost slots instead of
# bursting to catch up: a steady trickle is what a real fleet looks like.
MAX_LAG_SECONDS = 1.0


class Sender(Protocol):
    """Where messages go. ``finish`` waits for anything in flight and counts outcomes."""

    def send(self, message: Message) -> None: ...

    def finish(self, timeout: float) -> Counter[str]: ...


class HttpSender:
    """``POST <base>/iot/d?k=<apikey>&i=<device_id>``, one request per message."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base = base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)
        self.outcomes: Counter[str] = Counter()

    def send(self, message: Message) -> None:
        try:
            response = self.client.post(
                f"{self.base}/iot/d",
                params={"k": message.apikey, "i": message.device.device_id},
                content=message.payload,
                headers={"Content-Type": message.content_type},
            )
        except httpx.HTTPError:
            self.outcomes["failed"] += 1
            return
        if response.is_success:
            self.outcomes["stored"] += 1
        elif 400 <= response.status_code < 500:
            # The platform's problem type names why: malformed-payload, out-of-range, …
            try:
                reason = str(response.json().get("type", "")).rsplit("/", 1)[-1]
            except ValueError:
                reason = ""
            self.outcomes[f"rejected:{reason or response.status_code}"] += 1
        else:
            self.outcomes["failed"] += 1

    def finish(self, timeout: float) -> Counter[str]:
        self.client.close()
        return self.outcomes


class MqttSender:
    """Publishes to ``/<apikey>/<device_id>/attrs`` at QoS 1; a message counts as published once
    the broker has acknowledged it."""

    def __init__(
        self, url: str, client_id: str | None = None, connect_timeout: float = 10.0
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"not an MQTT URL (mqtt://host:port): {url!r}")
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"cityloop-sim-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv311,
        )
        if parts.username:
            self.client.username_pw_set(
                unquote(parts.username), unquote(parts.password) if parts.password else None
            )
        if parts.scheme == "mqtts":
            self.client.tls_set()
        # Bounded, so a broker that stops acknowledging cannot make the simulator eat memory.
        self.client.max_queued_messages_set(10_000)
        self.client.max_inflight_messages_set(100)
        self.connected = threading.Event()
        self.client.on_connect = self._on_connect
        self.pending: list[mqtt.MQTTMessageInfo] = []
        self.outcomes: Counter[str] = Counter()
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        try:
            self.client.connect(parts.hostname or "localhost", port, keepalive=30)
        except OSError as exc:
            raise ConnectionError(f"cannot reach the MQTT broker at {url}: {exc}") from exc
        self.client.loop_start()
        if not self.connected.wait(connect_timeout):
            self.client.loop_stop()
            raise ConnectionError(f"the MQTT broker at {url} did not accept the connection")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object,
                    properties: object) -> None:  # fmt: skip
        if not getattr(rc, "is_failure", False):
            self.connected.set()

    def send(self, message: Message) -> None:
        topic = f"/{message.apikey}/{message.device.device_id}/attrs"
        self.pending.append(self.client.publish(topic, message.payload, qos=1))
        # Keep the list short: count what the broker has already acknowledged.
        if len(self.pending) >= 1000:
            self._collect(final=False, deadline=time.monotonic())

    def _collect(self, *, final: bool, deadline: float) -> None:
        still: list[mqtt.MQTTMessageInfo] = []
        for info in self.pending:
            if final:
                with contextlib.suppress(ValueError, RuntimeError):
                    info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
            if info.is_published():
                self.outcomes["published"] += 1
            elif final or info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                self.outcomes["failed"] += 1
            else:
                still.append(info)
        self.pending = still

    def finish(self, timeout: float) -> Counter[str]:
        self._collect(final=True, deadline=time.monotonic() + timeout)
        self.client.disconnect()
        self.client.loop_stop()
        return self.outcomes


@dataclass
class Summary:
    sent: int = 0
    silent_turns: int = 0
    elapsed_seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return self.outcomes.get("failed", 0)

    def lines(self) -> list[str]:
        def fmt(counts: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"

        return [
            f"sent {self.sent} messages in {self.elapsed_seconds:.1f} s, failed {self.failed}",
            f"outcomes: {fmt(self.outcomes)}",
            f"payloads: {fmt(self.kinds)}",
            f"anomalies: {fmt(self.events)}",
        ]


def run(
    simulator: FleetSimulator,
    sender: Sender,
    *,
    rate: float,
    duration: float | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_message: Callable[[Message], None] | None = None,
) -> Summary:
    """Send a message every 1/``rate`` seconds, the devices in turn, until ``duration`` has
    passed or ``stop`` is set; then wait (briefly) for messages in flight and summarise."""
    if not rate > 0:
        raise ValueError("rate must be positive")
    stop = stop or threading.Event()
    summary = Summary()
    started = time.monotonic()
    origin, slot = started, 0
    devices = simulator.devices
    while not stop.is_set():
        due = origin + slot / rate
        if duration is not None and due - started >= duration:
            break
        wait = due - time.monotonic()
        if wait > 0 and stop.wait(wait):
            break
        if -wait > MAX_LAG_SECONDS:
            origin, slot = time.monotonic(), 0
        message = simulator.message(devices[(summary.sent + summary.silent_turns) % len(devices)],
                                    now())  # fmt: skip
        slot += 1
        if message is None:
            summary.silent_turns += 1
            continue
        sender.send(message)
        summary.sent += 1
        summary.kinds[message.kind] += 1
        if on_message is not None:
            on_message(message)
    summary.outcomes = sender.finish(timeout=10.0)
    summary.elapsed_seconds = time.monotonic() - started
    summary.events = Counter(simulator.events)
    return summary
