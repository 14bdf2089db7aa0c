"""Device messages over MQTT, IoT Agent style: ``/<apikey>/<device_id>/attrs``.

A persistent session (fixed client id, ``clean_session=False``) and QoS 1 subscriptions mean the
broker keeps messages published while CityLoop is away. Messages are acknowledged by hand, only
after the transaction that stored them has committed, so the broker redelivers any message whose
ingest did not finish (a crash, a stop, a lost connection).

Messages are stored in batches: the network thread only queues them, and one writer thread takes
whatever has queued up (up to ``BATCH_LIMIT``) into one transaction, each message in its own
savepoint so a rejected message never undoes its neighbours. Under load the batches fill and the
commit cost is shared; when idle a batch is one message and nothing waits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.db import utcnow
from cityloop.base.problems import Problem
from cityloop.platforms.data.perception.ingest import DeviceMessage, ingest_batch

log = logging.getLogger(__name__)

# Topic filter -> content type of the payload (None: the device profile decides alone).
TOPICS: dict[str, str | None] = {
    "/+/+/attrs": None,
    "/ul/+/+/attrs": "text/plain",
    "/json/+/+/attrs": "application/json",
}
PREFIX_CONTENT_TYPES = {"ul": "text/plain", "json": "application/json"}
# Messages per write transaction, and how many may wait for the writer before the network
# thread blocks (the broker then holds the rest: backpressure, not loss).
BATCH_LIMIT = 500
QUEUE_LIMIT = 5_000
# Retrying messages whose write failed: first wait, the cap, and how many failures (while the
# database works) make a message the message's own fault.
RETRY_FIRST_SECONDS = 1.0
RETRY_CAP_SECONDS = 30.0
POISON_ATTEMPTS = 5
# How often a standby process tries to become the subscriber.
ELECTION_RETRY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Queued:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime


def parse_topic(topic: str) -> tuple[str, str, str | None] | None:
    """(apikey, device_id, content_type) of a device topic; None for any other shape."""
    # The shapes are ``/<apikey>/<device>/attrs`` and ``/<ul|json>/<apikey>/<device>/attrs``.
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

    _STOP = object()

    def __init__(
        self,
        ctx: AppContext,
        url: str,
        client_id: str,
        *,
        lock_path: Path | None = None,
        shared_group: str | None = None,
    ) -> None:
        """``lock_path``: processes that share it elect one subscriber among themselves (the
        workers of one ``serve --workers N``, which share a client id: two live connections
        with one id would throw each other off the broker). ``shared_group``: subscribe through
        ``$share/<group>/…`` so processes with different client ids split the messages."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"unsupported MQTT url scheme {parts.scheme!r}: use mqtt://host:port")
        self.ctx = ctx
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self.client_id = client_id
        self.lock_path = lock_path
        # "$share/<group>/" then the filter itself, which starts with its own "/".
        self.shared = bool(shared_group)
        prefix = f"$share/{shared_group}/" if shared_group else ""
        self.topics = [prefix + topic for topic in TOPICS]
        self._lock_fd: int | None = None
        self._stopping = threading.Event()
        self._elector: threading.Thread | None = None
        # Messages this subscriber has taken off the wire and handled (stored or rejected).
        self.handled = 0
        # Set once the broker has acknowledged every subscription of the current connection.
        self.ready = threading.Event()
        self._pending_mids: set[int] = set()
        self._lock = threading.Lock()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
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
        self._queue: queue.Queue[_Queued | object] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._accepting = threading.Event()
        self._writer: threading.Thread | None = None

    def start(self) -> None:
        """Connect in the background (once elected, with a lock path); paho's loop thread then
        reconnects whenever the link drops."""
        self._stopping.clear()
        self._accepting.set()
        self._writer = threading.Thread(target=self._write_loop, name="mqtt-writer", daemon=True)
        self._writer.start()
        if self.lock_path is None:
            self._connect()
        else:
            self._elector = threading.Thread(target=self._elect, name="mqtt-elect", daemon=True)
            self._elector.start()

    @property
    def subscribing(self) -> bool:
        """Whether this process holds the subscription (always, without a lock path)."""
        return self.lock_path is None or self._lock_fd is not None

    def _connect(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def _elect(self) -> None:
        """Wait for the lock, then subscribe; a standby takes over when the holder exits (the
        operating system releases its lock however it ended)."""
        assert self.lock_path is not None
        fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        while not self._stopping.is_set():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._stopping.wait(ELECTION_RETRY_SECONDS)
                continue
            self._lock_fd = fd
            log.info("mqtt: this process subscribes (lock %s)", self.lock_path)
            self._connect()
            return
        os.close(fd)

    def stop(self) -> None:
        """Store and acknowledge what is queued, then disconnect; the broker keeps the session
        and redelivers anything that arrived after this point."""
        self._accepting.clear()
        self._stopping.set()  # also ends a writer waiting to retry: unstored stays unacked
        if self._writer is not None:
            self._queue.put(self._STOP)
            self._writer.join(timeout=30)
            self._writer = None
        if self._elector is not None:
            self._elector.join(timeout=10)
            self._elector = None
        self.ready.clear()
        if self.subscribing:
            self.client.disconnect()
            self.client.loop_stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the lock for a standby
            self._lock_fd = None

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning("mqtt connect to %s:%s refused: %s", self.host, self.port, reason_code)
            return
        log.info("mqtt connected to %s:%s as %s", self.host, self.port, self.client_id)
        if self.shared:
            # A session that once subscribed without the group would get each message twice:
            # once through its own subscription and once as its share.
            client.unsubscribe(list(TOPICS))
        # Subscribe on every connect: a broker that lost the session would otherwise send nothing.
        result, mid = client.subscribe([(topic, 1) for topic in self.topics])
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
            log.info("mqtt subscribed to %s as %s", ", ".join(self.topics), self.client_id)
            self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not self._accepting.is_set():
            return  # never acknowledged, so the broker redelivers it on the next session
        self._queue.put(_Queued(message.mid, message.qos, message.topic, message.payload, utcnow()))

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is self._STOP:
                return
            batch: list[_Queued] = [first]  # type: ignore[list-item]
            stop_after = False
            while len(batch) < BATCH_LIMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is self._STOP:
                    stop_after = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            try:
                self._store_until_done(batch)
            except Exception:  # the writer must outlive any one batch
                log.exception("mqtt writer: batch of %d not stored", len(batch))
            if stop_after:
                return

    def _store_until_done(self, batch: list[_Queued]) -> None:
        """Store a batch, retrying what failed with backoff. Nothing unstored is acknowledged:
        while the database is away the writer waits (the queue fills and the broker holds the
        rest), and on stop the broker redelivers whatever is still unstored. A message that
        keeps failing while the database works is the message's fault: after a few tries it
        is counted as an error and acknowledged, so it cannot block the stream for ever."""
        pending = batch
        attempts: dict[int, int] = {}
        delay = RETRY_FIRST_SECONDS
        while pending:
            failed = self._store(pending)
            if not failed:
                return
            healthy = len(failed) < len(pending) or self._database_writable()
            for item in failed:
                attempts[item.mid] = attempts.get(item.mid, 0) + 1
            if healthy:
                poison = [item for item in failed if attempts[item.mid] >= POISON_ATTEMPTS]
                for item in poison:
                    log.error("mqtt message on %r keeps failing; dropped", item.topic)
                    metrics.MQTT_MESSAGES.inc(outcome="error")
                    self._ack(item)
                failed = [item for item in failed if item not in poison]
            pending = failed
            if pending and self._stopping.wait(delay):
                return  # stopping: left unacknowledged, so the broker sends them again
            delay = min(delay * 2, RETRY_CAP_SECONDS)

    def _database_writable(self) -> bool:
        try:
            with self.ctx.writing() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _store(self, batch: list[_Queued]) -> list[_Queued]:
        """One transaction for the batch, then acknowledge what it stored or rejected; returns
        the messages that could not be stored (not acknowledged)."""
        try:
            with self.ctx.writing() as session:
                outcomes = self._ingest(session, batch)
        except Exception:
            # The write itself failed: store one by one, so that one poisonous message cannot
            # hold the others back.
            log.exception("mqtt batch of %d failed; retrying one by one", len(batch))
            outcomes = []
            for item in batch:
                try:
                    with self.ctx.writing() as session:
                        outcomes.extend(self._ingest(session, [item]))
                except Exception:
                    log.exception("mqtt message on %r failed", item.topic)
                    outcomes.append("error")
        failed: list[_Queued] = []
        for item, outcome in zip(batch, outcomes, strict=True):
            if outcome == "error":
                failed.append(item)
                continue
            self.handled += 1
            metrics.MQTT_MESSAGES.inc(outcome=outcome)
            self._ack(item)
        return failed

    def _ack(self, item: _Queued) -> None:
        if item.qos > 0:
            self.client.ack(item.mid, item.qos)

    @staticmethod
    def _ingest(session: Session, batch: list[_Queued]) -> list[str]:
        outcomes = ["rejected"] * len(batch)
        messages: list[DeviceMessage] = []
        positions: list[int] = []
        for position, item in enumerate(batch):
            parsed = parse_topic(item.topic)
            if parsed is None:
                log.info("mqtt message on unexpected topic %r ignored", item.topic)
                continue
            apikey, device_id, content_type = parsed
            messages.append(
                DeviceMessage(apikey, device_id, item.payload, content_type, item.received_at)
            )
            positions.append(position)
        for position, result in zip(
            positions, ingest_batch(session, messages=messages), strict=True
        ):
            if isinstance(result, Problem):
                # The device's fault: counted and acknowledged, never retried.
                log.info(
                    "mqtt message on %r rejected: %s (%s)",
                    batch[position].topic,
                    result.detail,
                    result.type_,
                )
            else:
                outcomes[position] = "stored"
        return outcomes
