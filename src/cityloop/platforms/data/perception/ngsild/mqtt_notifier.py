"""MQTT notifications (clause 5.2.15 and the MQTT binding): a subscription whose endpoint is
``mqtt://host[:port]/topic`` (or ``mqtts://``) has its notifications published to that topic.

A notification is published only after the transaction that produced it commits, from a small
worker pool, never on a request path or inside the relay's transaction. The broker's host must
pass the outbound address policy (at registration and again before every connection). The
payload is ``{"metadata": {headers}, "body": notification}``; ``notifierInfo`` MQTT-Version
(mqtt3.1.1, mqtt5.0) and MQTT-QoS (0, 1, 2) choose the protocol and the quality of service.
Outcomes count in the same per-subscription stats as HTTP deliveries.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import after_this_commit
from cityloop.base.db import Database, utcnow
from cityloop.base.outbound import Outbound, OutboundError
from cityloop.platforms.application.webhooks.models import WebhookSourceStats

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ngsild-mqtt")


@dataclass(frozen=True)
class MqttMessage:
    """One notification to publish: where, how, and the stats key it counts under."""

    uri: str
    payload: bytes
    qos: int
    version: str
    source: str
    source_id: str


def check_mqtt_host(outbound: Outbound, host: str, port: int) -> None:
    """Raise OutboundError unless the broker's host resolves only to addresses the policy admits
    on that port (the same check an HTTP endpoint gets)."""
    literal = f"[{host}]" if ":" in host else host
    outbound.check_url(f"http://{literal}:{port}/")


def mqtt_payload(body: bytes, content_type: str, headers: dict[str, str]) -> bytes:
    """The MQTT binding's message: the HTTP headers as ``metadata`` and the notification as
    ``body``."""
    metadata = {"Content-Type": content_type, **headers}
    return json.dumps({"metadata": metadata, "body": json.loads(body)}).encode()


def options(notifier_info: list[dict[str, str]]) -> tuple[int, str]:
    """(QoS, protocol version) from ``notifierInfo``; QoS 0 and MQTT 3.1.1 by default."""
    found = {item["key"]: item["value"] for item in notifier_info}
    return int(found.get("MQTT-QoS", "0")), found.get("MQTT-Version", "mqtt3.1.1")


def publish_after_commit(
    session: Session, *, message: MqttMessage, outbound: Outbound | None, db: Database | None
) -> None:
    """Publish ``message`` once the session's transaction commits (nothing if it rolls back)."""

    after_this_commit(session, lambda: _pool.submit(_deliver, message, outbound, db))


def _deliver(message: MqttMessage, outbound: Outbound | None, db: Database | None) -> None:
    try:
        ok = publish(message, outbound)
    except Exception:
        log.exception("MQTT notification to %s failed", message.uri[:300])
        ok = False
    if db is not None:
        with db.writing() as session:
            record(session, source=message.source, source_id=message.source_id, ok=ok)


def publish(message: MqttMessage, outbound: Outbound | None) -> bool:
    """Connect, publish and disconnect; whether the broker took the message."""
    parts = urlsplit(message.uri)
    secure = parts.scheme.lower() == "mqtts"
    host = parts.hostname or ""
    port = parts.port or (8883 if secure else 1883)
    if outbound is not None:
        try:
            check_mqtt_host(outbound, host, port)
        except OutboundError as exc:
            log.warning("MQTT endpoint %s refused: %s", message.uri[:300], exc.reason)
            return False
    protocol = mqtt.MQTTv5 if message.version == "mqtt5.0" else mqtt.MQTTv311
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=protocol)
    if parts.username:
        client.username_pw_set(
            unquote(parts.username), unquote(parts.password) if parts.password else None
        )
    if secure:
        client.tls_set()
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        info = client.publish(parts.path.lstrip("/"), message.payload, qos=message.qos)
        info.wait_for_publish(timeout=TIMEOUT_SECONDS)
        return info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def record(session: Session, *, source: str, source_id: str, ok: bool) -> None:
    """Count one MQTT delivery in the subscription's stats, as the webhook queue counts HTTP."""
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(WebhookSourceStats)
        .values(source=source, source_id=source_id, times_sent=0, consecutive_failures=0)
        .on_conflict_do_nothing()
    )
    stats = {"times_sent": WebhookSourceStats.times_sent + 1, "last_notification_at": now}
    if ok:
        stats.update(consecutive_failures=0, last_success_at=now)
    else:
        stats.update(
            consecutive_failures=WebhookSourceStats.consecutive_failures + 1,
            last_failure_at=now,
        )
    session.execute(
        update(WebhookSourceStats)
        .where(WebhookSourceStats.source == source, WebhookSourceStats.source_id == source_id)
        .values(**stats)
    )
