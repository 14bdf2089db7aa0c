"""Outbound webhooks against real local HTTP servers: delivery, isolation between endpoints,
retries, giving up, crash recovery and the transaction boundary, on every engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from cityloop.base import metrics
from cityloop.base.db import utcnow
from cityloop.platforms.application.webhooks import store
from cityloop.platforms.application.webhooks.dispatcher import (
    WebhookDispatcher,
)
from cityloop.platforms.application.webhooks.models import WebhookDelivery
from cityloop.platforms.application.webhooks.rules import (
    Outcome,
    WebhookConfig,
    WebhookInputError,
)
from cityloop.platforms.application.webhooks.store import claim_due, enqueue
from tests.support.city import City
from tests.support.receivers import receiving
from tests.support.servers import free_port
from tests.support.waiting import wait_until
from tests.support.webhooks import clear_webhook_queue, dispatching

SOURCE = "test.subscription"
FAST = {"backoff_base_seconds": 0.05, "backoff_cap_seconds": 0.2}


@pytest.fixture(autouse=True)
def empty_queue(city: City) -> None:
    """Each test sees only its own notifications (the city is shared by the module)."""
    with city.ctx.writing() as session:
        clear_webhook_queue(session)


def send(city: City, endpoint: str, body: bytes, source_id: str = "s1", **headers: str) -> int:
    with city.ctx.writing() as session:
        return enqueue(
            session,
            endpoint=endpoint,
            body=body,
            content_type="application/json",
            headers=headers,
            source=SOURCE,
            source_id=source_id,
        )


def row(city: City, delivery_id: int) -> WebhookDelivery:
    with city.ctx.reading() as session:
        found = session.get(WebhookDelivery, delivery_id)
    assert found is not None
    return found


def status_of(city: City, delivery_id: int) -> str:
    return row(city, delivery_id).status


def test_a_healthy_endpoint_receives_the_body_and_headers(city: City) -> None:
    delivered_before = metrics.WEBHOOKS_DELIVERED.value()
    with receiving() as receiver, dispatching(city, poll_seconds=60):
        # A long poll: only the after-commit wake gets this out promptly.
        delivery_id = send(
            city,
            f"{receiver.url}/notify?tenant=riverton",
            b'{"type":"Notification"}',
            Authorization="Bearer secret-token",
            **{"NGSILD-Tenant": "riverton"},
        )
        wait_until(lambda: status_of(city, delivery_id) == "delivered", "delivery")
    [got] = receiver.received
    assert got.path == "/notify?tenant=riverton"
    assert got.body == b'{"type":"Notification"}'
    assert got.headers["content-type"] == "application/json"
    assert got.headers["authorization"] == "Bearer secret-token"
    assert got.headers["ngsild-tenant"] == "riverton"
    done = row(city, delivery_id)
    assert (done.attempts, done.last_status, done.lease_until) == (1, 200, None)
    assert metrics.WEBHOOKS_DELIVERED.value() > delivered_before
    with city.ctx.reading() as session:
        status = store.source_status(session, source=SOURCE, source_id="s1")
        assert store.queue_depth(session)["pending"] == 0
    assert status is not None
    assert (status.times_sent, status.status, status.consecutive_failures) == (1, "ok", 0)
    assert status.last_success_at is not None and status.last_failure_at is None


def test_a_slow_endpoint_delays_neither_a_healthy_one_nor_the_database(city: City) -> None:
    with (
        receiving(hold=True) as slow,
        receiving() as healthy,
        dispatching(city, timeout_seconds=25, endpoint_concurrency=2, global_concurrency=8),
    ):
        # The slow endpoint's notifications are queued first and outnumber the global limit.
        slow_ids = [send(city, f"{slow.url}/n", b"slow", source_id=f"slow{i}") for i in range(10)]
        wait_until(lambda: slow.open_requests == 2, "the slow endpoint's two requests")
        healthy_id = send(city, f"{healthy.url}/n", b"healthy", source_id="h")
        wait_until(lambda: status_of(city, healthy_id) == "delivered", "the healthy delivery")
        # The healthy endpoint was served while the slow one's requests were still open.
        assert slow.open_requests == 2
        assert healthy.bodies() == [b"healthy"]
        # And the database writer is free meanwhile: a write transaction commits.
        send(city, f"{healthy.url}/n", b"later", source_id="h")
        wait_until(lambda: healthy.bodies() == [b"healthy", b"later"], "the second delivery")
        assert slow.open_requests == 2
        slow.release()
        wait_until(
            lambda: all(status_of(city, i) == "delivered" for i in slow_ids), "slow deliveries"
        )
    # Never more than the per-endpoint limit open at the slow endpoint.
    assert slow.most_open == 2
    assert len(slow.received) == 10


def test_a_request_past_the_timeout_is_retried_later(city: City) -> None:
    with (
        receiving(hold=True) as slow,
        receiving() as healthy,
        dispatching(city, timeout_seconds=0.5, backoff_base_seconds=600),
    ):
        slow_id = send(city, f"{slow.url}/n", b"slow", source_id="slow")
        healthy_id = send(city, f"{healthy.url}/n", b"healthy", source_id="h")
        wait_until(lambda: row(city, slow_id).last_error is not None, "the timeout")
        wait_until(lambda: status_of(city, healthy_id) == "delivered", "the healthy delivery")
        timed_out = row(city, slow_id)
        assert timed_out.status == "pending" and timed_out.attempts == 1
        assert "timed out" in (timed_out.last_error or "")
        assert timed_out.next_attempt_at > (timed_out.last_attempt_at or utcnow())
        slow.release()


def test_an_endpoint_trickling_its_answer_is_cut_off_at_the_deadline(city: City) -> None:
    # Each byte arrives well within httpx's per-read timeout; only a deadline over the whole
    # exchange stops it (the status line alone would take about two seconds).
    with receiving(trickle=True) as trickling, dispatching(city, timeout_seconds=0.5):
        delivery = send(city, f"{trickling.url}/n", b"slow", source_id="trickle")
        wait_until(lambda: row(city, delivery).last_error is not None, "the deadline")
        cut = row(city, delivery)
        assert cut.status == "pending" and cut.attempts == 1
        assert "timed out" in (cut.last_error or "")
        trickling.release()


def test_a_dead_endpoint_does_not_delay_a_healthy_one_and_its_circuit_opens(
    city: City,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/n"
    with (
        receiving() as healthy,
        dispatching(city, endpoint_concurrency=2, backoff_base_seconds=600),
    ):
        dead_ids = [send(city, dead, b"dead", source_id=f"d{i}") for i in range(6)]
        healthy_id = send(city, f"{healthy.url}/n", b"healthy", source_id="h")
        wait_until(lambda: status_of(city, healthy_id) == "delivered", "the healthy delivery")
        wait_until(lambda: row(city, dead_ids[0]).attempts == 1, "the first refused attempt")
        wait_until(lambda: row(city, dead_ids[0]).last_error is not None, "its outcome")
    rows = [row(city, i) for i in dead_ids]
    assert all(r.status == "pending" for r in rows)
    assert "ConnectError" in (rows[0].last_error or "")
    # After the first refusals the endpoint's circuit is open: the rest were not even tried.
    assert sum(r.attempts for r in rows) <= 2
    with city.ctx.reading() as session:
        status = store.source_status(session, source=SOURCE, source_id="d0")
    assert status is not None and status.status == "failed" and status.pending == 1


def test_transient_errors_are_retried_with_backoff_until_success_in_order(city: City) -> None:
    retried_before = metrics.WEBHOOKS_RETRIED.value()
    with receiving(statuses=[500, 503]) as flaky, dispatching(city, **FAST):
        ids = [send(city, f"{flaky.url}/n", f"n{i}".encode()) for i in range(3)]
        wait_until(lambda: status_of(city, ids[-1]) == "delivered", "all deliveries")
    # The first notification is resent until it gets through; the later ones wait their turn.
    assert flaky.bodies() == [b"n0", b"n0", b"n0", b"n1", b"n2"]
    first = row(city, ids[0])
    assert (first.status, first.attempts, first.last_status, first.last_error) == (
        "delivered",
        3,
        200,
        None,
    )
    assert metrics.WEBHOOKS_RETRIED.value() >= retried_before + 2
    with city.ctx.reading() as session:
        status = store.source_status(session, source=SOURCE, source_id="s1")
    assert status is not None
    assert (status.times_sent, status.consecutive_failures, status.status) == (5, 0, "ok")
    assert status.last_failure_at is not None and status.last_success_at is not None
    assert status.last_success_at >= status.last_failure_at


@pytest.mark.parametrize("code", [408, 429])
def test_timeout_and_rate_limit_answers_are_retried(city: City, code: int) -> None:
    with receiving(statuses=[code]) as receiver, dispatching(city, **FAST):
        delivery_id = send(city, f"{receiver.url}/n", b"x")
        wait_until(lambda: status_of(city, delivery_id) == "delivered", "delivery")
    assert row(city, delivery_id).attempts == 2


def test_a_notification_fails_after_the_maximum_attempts(city: City) -> None:
    failed_before = metrics.WEBHOOKS_FAILED.value()
    with receiving(statuses=[500] * 10) as broken, dispatching(city, max_attempts=3, **FAST):
        delivery_id = send(city, f"{broken.url}/n", b"x")
        wait_until(lambda: status_of(city, delivery_id) == "failed", "giving up")
    failed = row(city, delivery_id)
    assert (failed.attempts, failed.last_status, failed.last_error) == (3, 500, "HTTP 500")
    assert failed.finished_at is not None
    assert len(broken.received) == 3
    assert metrics.WEBHOOKS_FAILED.value() == failed_before + 1
    with city.ctx.reading() as session:
        status = store.source_status(session, source=SOURCE, source_id="s1")
    assert status is not None
    assert (status.status, status.consecutive_failures, status.failed) == ("failed", 3, 1)
    assert status.last_error == "HTTP 500"


@pytest.mark.parametrize("code", [400, 404, 410])
def test_a_client_error_is_not_retried(city: City, code: int) -> None:
    with receiving(statuses=[code]) as receiver, dispatching(city, **FAST):
        delivery_id = send(city, f"{receiver.url}/n", b"x")
        after_id = send(city, f"{receiver.url}/n", b"after")
        wait_until(lambda: status_of(city, after_id) == "delivered", "the next notification")
    rejected = row(city, delivery_id)
    assert (rejected.status, rejected.attempts, rejected.last_status) == ("failed", 1, code)
    assert receiver.bodies() == [b"x", b"after"]


def test_a_row_claimed_by_a_crashed_process_is_delivered_after_its_lease(city: City) -> None:
    with receiving() as receiver:
        delivery_id = send(city, f"{receiver.url}/n", b"survives")
        claimed_at = utcnow()
        with city.ctx.writing() as session:
            [job] = claim_due(session, worker="crashed", limit=10, lease_seconds=60, now=claimed_at)
        # While the lease lasts nobody else takes the row; once it expires it is due again.
        with city.ctx.writing() as session:
            assert (
                claim_due(session, worker="other", limit=10, lease_seconds=60, now=claimed_at) == []
            )
        with city.ctx.reading() as session:
            assert (
                claim_due(
                    session,
                    worker="other",
                    limit=10,
                    lease_seconds=60,
                    now=claimed_at + timedelta(seconds=61),
                )
                != []
            )
            session.rollback()
        # The process died holding it; a minute passes.
        with city.ctx.writing() as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )
        with dispatching(city):
            wait_until(lambda: status_of(city, delivery_id) == "delivered", "redelivery")
        assert receiver.bodies() == [b"survives"]
        assert row(city, delivery_id).attempts == 2
        # The crashed process's late report changes nothing.
        with city.ctx.writing() as session:
            assert (
                store.record_outcome(
                    session,
                    job=job,
                    outcome=Outcome("retryable", 500),
                    worker="crashed",
                    config=WebhookConfig(),
                )
                is None
            )
        assert status_of(city, delivery_id) == "delivered"


def test_a_rolled_back_transaction_sends_nothing(city: City) -> None:
    with receiving() as receiver, dispatching(city):
        with pytest.raises(RuntimeError), city.ctx.writing() as session:
            enqueue(
                session,
                endpoint=f"{receiver.url}/n",
                body=b"never",
                content_type="text/plain",
                headers={},
                source=SOURCE,
                source_id="s1",
            )
            raise RuntimeError("the change failed")
        committed = send(city, f"{receiver.url}/n", b"committed")
        wait_until(lambda: status_of(city, committed) == "delivered", "the committed one")
    assert receiver.bodies() == [b"committed"]
    with city.ctx.reading() as session:
        assert session.scalars(select(WebhookDelivery.body)).all() == [b"committed"]


@pytest.mark.parametrize(
    ("endpoint", "field_text"),
    [
        ("", "non-empty"),
        ("ftp://example.org/hook", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("example.org/hook", "scheme"),
        ("http://user:secret@example.org/hook", "credentials"),
        ("https://token@example.org/hook", "credentials"),
        ("http:///hook", "no host"),
        ("http://example.org:99999/hook", "port"),
        ("http://example.org:0/hook", "port"),
        ("http://example.org/ho ok", "whitespace"),
        ("http://example.org/hook#part", "fragment"),
        ("http://example.org/" + "a" * 2000, "longer"),
    ],
)
def test_bad_endpoints_are_rejected_and_nothing_is_queued(
    city: City, endpoint: str, field_text: str
) -> None:
    with pytest.raises(WebhookInputError) as caught, city.ctx.writing() as session:
        send_in(session, endpoint=endpoint)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 400 and caught.value.field == "endpoint"
    assert field_text in caught.value.detail
    assert any("\u4e00" <= c <= "\u9fff" for c in caught.value.detail_in("zh-CN"))  # and in Chinese
    assert_queue_empty(city)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"headers": {"Host": "evil.example"}}, "headers"),
        ({"headers": {"Content-Length": "1"}}, "headers"),
        ({"headers": {"X-Split": "a\r\nInjected: yes"}}, "headers"),
        ({"headers": {"bad name": "v"}}, "headers"),
        ({"content_type": "text/plain\r\nX: y"}, "content_type"),
        ({"content_type": ""}, "content_type"),
        ({"body": "not bytes"}, "body"),
        ({"source": ""}, "source"),
        ({"source_id": "x" * 301}, "source_id"),
    ],
)
def test_bad_notification_parts_are_rejected(
    city: City, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(WebhookInputError) as caught, city.ctx.writing() as session:
        send_in(session, **changes)
    assert caught.value.field == field
    assert_queue_empty(city)


def send_in(session: Any, **changes: Any) -> int:
    arguments: dict[str, Any] = {
        "endpoint": "https://example.org/hook",
        "body": b"{}",
        "content_type": "application/json",
        "headers": {},
        "source": SOURCE,
        "source_id": "s1",
        **changes,
    }
    return enqueue(session, **arguments)


def assert_queue_empty(city: City) -> None:
    with city.ctx.reading() as session:
        assert session.scalars(select(WebhookDelivery.id)).all() == []


def test_pruning_removes_old_finished_notifications_only(city: City) -> None:
    now = utcnow()
    with city.ctx.writing() as session:
        ids = {name: send_in(session, source_id=name) for name in ("old", "new", "bad", "wait")}
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == ids["old"])
            .values(status="delivered", finished_at=now - timedelta(days=2))
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == ids["new"])
            .values(status="delivered", finished_at=now)
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == ids["bad"])
            .values(status="failed", finished_at=now - timedelta(days=2))
        )
    with city.ctx.writing() as session:
        gone = store.prune(
            session,
            delivered_older_than=timedelta(days=1),
            failed_older_than=timedelta(days=30),
            now=now,
        )
    assert gone == 1
    with city.ctx.reading() as session:
        left = set(session.scalars(select(WebhookDelivery.source_id)))
    assert left == {"new", "bad", "wait"}


def test_the_app_runs_a_dispatcher_and_reports_the_queue(city: City) -> None:
    assert isinstance(city.ctx.extras["webhooks"], WebhookDispatcher)
    with city.ctx.writing() as session:
        send_in(session)
    with city.ctx.reading() as session:
        waiting = store.source_status(session, source=SOURCE, source_id="s1")
    assert waiting is not None
    assert (waiting.pending, waiting.times_sent, waiting.status) == (1, 0, "ok")
    text = city.client.get("/metrics").text
    assert 'cityloop_webhook_queue{status="pending"} 1.0' in text


def test_status_of_unknown_sources_is_absent(city: City) -> None:
    with city.ctx.reading() as session:
        assert store.source_statuses(session, source=SOURCE, source_ids=["nobody"]) == {}
        assert store.source_statuses(session, source=SOURCE, source_ids=[]) == {}


def test_forgetting_a_source_drops_its_queue_and_stats(city: City) -> None:
    with receiving(statuses=[500] * 5) as receiver, dispatching(city, backoff_base_seconds=600):
        first = send(city, f"{receiver.url}/n", b"x")
        send(city, f"{receiver.url}/n", b"y")
        wait_until(lambda: row(city, first).last_status == 500, "one attempt")
    with city.ctx.writing() as session:
        assert store.forget_source(session, source=SOURCE, source_id="s1") == 2
    with city.ctx.reading() as session:
        assert store.source_status(session, source=SOURCE, source_id="s1") is None
    assert_queue_empty(city)
