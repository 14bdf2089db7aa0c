"""Every follower of a case hears of each public change once, however the relay batches the
changes: a batch of updates across several cases writes exactly the rows that delivering them
one at a time writes, a redelivered batch writes none, a bad update fails alone, and the
batch's reads do not grow with its size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.outbox import Consumer, DeliveredEvent, OutboxEvent, run_consumer
from cityloop.domains.governance.events import CasePublicUpdate
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.notify.models import Notification
from tests.support.city import City, fresh_point
from tests.support.statements import statements_sent

CATEGORY = "C-02-01"  # not dispatched at once: a report writes one public row
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}

Row = tuple[Any, ...]


def _report(city: City, point: tuple[float, float], headers: dict[str, str], **body: Any) -> int:
    lat, lon = point
    response = city.client.post(
        "/api/v1/reports",
        json={"category": CATEGORY, "lat": lat, "lon": lon, "description": "bin full", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["case_id"])


def _three_cases_with_shared_followers(city: City) -> list[int]:
    """Case A: the citizen (account and an address), an anonymous supporter with the same
    address in other letters, and the citizen again. Case B: the citizen and an anonymous
    supporter in Chinese with an address. Case C: one anonymous report without contact."""
    citizen = city.headers("citizen")
    a, b = fresh_point(), fresh_point()
    case_a = _report(city, a, citizen, contact_email="Shared@Example.org")
    assert _report(city, a, {}, contact_email="shared@example.org") == case_a
    assert _report(city, a, citizen) == case_a
    case_b = _report(city, b, citizen)
    assert _report(city, b, CHINESE, contact_email="other@example.org") == case_b
    case_c = _report(city, fresh_point(), {})
    return [case_a, case_b, case_c]


def _pending_updates(city: City) -> list[DeliveredEvent]:
    with city.ctx.reading() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None), OutboxEvent.type == CasePublicUpdate.type)
            .order_by(OutboxEvent.id)
        )
        return [
            DeliveredEvent(
                e.id, e.type, e.aggregate_type, e.aggregate_id, dict(e.payload), e.created_at
            )
            for e in rows
        ]


def _consumer(city: City) -> Consumer:
    return next(c for c in city.ctx.consumers.consumers if c.name == "notify.public")


def _deliver(city: City, events: list[DeliveredEvent]) -> dict[int, str]:
    with city.ctx.db.writing() as session:
        return run_consumer(session, _consumer(city), events, published_is_done=True)


def _rows(session: Session, events: list[DeliveredEvent]) -> list[Row]:
    query = (
        select(Notification)
        .where(Notification.source_event_id.in_([e.id for e in events]))
        .order_by(Notification.id)
    )
    return [
        (
            n.source_event_id,
            n.case_id,
            n.channel,
            n.user_id,
            n.report_id,
            n.kind,
            n.address,
            n.subject,
            n.message,
            n.message_code,
            n.message_params,
        )
        for n in session.scalars(query)
    ]


def _one_at_a_time(city: City, events: list[DeliveredEvent]) -> list[Row]:
    """The rows that delivering each update alone writes, rolled back afterwards."""
    session = city.ctx.db.write()
    try:
        for delivered in events:
            _consumer(city).handler(session, delivered)
        session.flush()
        return _rows(session, events)
    finally:
        session.rollback()
        session.close()


def test_a_batch_across_cases_writes_exactly_the_rows_of_one_update_at_a_time(
    city: City,
) -> None:
    city.drain()
    cases = _three_cases_with_shared_followers(city)
    updates = _pending_updates(city)
    assert [u.payload["case_id"] for u in updates] == [cases[0]] * 3 + [cases[1]] * 2 + [cases[2]]
    expected = _one_at_a_time(city, updates)
    assert _deliver(city, updates) == {}
    with city.ctx.reading() as session:
        written = _rows(session, updates)
        citizen = session.scalar(select(User.id).where(User.username == "citizen"))
    assert written == expected
    # A: two inbox lines (the citizen once, the anonymous supporter) and one e-mail for the one
    # address, per update; B: two inbox lines and one e-mail; C: one inbox line.
    assert len(written) == 3 * 3 + 2 * 3 + 1
    assert sum(1 for row in written if row[3] == citizen) == 5
    emails = [(row[1], row[6]) for row in written if row[2] == "email"]
    assert emails == [(cases[0], "shared@example.org")] * 3 + [(cases[1], "other@example.org")] * 2
    # The supporter on B reported in Chinese and is written to in Chinese.
    assert all(row[8].startswith("案卷") for row in written if row[6] == "other@example.org")
    assert all(row[8].startswith("Case") for row in written if row[3] == citizen)


def test_a_redelivered_batch_notifies_nobody_again(city: City) -> None:
    city.drain()
    _three_cases_with_shared_followers(city)
    updates = _pending_updates(city)
    assert _deliver(city, updates) == {}
    with city.ctx.reading() as session:
        first = _rows(session, updates)
    assert first
    assert _deliver(city, updates) == {}
    # Even past the relay's delivery records, the rows already written keep it at once.
    with city.ctx.db.writing() as session:
        _consumer(city).batch_handler(session, updates)  # type: ignore[misc]
    with city.ctx.reading() as session:
        assert _rows(session, updates) == first


def test_a_bad_update_in_a_batch_fails_alone(city: City) -> None:
    city.drain()
    _three_cases_with_shared_followers(city)
    updates = _pending_updates(city)
    bad = updates[2]
    broken = DeliveredEvent(
        bad.id, bad.type, bad.aggregate_type, bad.aggregate_id, {"case_id": "x"}, bad.created_at
    )
    failures = _deliver(city, [*updates[:2], broken, *updates[3:]])
    assert list(failures) == [bad.id]
    with city.ctx.reading() as session:
        told = {row[0] for row in _rows(session, updates)}
    assert told == {u.id for u in updates} - {bad.id}
    # Its next delivery, whole again, tells its followers.
    assert _deliver(city, updates) == {}
    with city.ctx.reading() as session:
        assert {row[0] for row in _rows(session, updates)} == {u.id for u in updates}


def test_a_batchs_statements_do_not_grow_with_its_size(city: City) -> None:
    city.drain()
    _three_cases_with_shared_followers(city)
    small = _pending_updates(city)
    with statements_sent(city) as statements:
        assert _deliver(city, small[:1]) == {}
    city.drain()
    for _ in range(3):
        _three_cases_with_shared_followers(city)
    large = _pending_updates(city)
    assert len(large) == 18
    with statements_sent(city) as many:
        assert _deliver(city, large) == {}
    with city.ctx.reading() as session:
        assert len(_rows(session, large)) == 3 * 16
    assert len(many) == len(statements), (statements, many)
