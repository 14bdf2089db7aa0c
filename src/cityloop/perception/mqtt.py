"""Device messages over MQTT, IoT Agent style: ``/<apikey>/<device_id>/attrs``.

A persistent session (fixed client id, ``clean_session=False``) and QoS 1 subscriptions mean the
broker keeps messages published while CityLoop is away and redelivers any message whose ingest
did not finish: paho acknowledges a QoS 1 message only after ``on_message`` returns.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.problems import Problem
from cityloop.perception.ingest import ingest_measure

log = logging.getLogger(__name__)

# Topic filter -> content type of the payload (None: the device profile decides alone).
TOPICS: dict[str, str | None] = {
    "/+/+/attrs": None,
    "/ul/+/+/attrs": "text/plain",
    "/json/+/+/attrs": "application/json",
}
PREFIX_CONTENT_TYPES = {"ul": "text/plain", "json": "application/json"}


def parse_topic(topic: str) -> tuple[str, str, str | None] | None:
    """``/<apikey>/<device>/attrs`` or ``/<ul|json>/<apikey>/<device>/attrs`` ->
    (apikey, device_id, content_type); None for any other shape."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == "" and parts[3] == "attrs":
        return parts[1], parts[2], None
    if (
        len(parts) == 5
        and parts[0] == ""
        and parts[4] == "attrs"
        and parts[1] in PREFIX_CONTENT_TYPES
    ):
        return parts[2], parts[3], PREFIX_CONTENT_TYPES[parts[1]]
    return None


class MqttIngest:
    """Subscribes to device topics and stores each message through ``ingest_measure``."""

    def __init__(self, ctx: AppContext, url: str, client_id: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"unsupported MQTT url scheme {parts.scheme!r}: use mqtt://host:port")
        self.ctx = ctx
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self.client_id = client_id
        # Set once the broker has acknowledged every subscription of the current connection.
        self.ready = threading.Event()
        self._pending_mids: set[int] = set()
        self._lock = threading.Lock()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if parts.username:
            client.username_pw_set(
                unquote(parts.username), unquote(parts.password) if parts.password else None
            )
        if parts.scheme == "mqtts":
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client

    def start(self) -> None:
        """Connect in the background; paho's loop thread reconnects whenever the link drops."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect (the broker keeps the session and queues QoS 1 messages) and stop the loop."""
        self.ready.clear()
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning("mqtt connect to %s:%s refused: %s", self.host, self.port, reason_code)
            return
        log.info("mqtt connected to %s:%s as %s", self.host, self.port, self.client_id)
        # Subscribe on every connect: a broker that lost the session would otherwise send nothing.
        result, mid = client.subscribe([(topic, 1) for topic in TOPICS])
        if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
            with self._lock:
                self._pending_mids.add(mid)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        self.ready.clear()
        log.info("mqtt disconnected from %s:%s: %s", self.host, self.port, reason_code)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any
    ) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.warning("mqtt subscription refused: %s", failed)
            return
        with self._lock:
            self._pending_mids.discard(mid)
            done = not self._pending_mids
        if done:
            self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Never raise: paho acknowledges after this returns, and a Problem is the device's fault.
        try:
            topic = message.topic
            parsed = parse_topic(topic)
            if parsed is None:
                log.info("mqtt message on unexpected topic %r ignored", topic)
                metrics.MQTT_MESSAGES.inc(outcome="rejected")
                return
            apikey, device_id, content_type = parsed
            with self.ctx.writing() as session:
                result = ingest_measure(session, apikey, device_id, message.payload, content_type)
        except Problem as exc:
            log.info("mqtt message on %r rejected: %s (%s)", message.topic, exc.detail, exc.type_)
            metrics.MQTT_MESSAGES.inc(outcome="rejected")
        except Exception:
            log.exception("mqtt message on %r failed", getattr(message, "topic", "?"))
            metrics.MQTT_MESSAGES.inc(outcome="error")
        else:
            log.debug("mqtt %s: %s stored, %s duplicates", topic, result.stored, result.duplicates)
            metrics.MQTT_MESSAGES.inc(outcome="stored")
