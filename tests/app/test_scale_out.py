"""The scaled-out process layout on PostgreSQL: two stateless API processes
(`cityloop serve --no-background`), a `cityloop worker` (the relay over NATS JetStream, the
consumers, the scheduler, the webhook dispatcher) and a `cityloop mqtt` subscriber, each a real
process. The manhole story runs through all of them: a sensor's alarm over MQTT opens a case, a
citizen's report joins it, the department fixes it, the supervisor closes it and the citizen is
told. Two workers run each scheduled job once per period and each event once per consumer."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cityloop.base.db import Database
from cityloop.base.outbox import OutboxDelivery, OutboxEvent
from cityloop.base.scheduler import ScheduledJobRun
from cityloop.domains.governance.events import CasePublicUpdate
from cityloop.platforms.application.notify.models import Notification
from tests.support.city import fresh_point
from tests.support.databases import BACKENDS, seeded_database
from tests.support.media import jpeg_bytes
from tests.support.mosquitto import mqtt_client, private_broker, publish
from tests.support.nats import delete_stream, shared_nats, stream_name
from tests.support.perception import MANHOLE_CONFIG, demo_rule, manhole_payload
from tests.support.servers import Server, staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="the scaled-out layout runs on PostgreSQL"
)
PERCEPTION = "/api/v1/perception"


@dataclass
class Layout:
    """The running processes' database and the API processes' base URLs."""

    db: Database
    apis: list[str]
    data_dir: Path
    env: dict[str, str]
    processes: ExitStack

    def api(self, n: int) -> str:
        """The API process for step ``n``: the steps alternate between them."""
        return self.apis[n % len(self.apis)]

    def start(self, command: str, ready_text: str, *args: str) -> Server:
        server = Server(command, self.data_dir, self.env, args=args, ready_text=ready_text)
        server.start()
        self.processes.callback(server.stop)
        return server


@contextmanager
def layout(
    templates: dict[str, str], tmp_path: Path, *, apis: int, **settings: str
) -> Iterator[Layout]:
    """A PostgreSQL city with the relay on a NATS stream of its own, and ``apis`` API processes;
    the test starts the workers and subscribers it wants with :meth:`Layout.start`."""
    nats_url, stream = shared_nats(), stream_name()
    with seeded_database(templates, "postgresql", tmp_path) as url, ExitStack() as processes:
        env = {
            "CITYLOOP_DATABASE_URL": url,
            "CITYLOOP_RELAY": "nats",
            "CITYLOOP_NATS_URL": nats_url,
            "CITYLOOP_NATS_STREAM": stream,
            "CITYLOOP_INTAKE_RATE_LIMIT": "0",
            **{f"CITYLOOP_{key.upper()}": value for key, value in settings.items()},
        }
        processes.callback(delete_stream, nats_url, stream)
        db = Database(url)
        processes.callback(db.dispose)
        bases = []
        for _ in range(apis):
            server = Server("serve", tmp_path, env, args=["--no-background"])
            bases.append(server.start())
            processes.callback(server.stop)
        yield Layout(db, bases, tmp_path, env, processes)


def test_the_manhole_story_runs_through_two_api_processes_a_worker_and_an_mqtt_subscriber(
    templates: dict[str, str], tmp_path: Path
) -> None:
    with (
        private_broker(tmp_path / "broker") as broker,
        layout(templates, tmp_path, apis=2, mqtt_url=broker.url) as city,
    ):
        city.start("worker", "cityloop worker running")
        city.start("mqtt", "mqtt subscribed to $share/cityloop/", "--instance", "a")
        with city.db.read() as session:
            before = session.scalar(select(func.max(OutboxEvent.id))) or 0
        admin = staff(city.api(0), "admin")

        # The facilities department's manhole sensors, with the demo city's open-cover rule.
        profile = f"manhole-{time.monotonic_ns()}"
        apikey = f"key{time.monotonic_ns()}"
        for path, body in (
            (
                "/profiles",
                {
                    "code": profile,
                    "name": "Manhole covers",
                    "entity_type": "ManholeCover",
                    "codec": "binary",
                    "codec_config": MANHOLE_CONFIG,
                },
            ),
            ("/groups", {"apikey": apikey, "profile_code": profile}),
            ("/rules", demo_rule("MANHOLE_OPEN", profile)),
        ):
            assert admin.post(PERCEPTION + path, json=body).status_code == 201
        lat, lon = fresh_point()
        device = f"cover-{time.monotonic_ns()}"
        answer = admin.post(
            PERCEPTION + "/devices",
            json={"device_id": device, "apikey": apikey, "lat": lat, "lon": lon},
        )
        assert answer.status_code == 201, answer.text

        # 1. The cover is lifted: the sensor's uplink goes over MQTT to the subscriber, whose
        # rule raises an alarm; the worker's consumer opens and dispatches a case from it.
        with mqtt_client(broker.port) as sensor:
            publish(sensor, f"/{apikey}/{device}/attrs", manhole_payload(True, tilt=2))

        def alarm_with_case() -> dict[str, Any] | None:
            alarms = staff(city.api(1), "admin").get(
                PERCEPTION + "/alarms", params={"originator": device}
            )
            items = alarms.json()["items"]
            return items[0] if items and items[0]["case_id"] else None

        alarm = wait_until(alarm_with_case, "an alarm with a case", timeout=60)
        case_id = alarm["case_id"]
        case = admin.get(f"/api/v1/cases/{case_id}").json()
        assert (case["status"], case["department"]["code"]) == ("dispatched", "facilities")
        assert case["category"]["code"] == "C-01-01"

        # 2. A citizen reports the same cover through the other API process: it joins the case.
        with httpx.Client(base_url=city.api(1), timeout=10) as citizen:
            report = citizen.post(
                "/api/v1/reports",
                json={
                    "category": "C-01-01",
                    "lat": lat,
                    "lon": lon,
                    "description": "The manhole cover is gone",
                    "attributes": {"cover_state": "missing"},
                    "contact_email": "resident@example.org",
                },
            )
            assert report.status_code == 201, report.text
            assert report.json()["joined_existing"] is True
            assert report.json()["case_id"] == case_id
            token = report.json()["tracking_token"]

            # 3. The field worker fixes it with a proof photo; the supervisor closes it.
            worker = staff(city.api(0), "worker-facilities")
            acted = worker.post(f"/api/v1/cases/{case_id}/actions", json={"action": "start"})
            assert acted.status_code == 200, acted.text
            proof = worker.post(
                "/api/v1/media", files={"file": ("fixed.jpg", jpeg_bytes(), "image/jpeg")}
            )
            assert proof.status_code == 201, proof.text
            resolve = {
                "action": "resolve",
                "note": "New cover fitted and locked",
                "attachments": [proof.json()["id"]],
            }
            worker = staff(city.api(1), "worker-facilities")
            acted = worker.post(f"/api/v1/cases/{case_id}/actions", json=resolve)
            assert acted.status_code == 200, acted.text
            closed = staff(city.api(0), "supervisor").post(
                f"/api/v1/cases/{case_id}/actions",
                json={"action": "verify", "resolution": "fixed", "note": "Checked"},
            )
            assert closed.status_code == 200, closed.text
            assert closed.json()["status"] == "closed"

            # 4. The citizen sees it closed, and the worker's consumers put each public update
            # in their inbox once.
            tracked = citizen.get(f"/api/v1/track/{token}").json()["case"]
            assert tracked["status"] == "closed"
            with city.db.read() as session:
                updates = list(
                    session.scalars(
                        select(OutboxEvent.id).where(
                            OutboxEvent.aggregate_id == str(case_id),
                            OutboxEvent.type == CasePublicUpdate.type,
                            OutboxEvent.id > before,
                        )
                    )
                )
            assert updates

            def inbox() -> list[dict[str, Any]]:
                return list(citizen.get(f"/api/v1/track/{token}/notifications").json())

            def told_of_the_close() -> bool:
                return any("closed" in str(line).lower() for line in inbox())

            wait_until(told_of_the_close, "the citizen told of the close", timeout=60)

        # Every event of the story reached every consumer once, and none failed on the way.
        def settled() -> bool:
            with city.db.read() as session:
                return not session.scalar(
                    select(func.count()).where(
                        OutboxEvent.id > before, OutboxEvent.published_at.is_(None)
                    )
                )

        wait_until(settled, "every event published", timeout=60)
        with city.db.read() as session:
            failed = session.scalars(
                select(OutboxEvent.last_error).where(
                    OutboxEvent.id > before, OutboxEvent.last_error.is_not(None)
                )
            ).all()
            assert failed == []
            notes = Counter(
                session.execute(
                    select(
                        Notification.source_event_id,
                        Notification.channel,
                        Notification.report_id,
                        Notification.user_id,
                    ).where(Notification.source_event_id > before)
                ).all()
            )
        # One line per event, channel and recipient (the sensor's report and the citizen's).
        assert notes and set(notes.values()) == {1}


def test_two_workers_run_each_job_once_per_period_and_each_event_once_per_consumer(
    templates: dict[str, str], tmp_path: Path
) -> None:
    with layout(templates, tmp_path, apis=1, scheduler_interval_seconds="1") as city:
        with city.db.read() as session:
            before = session.scalar(select(func.max(OutboxEvent.id))) or 0
        for _ in range(2):
            city.start("worker", "cityloop worker running")

        def runs() -> dict[str, tuple[int, str | None]]:
            with city.db.read() as session:
                rows = session.scalars(select(ScheduledJobRun)).all()
                return {row.name: (row.runs, row.last_runner) for row in rows}

        wait_until(lambda: runs().get("sla-sweep", (0, None))[0] >= 2, "the sweep running")
        started, first = time.monotonic(), runs()
        time.sleep(8)
        elapsed, last = time.monotonic() - started, runs()
        # Each of the 1-second jobs was claimed at most once a second, though each worker's
        # scheduler wants it every second: two uncoordinated ones would run it about 16 times.
        for job in ("sla-sweep", "application-overdue", "ngsild-periodic-notifications"):
            done = last[job][0] - first[job][0]
            assert 2 <= done <= int(elapsed) + 1, (job, done, elapsed)

        # Reports through the API: each event is delivered once to every consumer that wants it,
        # the two workers sharing each consumer's durable on the stream.
        with httpx.Client(base_url=city.api(0), timeout=10) as citizen:
            for _ in range(20):
                lat, lon = fresh_point()
                answer = citizen.post(
                    "/api/v1/reports",
                    json={"category": "C-02-01", "lat": lat, "lon": lon, "description": "pothole"},
                )
                assert answer.status_code == 201, answer.text

        def events() -> list[OutboxEvent]:
            with city.db.read() as session:
                rows = session.scalars(select(OutboxEvent).where(OutboxEvent.id > before)).all()
                session.expunge_all()
                return list(rows)

        wait_until(
            lambda: all(e.published_at for e in events()) and len(events()) >= 20,
            "every event published",
        )

        def inbox_lines() -> Counter[tuple[int, str, int | None]]:
            ids = [e.id for e in events() if e.type == CasePublicUpdate.type]
            with city.db.read() as session:
                rows = session.execute(
                    select(
                        Notification.source_event_id, Notification.channel, Notification.report_id
                    ).where(Notification.source_event_id.in_(ids))
                ).all()
            return Counter((int(event), str(channel), report) for event, channel, report in rows)

        public = [e.id for e in events() if e.type == CasePublicUpdate.type]
        assert len(public) >= 20
        wait_until(lambda: len(inbox_lines()) == len(public), "an inbox line per public update")
        time.sleep(2)  # a double would arrive meanwhile
        assert set(inbox_lines().values()) == {1}
        assert [e.id for e in events() if e.last_error or e.attempts] == []
        with city.db.read() as session:
            delivered = session.execute(
                select(OutboxDelivery.event_id, OutboxDelivery.consumer).where(
                    OutboxDelivery.event_id > before
                )
            ).all()
        assert delivered and set(Counter(delivered).values()) == {1}
