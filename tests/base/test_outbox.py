"""The transactional outbox: nothing delivered unless committed, nothing lost, no double work."""

from __future__ import annotations

import select as select_module
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityloop.base.db import Database, utcnow
from cityloop.base.outbox import (
    ConsumerRegistry,
    DeliveredEvent,
    InProcessRelay,
    OutboxDelivery,
    OutboxEvent,
    emit,
    load_relay,
    prune_published,
)
from cityloop.domains.governance import events as case_events
from cityloop.platforms.application.notify.models import Notification
from tests.base import outbox_probe as probe
from tests.support.city import City, fresh_point, make_city
from tests.support.databases import BACKENDS, seeded_database
from tests.support.servers import Server
from tests.support.waiting import wait_until


@pytest.fixture(params=BACKENDS)
def quiet_city(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[City]:
    yield from make_city(templates, request.param, tmp_path)


def test_an_event_from_a_rolled_back_transaction_is_never_delivered(quiet_city: City) -> None:
    seen: list[int] = []
    quiet_city.ctx.consumers.subscribe(
        "probe", [probe.ProbeRollback], lambda s, e: seen.append(e.id)
    )
    with pytest.raises(RuntimeError), quiet_city.ctx.writing() as session:
        emit(session, probe.ProbeRollback())
        raise RuntimeError("the business rule failed")
    quiet_city.drain()
    assert seen == []


def test_a_failing_consumer_is_retried_without_redoing_the_others(quiet_city: City) -> None:
    db = quiet_city.ctx.db
    probe.create_probe_table(db)
    webhook = {"down": True}
    record = probe.effect("flaky")

    def flaky(session: Session, event: DeliveredEvent) -> None:
        if webhook["down"]:
            raise ConnectionError("webhook down")
        record(session, event)

    # The seed's own events (the service catalogue's) go first, so this one is alone.
    quiet_city.drain()
    quiet_city.ctx.consumers.subscribe("steady", [probe.ProbeRetry], probe.effect("steady"))
    quiet_city.ctx.consumers.subscribe("flaky", [probe.ProbeRetry], flaky)
    with quiet_city.ctx.writing() as session:
        event = emit(session, probe.ProbeRetry())
    quiet_city.drain()  # flaky fails; the event stays pending
    with quiet_city.ctx.reading() as session:
        row = session.get(OutboxEvent, event.id)
        assert row is not None and row.published_at is None and row.attempts == 1
    assert probe.effects(db) == Counter({(event.id, "steady"): 1})
    # The consumer that handled it is on record, so the retry skips it.
    assert probe.deliveries(db, [event.id]) == Counter({(event.id, "steady"): 1})
    webhook["down"] = False
    quiet_city.drain()
    assert probe.effects(db) == Counter({(event.id, "steady"): 1, (event.id, "flaky"): 1})
    assert probe.unpublished(db, [event.id]) == []


def test_a_batch_every_consumer_handled_is_published_with_no_delivery_records(
    quiet_city: City,
) -> None:
    db = quiet_city.ctx.db
    probe.create_probe_table(db)
    quiet_city.drain()
    probe.subscribe_probes(quiet_city.ctx.consumers, ["probe.a", "probe.b"], [probe.ProbeTwice])
    with quiet_city.ctx.writing() as session:
        events = [emit(session, probe.ProbeTwice(n=n)) for n in range(3)]
        session.flush()
        ids = [e.id for e in events]
    assert quiet_city.ctx.relay.drain() == 3
    assert probe.effects(db) == Counter({(e, c): 1 for e in ids for c in ("probe.a", "probe.b")})
    # The published mark, in the consumers' transaction, is the record that they all ran.
    assert probe.unpublished(db, ids) == []
    assert probe.deliveries(db, ids) == Counter()


def test_an_event_another_relay_published_after_this_one_read_it_is_not_run_again(
    quiet_city: City,
) -> None:
    db = quiet_city.ctx.db
    probe.create_probe_table(db)
    quiet_city.drain()

    def relay() -> InProcessRelay:
        registry = ConsumerRegistry()
        probe.subscribe_probes(registry, ["probe.a", "probe.b"], [probe.ProbeTwice])
        return InProcessRelay(Database(db.url), registry)

    class Late(InProcessRelay):
        """Reads the batch, then lets another relay deliver it before its own write."""

        def _pending(self, batch: int) -> tuple[list[DeliveredEvent], bool]:
            read, retried = super()._pending(batch)
            assert other.drain() == len(read)
            return read, retried

    other = relay()
    late = Late(Database(db.url), relay().registry)
    with quiet_city.ctx.writing() as session:
        event = emit(session, probe.ProbeTwice())
        session.flush()
        event_id = event.id
    assert late.drain() == 1  # done, though by the other relay
    assert probe.effects(db) == Counter({(event_id, "probe.a"): 1, (event_id, "probe.b"): 1})
    assert probe.unpublished(db, [event_id]) == []
    other.db.dispose()
    late.db.dispose()
    with quiet_city.ctx.reading() as session:
        row = session.get(OutboxEvent, event.id)
        assert row is not None and row.published_at is not None


def test_a_batch_consumer_takes_a_batch_at_once_and_a_bad_event_fails_alone(
    quiet_city: City,
) -> None:
    batches: list[list[int]] = []

    def handle(session: object, batch: list[DeliveredEvent]) -> None:
        if any(event.payload.get("bad") for event in batch):
            raise ValueError("one event of this batch is bad")
        batches.append([event.id for event in batch])

    quiet_city.drain()
    quiet_city.ctx.consumers.subscribe_batch("batched", [probe.ProbeRetry], handle)
    with quiet_city.ctx.writing() as session:
        good = [emit(session, probe.ProbeRetry()) for _ in range(3)]
    quiet_city.drain()
    assert batches == [[event.id for event in good]]  # one call for the three
    with quiet_city.ctx.writing() as session:
        first = emit(session, probe.ProbeRetry())
        bad = emit(session, probe.ProbeRetry())
        session.flush()
        bad.payload = {**bad.payload, "bad": True}
        last = emit(session, probe.ProbeRetry())
    batches.clear()
    quiet_city.drain()
    # The batch failed, so each went alone: the bad one failed (and was retried), alone.
    assert batches == [[first.id], [last.id]]
    with quiet_city.ctx.reading() as session:
        published = {
            e.id: e.published_at is not None
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.id.in_([first.id, bad.id, last.id]))
            )
        }
    assert published == {first.id: True, bad.id: False, last.id: True}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_background_relay_delivers_without_being_asked(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    for city in make_city(templates, backend, tmp_path, run_background=True):
        lat, lon = fresh_point()
        answer = city.report(category="C-02-01", lat=lat, lon=lon)
        city.act(answer["case_id"], "dispatcher", action="register")
        # The seeded city starts with the seed's own events (devices, services, grants) still
        # to deliver: the relay works through them too, unasked.
        deadline = time.monotonic() + 20
        notes: list[object] = []
        pending: list[int] = []
        while time.monotonic() < deadline:
            notes = city.client.get(
                f"/api/v1/track/{answer['tracking_token']}/notifications"
            ).json()
            with city.ctx.reading() as session:
                pending = list(
                    session.scalars(
                        select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None))
                    )
                )
            if notes and len(pending) <= 2:  # at most the events still in flight
                break
            time.sleep(0.05)
        assert notes, "the relay did not deliver within 20 s"
        assert len(pending) <= 2, f"{len(pending)} events still undelivered after 20 s"


def test_an_unknown_relay_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no event relay"):
        load_relay("carrier-pigeon")


def test_published_events_are_pruned_after_the_retention_and_others_kept(
    quiet_city: City,
) -> None:
    ctx = quiet_city.ctx
    ctx.consumers.subscribe("probe", [probe.ProbePrune], lambda s, e: None)
    receiver = {"down": True}

    def flaky(session: object, event: DeliveredEvent) -> None:
        if receiver["down"]:
            raise ConnectionError("down for a moment")

    # A consumer that fails the first time leaves the other's delivery records behind.
    ctx.consumers.subscribe("probe.flaky", [probe.ProbePrune], flaky)
    with ctx.writing() as session:
        old, recent, stuck = (emit(session, probe.ProbePrune(n=n)) for n in range(3))
        session.flush()
        ids = (old.id, recent.id, stuck.id)
    quiet_city.drain()
    assert probe.deliveries(ctx.db, list(ids)) == Counter({(i, "probe"): 1 for i in ids})
    receiver["down"] = False
    quiet_city.drain()
    assert probe.unpublished(ctx.db, list(ids)) == []
    long_ago = utcnow() - timedelta(days=10)
    with ctx.writing() as session:
        session.execute(
            update(OutboxEvent).where(OutboxEvent.id == ids[0]).values(published_at=long_ago)
        )
        # A dead letter: never published, however old.
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == ids[2])
            .values(published_at=None, created_at=long_ago, attempts=10)
        )
    assert prune_published(ctx.db, timedelta(hours=72)) == 1
    with ctx.reading() as session:
        left = set(session.scalars(select(OutboxEvent.id).where(OutboxEvent.id.in_(ids))))
        deliveries = set(
            session.scalars(select(OutboxDelivery.event_id).where(OutboxDelivery.event_id.in_(ids)))
        )
    assert left == {ids[1], ids[2]}
    assert ids[0] not in deliveries and {ids[1], ids[2]} <= deliveries


# ---------------------------------------------------------------- crashes and concurrent relays


def _public_update_events(db: Database, case_id: int) -> list[int]:
    with db.read() as session:
        return list(
            session.scalars(
                select(OutboxEvent.id)
                .where(
                    OutboxEvent.aggregate_id == str(case_id),
                    OutboxEvent.type == case_events.CasePublicUpdate.type,
                )
                .order_by(OutboxEvent.id)
            )
        )


def _notifications(db: Database, event_ids: list[int]) -> Counter[tuple[int, str]]:
    return probe.rows_per_event(db, Notification.source_event_id, Notification.channel, event_ids)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_event_committed_by_a_server_killed_before_delivery_is_delivered_after_restart(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    with seeded_database(templates, backend, tmp_path) as url:
        db = Database(url)
        env = {"CITYLOOP_DATABASE_URL": url, "CITYLOOP_INTAKE_RATE_LIMIT": "0"}
        # The first process has no relay running, so the kill certainly comes between the
        # commit of the report (with its events) and their delivery.
        first = Server("serve", tmp_path, {**env, "CITYLOOP_RUN_BACKGROUND": "false"})
        second = Server("serve", tmp_path, env)
        try:
            base = first.start()
            lat, lon = fresh_point()
            answer = httpx.post(
                f"{base}/api/v1/reports",
                json={"category": "C-02-01", "lat": lat, "lon": lon,
                      "description": "pothole", "contact_email": "crash@example.org"},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
            first.kill()
            events = _public_update_events(db, answer.json()["case_id"])
            assert events, "the report emitted no public update"
            assert probe.unpublished(db, events) == events
            assert probe.deliveries(db, events) == Counter()
            assert _notifications(db, events) == Counter()

            base = second.start()
            wait_until(lambda: not probe.unpublished(db, events), "the events delivered")
            # Once per consumer: its work (an inbox line and an e-mail for the reporter) done
            # once, and published with it, so no delivery record was needed.
            assert probe.deliveries(db, events) == Counter()
            assert _notifications(db, events) == Counter(
                {(event, channel): 1 for event in events for channel in ("inbox", "email")}
            )
            token = answer.json()["tracking_token"]
            inbox = httpx.get(f"{base}/api/v1/track/{token}/notifications").json()
            assert len(inbox) == len(events)
        finally:
            first.kill()
            second.kill()
            db.dispose()


def _relay_child(url: str, mode: str, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.base.outbox_probe", url, mode, str(data_dir)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_relay_killed_mid_batch_keeps_none_of_it_and_runs_each_consumer_once_after_restart(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    with seeded_database(templates, backend, tmp_path) as url:
        db = Database(url)
        probe.create_probe_table(db)
        with db.writing() as session:
            event = emit(session, probe.ProbeCrash())
            session.flush()
            event_id = event.id
        first, second = probe.FIRST, probe.STUCK
        child = _relay_child(url, "hang", tmp_path)
        try:
            assert child.stdout is not None
            ready, _, _ = select_module.select([child.stdout], [], [], 60)
            assert ready, "the relay never reached the second consumer"
            assert child.stdout.readline().strip() == f"stuck {event_id}"
            child.kill()
            child.wait(20)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(20)
        # Every consumer of the batch commits in one transaction with the published mark, so
        # the first consumer's work went with the kill, and no record of it stayed either.
        assert probe.effects(db) == Counter()
        assert probe.deliveries(db, [event_id]) == Counter()
        assert probe.unpublished(db, [event_id]) == [event_id]

        restarted = _relay_child(url, "finish", tmp_path)
        assert restarted.wait(120) == 0
        assert probe.effects(db) == Counter({(event_id, first): 1, (event_id, second): 1})
        assert probe.deliveries(db, [event_id]) == Counter()
        assert probe.unpublished(db, [event_id]) == []
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_relays_at_once_deliver_each_event_once_per_consumer(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    consumers = ["probe.a", "probe.b", "probe.c"]
    with seeded_database(templates, backend, tmp_path) as url:
        setup = Database(url)
        probe.create_probe_table(setup)
        event_ids: list[int] = []
        for chunk in range(10):
            with setup.writing() as session:
                batch = [emit(session, probe.ProbeTwice(n=chunk)) for _ in range(20)]
                session.flush()
                event_ids += [e.id for e in batch]
        # Two relays, each with its own engine (its own connections, and on SQLite its own
        # in-process writer lock), as two processes would have; small batches so they overlap.
        relays = []
        for _ in range(2):
            registry = ConsumerRegistry()
            probe.subscribe_probes(registry, consumers, [probe.ProbeTwice])
            relays.append(InProcessRelay(Database(url), registry))
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(relay: InProcessRelay) -> None:
            try:
                start.wait(30)
                while probe.unpublished(relay.db, event_ids):
                    relay.drain(batch=10)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(relay,)) for relay in relays]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        expected = Counter({(e, c): 1 for e in event_ids for c in consumers})
        assert probe.effects(setup) == expected
        assert probe.deliveries(setup, event_ids) == Counter()  # none failed
        assert probe.unpublished(setup, event_ids) == []
        # Neither relay took the other's work for a failure of its own.
        with setup.read() as session:
            counted_as_failed = session.scalars(
                select(OutboxEvent.id).where(
                    OutboxEvent.id.in_(event_ids),
                    (OutboxEvent.attempts > 0) | OutboxEvent.last_error.is_not(None),
                )
            ).all()
        assert counted_as_failed == []
        for relay in relays:
            relay.db.dispose()
        setup.dispose()


def test_the_relay_is_woken_when_events_commit_not_when_their_savepoint_is_released(
    quiet_city: City,
) -> None:
    relay = quiet_city.ctx.relay
    assert isinstance(relay, InProcessRelay)
    relay._wake.clear()
    with quiet_city.ctx.writing() as session:
        with session.begin_nested():
            emit(session, probe.ProbeRetry())
        # Released but not committed: a relay woken now would find nothing to deliver.
        assert not relay._wake.is_set()
    assert relay._wake.is_set()
