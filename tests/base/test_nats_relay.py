"""The outbox relay over NATS JetStream: every committed event reaches every consumer once,
whatever restarts, redeliveries or double publishing happen on the way."""

from __future__ import annotations

import importlib
import select as select_module
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from nats.js import JetStreamContext
from sqlalchemy import select, update

from cityloop.base.db import Database
from cityloop.base.events import Event
from cityloop.base.nats_relay import NatsRelay, durable_for, encode, subject_for
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent, OutboxEvent, emit, load_relay
from cityloop.domains.governance.events import CasePublicUpdate
from cityloop.platforms.application.notify.models import Notification
from cityloop.settings import Settings
from tests.base import nats_probe
from tests.base import outbox_probe as probe
from tests.support.city import fresh_point, make_city
from tests.support.databases import BACKENDS, seeded_database
from tests.support.nats import (
    delete_stream,
    private_nats,
    shared_nats,
    stream_messages,
    stream_name,
    with_jetstream,
)
from tests.support.waiting import wait_until


@dataclass
class Setup:
    """A seeded database (its own events already published) and a stream of the test's own."""

    url: str
    db: Database
    nats_url: str
    stream: str
    relays: list[NatsRelay] = field(default_factory=list)

    def relay(self, registry: ConsumerRegistry, nats_url: str | None = None) -> NatsRelay:
        relay = nats_probe.relay_for(
            Database(self.url), registry, nats_url or self.nats_url, self.stream
        )
        self.relays.append(relay)
        return relay

    def emit(self, events: list[Event]) -> list[int]:
        with self.db.writing() as session:
            rows = [emit(session, event) for event in events]
            session.flush()
            return [row.id for row in rows]


@pytest.fixture(params=BACKENDS)
def setup(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[Setup]:
    nats_url = shared_nats()
    with seeded_database(templates, request.param, tmp_path) as url:
        db = Database(url)
        probe.create_probe_table(db)
        with db.writing() as session:  # the seed's own events are not these tests' business
            session.execute(update(OutboxEvent).values(published_at=OutboxEvent.created_at))
        state = Setup(url, db, nats_url, stream_name())
        try:
            yield state
        finally:
            for relay in state.relays:
                relay.stop()
                relay.db.dispose()
            db.dispose()
            delete_stream(nats_url, state.stream)


def probes(names: list[str], kind: type[Event] = probe.ProbeTwice) -> ConsumerRegistry:
    registry = ConsumerRegistry()
    probe.subscribe_probes(registry, names, [kind])
    return registry


def once_each(event_ids: list[int], consumers: list[str]) -> Counter[tuple[int, str]]:
    return Counter({(event, consumer): 1 for event in event_ids for consumer in consumers})


def test_events_committed_in_transactions_reach_every_consumer_exactly_once(setup: Setup) -> None:
    consumers = ["probe.a", "probe.b", "probe.c"]
    relay = setup.relay(probes(consumers))
    relay.start()
    event_ids: list[int] = []
    for chunk in range(5):
        event_ids += setup.emit([probe.ProbeTwice(n=chunk) for _ in range(30)])
        relay.notify()
    expected = once_each(event_ids, consumers)
    wait_until(lambda: probe.effects(setup.db) == expected, "every consumer's effects")
    assert probe.deliveries(setup.db, event_ids) == expected
    assert probe.unpublished(setup.db, event_ids) == []
    assert stream_messages(setup.nats_url, setup.stream) == len(event_ids)


def test_an_event_from_a_rolled_back_transaction_is_never_published(setup: Setup) -> None:
    relay = setup.relay(probes(["probe.a"], probe.ProbeRollback))
    relay.start()
    with pytest.raises(RuntimeError), setup.db.writing() as session:
        emit(session, probe.ProbeRollback())
        raise RuntimeError("the business rule failed")
    assert relay.drain() == 0
    (committed,) = setup.emit([probe.ProbeRollback()])
    wait_until(lambda: probe.effects(setup.db), "the committed event's effect")
    assert probe.effects(setup.db) == Counter({(committed, "probe.a"): 1})
    assert stream_messages(setup.nats_url, setup.stream) == 1


def test_an_event_published_twice_is_stored_and_delivered_once(setup: Setup) -> None:
    relay = setup.relay(probes(["probe.a"]))
    relay.start()
    event_ids = setup.emit([probe.ProbeTwice(n=n) for n in range(10)])
    wait_until(lambda: not probe.unpublished(setup.db, event_ids), "the first publication")
    # As if the relay died after JetStream acknowledged the batch and before it marked the
    # rows published: the next pass publishes the same ten again.
    with setup.db.writing() as session:
        session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(event_ids)).values(published_at=None)
        )
    relay.notify()
    wait_until(lambda: not probe.unpublished(setup.db, event_ids), "the second publication")
    expected = once_each(event_ids, ["probe.a"])
    wait_until(lambda: probe.effects(setup.db) == expected, "the effects")
    assert stream_messages(setup.nats_url, setup.stream) == 10
    assert probe.unpublished(setup.db, event_ids) == []


def test_an_event_published_again_after_the_duplicate_window_is_not_run_again(
    setup: Setup,
) -> None:
    relay = setup.relay(probes(["probe.a"]))
    relay.start()
    (event_id,) = setup.emit([probe.ProbeTwice()])
    wait_until(lambda: probe.effects(setup.db), "the first delivery")
    with setup.db.read() as session:
        row = session.get(OutboxEvent, event_id)
        assert row is not None
        again = encode(
            DeliveredEvent(
                row.id, row.type, row.aggregate_type, row.aggregate_id, row.payload, row.created_at
            )
        )

    # JetStream forgot the id (its window passed) and the message comes in a second time.
    async def republish(js: JetStreamContext) -> None:
        subject = subject_for(setup.stream, probe.ProbeTwice.type)
        await js.publish(subject, again, headers={"Nats-Msg-Id": f"late-{event_id}"})

    async def settled(js: JetStreamContext) -> bool:
        info = await js.consumer_info(setup.stream, durable_for("probe.a"))
        return (
            info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq == 2
        )

    with_jetstream(setup.nats_url, republish)
    wait_until(lambda: with_jetstream(setup.nats_url, settled), "the copy acknowledged")
    assert stream_messages(setup.nats_url, setup.stream) == 2
    assert probe.effects(setup.db) == Counter({(event_id, "probe.a"): 1})
    # Acknowledged as done, not tried and given up on.
    with setup.db.read() as session:
        row = session.get(OutboxEvent, event_id)
        assert row is not None and (row.attempts, row.last_error) == (0, None)


def test_a_failing_consumer_is_retried_until_it_succeeds_without_doubling_the_others(
    setup: Setup,
) -> None:
    failures_left = {"flaky": 2}
    registry = probes(["steady"], probe.ProbeRetry)

    def flaky(session: object, event: DeliveredEvent) -> None:
        if failures_left["flaky"]:
            failures_left["flaky"] -= 1
            raise ConnectionError("webhook down")
        probe.effect("flaky")(session, event)  # type: ignore[arg-type]

    registry.subscribe("flaky", [probe.ProbeRetry], flaky)
    relay = setup.relay(registry)
    relay.start()
    (event_id,) = setup.emit([probe.ProbeRetry()])
    expected = once_each([event_id], ["steady", "flaky"])
    wait_until(lambda: probe.effects(setup.db) == expected, "both effects")
    assert failures_left == {"flaky": 0}
    assert probe.deliveries(setup.db, [event_id]) == expected


def test_a_consumer_that_keeps_failing_is_given_up_on_and_never_holds_up_the_others(
    setup: Setup,
) -> None:
    registry = probes(["steady"], probe.ProbeRetry)
    calls: list[int] = []

    def broken(session: object, event: DeliveredEvent) -> None:
        calls.append(event.id)
        raise ValueError("the template is broken")

    registry.subscribe("broken", [probe.ProbeRetry], broken)
    relay = setup.relay(registry)
    relay.start()
    event_ids = setup.emit([probe.ProbeRetry(n=n) for n in range(3)])
    wait_until(
        lambda: probe.effects(setup.db) == once_each(event_ids, ["steady"]), "steady's effects"
    )

    def given_up() -> list[OutboxEvent]:
        with setup.db.read() as session:
            rows = session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.id.in_(event_ids), OutboxEvent.last_error.is_not(None)
                )
            ).all()
            session.expunge_all()
            return list(rows)

    def tried_out() -> bool:
        # The error is kept from the first failure on; the last redelivery may still be under way.
        return all(calls.count(event) >= relay.max_deliver for event in event_ids)

    rows = wait_until(
        lambda: tried_out() and len(given_up()) == 3 and given_up(), "the dead letters"
    )
    assert {row.last_error for row in rows} == {"broken: the template is broken"}
    # Tried max_deliver times each, no more.
    assert Counter(calls) == Counter({event: relay.max_deliver for event in event_ids})


def test_while_nats_is_down_the_outbox_holds_events_and_none_is_lost_or_doubled(
    setup: Setup, tmp_path: Path
) -> None:
    consumers = ["probe.a", "probe.b"]
    with private_nats(tmp_path) as server:
        relay = setup.relay(probes(consumers), nats_url=server.url)
        relay.start()
        before = setup.emit([probe.ProbeTwice(n=n) for n in range(20)])
        wait_until(
            lambda: probe.effects(setup.db) == once_each(before, consumers), "effects before"
        )
        server.kill()
        during = setup.emit([probe.ProbeTwice(n=n) for n in range(20)])
        with pytest.raises(Exception):  # noqa: B017 - whichever way the client says it
            relay.drain()
        assert probe.unpublished(setup.db, during) == during
        server.start()
        after = setup.emit([probe.ProbeTwice(n=n) for n in range(20)])
        everything = before + during + after
        wait_until(
            lambda: probe.effects(setup.db) == once_each(everything, consumers),
            "every effect after the restart",
            timeout=60,
        )
        assert probe.deliveries(setup.db, everything) == once_each(everything, consumers)
        assert stream_messages(server.url, setup.stream) == len(everything)
        relay.stop()


def _relay_child(setup: Setup, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.base.nats_probe",
            setup.url,
            setup.nats_url,
            setup.stream,
            mode,
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_a_relay_killed_mid_batch_leaves_every_effect_done_once_after_restart(
    setup: Setup,
) -> None:
    event_ids = setup.emit([probe.ProbeCrash(n=n) for n in range(40)])
    child = _relay_child(setup, "hang")
    try:
        assert child.stdout is not None
        ready, _, _ = select_module.select([child.stdout], [], [], 60)
        assert ready, "the relay never reached the stuck consumer"
        assert child.stdout.readline().startswith("stuck ")
        child.kill()
        child.wait(20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(20)
    # The stuck consumer's batch died with its transaction: none of its work is in.
    assert not [key for key in probe.effects(setup.db) if key[1] == probe.STUCK]

    restarted = _relay_child(setup, "finish")
    try:
        assert restarted.wait(120) == 0
    finally:
        if restarted.poll() is None:
            restarted.kill()
            restarted.wait(20)
    expected = once_each(event_ids, [probe.FIRST, probe.STUCK])
    assert probe.effects(setup.db) == expected
    assert probe.deliveries(setup.db, event_ids) == expected
    assert probe.unpublished(setup.db, event_ids) == []


def _public_updates(db: Database, case_id: int) -> list[int]:
    with db.read() as session:
        return list(
            session.scalars(
                select(OutboxEvent.id).where(
                    OutboxEvent.aggregate_id == str(case_id),
                    OutboxEvent.type == CasePublicUpdate.type,
                )
            )
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_city_on_the_nats_relay_tells_the_reporter_their_case_was_registered(
    backend: str, templates: dict[str, str], tmp_path: Path
) -> None:
    nats_url, stream = shared_nats(), stream_name()
    options = {"relay": "nats", "nats_url": nats_url, "nats_stream": stream}
    try:
        for city in make_city(templates, backend, tmp_path, run_background=True, **options):
            assert isinstance(city.ctx.relay, NatsRelay)
            lat, lon = fresh_point()
            answer = city.report(category="C-02-01", lat=lat, lon=lon)
            city.act(answer["case_id"], "dispatcher", action="register")
            url = f"/api/v1/track/{answer['tracking_token']}/notifications"
            events = _public_updates(city.ctx.db, answer["case_id"])
            assert events, "the report emitted no public update"

            def inbox(client: TestClient = city.client, url: str = url) -> list[object]:
                return list(client.get(url).json())

            def inbox_filled(want: int = len(events)) -> bool:
                return len(inbox()) >= want

            wait_until(inbox_filled, "the reporter's inbox over NATS")
            # Each public update became one inbox line, and nothing came twice.
            notes = probe.rows_per_event(
                city.ctx.db, Notification.source_event_id, Notification.channel, events
            )
            assert notes == Counter({(event, "inbox"): 1 for event in events})
            assert len(inbox()) == len(events)
            assert stream_messages(nats_url, stream) > 0
    finally:
        delete_stream(nats_url, stream)


def test_the_settings_choose_the_nats_relay_and_its_server(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, relay="nats", nats_url="nats://nats.internal:4222", nats_stream="CITY"
    )
    relay = load_relay(settings.relay)(
        Database(f"sqlite:///{tmp_path}/x.db"), ConsumerRegistry(), settings
    )
    assert isinstance(relay, NatsRelay)
    assert (relay.url, relay.stream) == ("nats://nats.internal:4222", "CITY")
    relay.db.dispose()


def test_a_stream_name_nats_would_refuse_is_refused_in_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nats_stream"):
        Settings(data_dir=tmp_path, nats_stream="city.events")


def test_the_relays_declared_as_entry_points_are_the_ones_load_relay_gives() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["cityloop.relays"]
    assert set(declared) == {"inprocess", "nats"}
    for name, target in declared.items():
        module, _, path = target.partition(":")
        found: object = importlib.import_module(module)
        for attribute in path.split("."):
            found = getattr(found, attribute)
        assert found == load_relay(name)
