"""A platform killed with SIGKILL in the middle of an MQTT batch loses nothing: every message the
broker saw acknowledged is stored, and after a restart the broker redelivers the rest, which is
stored exactly once. A real `cityloop serve` process, a private Mosquitto, and a proxy between
them that reads the packets, so the test knows exactly which acknowledgements the broker got."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cityloop.base.db import Database, utcnow
from cityloop.platforms.data.perception.models import Measurement
from tests.support.databases import BACKENDS, seeded_database, writes_blocked
from tests.support.mosquitto import private_broker, publish_all
from tests.support.mqtt_proxy import MqttProxy
from tests.support.perception import make_device
from tests.support.servers import Server
from tests.support.waiting import wait_until

# Messages acknowledged to the broker; stored but whose acknowledgement the broker never got;
# and taken off the wire but still in the writer's hands when the platform is killed.
ACKED, UNACKED, IN_HAND = 10, 10, 20


def stored_counts(db: Database, device_id: str) -> Counter[int]:
    """How many times each message (by its number) is in the history."""
    with db.read() as session:
        values = session.scalars(
            select(Measurement.num_value).where(Measurement.device_id == device_id)
        ).all()
    return Counter(int(v) for v in values if v is not None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_platform_killed_mid_batch_keeps_what_it_acked_and_stores_the_rest_once(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    # A device resends with its own timestamps, which is what makes a redelivery a duplicate.
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    total = ACKED + UNACKED + IN_HAND
    messages = [f"{(start + timedelta(seconds=n)).isoformat()}|t|{n}" for n in range(total)]
    number = {message.encode(): n for n, message in enumerate(messages)}
    acked, unacked, in_hand = (
        set(range(ACKED)),
        set(range(ACKED, ACKED + UNACKED)),
        set(range(ACKED + UNACKED, total)),
    )

    def numbers(payloads: list[bytes]) -> set[int]:
        return {number[p] for p in payloads}

    with (
        seeded_database(templates, backend, tmp_path) as url,
        # Room for every message to be in flight at once (mosquitto's default is 20).
        private_broker(tmp_path / "broker", "max_inflight_messages 100\n") as broker,
    ):
        db = Database(url)
        proxy = MqttProxy(broker.port)
        server = Server(
            "serve",
            tmp_path,
            {
                "CITYLOOP_DATABASE_URL": url,
                "CITYLOOP_MQTT_URL": proxy.url,
                "CITYLOOP_MQTT_CLIENT_ID": f"cityloop-crash-{uuid.uuid4().hex[:10]}",
            },
        )
        try:
            with db.writing() as session:
                apikey, device = make_device(session)
            topic = f"/{apikey}/{device}/attrs"
            server.start()
            proxy.wait_for(lambda: proxy.subscriptions >= 1, "the platform subscribing")

            publish_all(broker, topic, [messages[n] for n in sorted(acked)])
            proxy.wait_for(lambda: acked <= numbers(proxy.acked), "the first acknowledgements")

            # Stored, but the acknowledgement is lost on the way: the crash window between
            # commit and acknowledgement, held open for as long as the test likes.
            proxy.hold_acks = True
            publish_all(broker, topic, [messages[n] for n in sorted(unacked)])
            proxy.wait_for(lambda: unacked <= numbers(proxy.withheld), "the withheld ones")
            proxy.hold_acks = False

            # The writer takes the next batch and waits for the database; the kill comes once
            # paho has handled every message (the probe), so an acknowledgement sent on
            # receipt would already have reached the broker.
            with writes_blocked(url, "measurements"):
                publish_all(broker, topic, [messages[n] for n in sorted(in_hand)])
                proxy.wait_for(
                    lambda: in_hand <= numbers(proxy.delivered), "delivery to the platform"
                )
                proxy.probe()
                server.kill()
            proxy.wait_all_closed()

            seen_acked = numbers(proxy.acked)
            stored = stored_counts(db, device)
            lost = sorted(seen_acked - set(stored))
            assert not lost, f"the broker saw these acknowledged, but they are not stored: {lost}"
            assert not seen_acked & in_hand, "messages were acknowledged before being stored"
            assert set(stored) == acked | unacked  # the premise: the kill came mid-batch

            redeliveries_from = len(proxy.delivered)
            server.start()
            wait_until(
                lambda: set(stored_counts(db, device)) == acked | unacked | in_hand,
                "every message stored after the restart",
                timeout=90,
            )
            # Exactly once: the withheld ones came again and were recognised as duplicates.
            assert stored_counts(db, device) == Counter(range(total))
            redelivered = numbers(proxy.delivered[redeliveries_from:])
            assert unacked | in_hand <= redelivered
            assert not redelivered & acked
        finally:
            server.kill()
            proxy.close()
            db.dispose()
