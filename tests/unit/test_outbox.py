"""The transactional outbox: nothing delivered unless committed, nothing lost, no double work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cityloop.base.db import utcnow
from cityloop.base.outbox import (
    DeliveredEvent,
    OutboxDelivery,
    OutboxEvent,
    emit,
    load_relay,
    prune_published,
)
from tests.conftest import City, fresh_point, make_city


@pytest.fixture()
def quiet_city(templates: dict[str, str], tmp_path: Path) -> Iterator[City]:
    yield from make_city(templates, "sqlite", tmp_path)


def test_an_event_from_a_rolled_back_transaction_is_never_delivered(quiet_city: City) -> None:
    seen: list[int] = []
    quiet_city.ctx.consumers.subscribe("probe", {"probe.rollback"}, lambda s, e: seen.append(e.id))
    with pytest.raises(RuntimeError), quiet_city.ctx.writing() as session:
        emit(session, "probe.rollback", "probe", 1, {})
        raise RuntimeError("the business rule failed")
    quiet_city.drain()
    assert seen == []


def test_a_failing_consumer_is_retried_without_redoing_the_others(quiet_city: City) -> None:
    calls = {"steady": 0, "flaky": 0}

    def steady(session: object, event: DeliveredEvent) -> None:
        calls["steady"] += 1

    def flaky(session: object, event: DeliveredEvent) -> None:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ConnectionError("webhook down")

    quiet_city.ctx.consumers.subscribe("steady", {"probe.retry"}, steady)
    quiet_city.ctx.consumers.subscribe("flaky", {"probe.retry"}, flaky)
    with quiet_city.ctx.writing() as session:
        event = emit(session, "probe.retry", "probe", 1, {})
    quiet_city.drain()  # flaky fails once; the event stays pending
    with quiet_city.ctx.reading() as session:
        row = session.get(OutboxEvent, event.id)
        assert row is not None and row.published_at is None and row.attempts == 1
    quiet_city.drain()
    assert calls == {"steady": 1, "flaky": 2}
    with quiet_city.ctx.reading() as session:
        row = session.get(OutboxEvent, event.id)
        assert row is not None and row.published_at is not None


def test_the_background_relay_delivers_without_being_asked(
    templates: dict[str, str], tmp_path: Path
) -> None:
    for city in make_city(templates, "sqlite", tmp_path, run_background=True):
        lat, lon = fresh_point()
        answer = city.report(category="C-02-01", lat=lat, lon=lon)
        city.act(answer["case_id"], "dispatcher", action="register")
        deadline = time.monotonic() + 10
        notes: list[object] = []
        while time.monotonic() < deadline and not notes:
            notes = city.client.get(
                f"/api/v1/track/{answer['tracking_token']}/notifications"
            ).json()
            time.sleep(0.05)
        assert notes, "the relay did not deliver within 10 s"
        with city.ctx.reading() as session:
            pending = session.scalars(
                select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None))
            ).all()
        assert len(pending) <= 2  # at most the events still in flight


def test_an_unknown_relay_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no event relay"):
        load_relay("carrier-pigeon")


def test_published_events_are_pruned_after_the_retention_and_others_kept(
    quiet_city: City,
) -> None:
    ctx = quiet_city.ctx
    ctx.consumers.subscribe("probe", {"probe.prune"}, lambda s, e: None)
    with ctx.writing() as session:
        old, recent, stuck = (emit(session, "probe.prune", "probe", n, {}) for n in range(3))
        session.flush()
        ids = (old.id, recent.id, stuck.id)
    quiet_city.drain()
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
    assert ids[0] not in deliveries and ids[1] in deliveries
