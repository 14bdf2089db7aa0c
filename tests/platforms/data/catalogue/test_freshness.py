"""A dataset older than its update frequency allows is flagged stale, and its owner department's
staff are told once, in both languages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cityloop.base.db import utcnow
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.notify import service as notify
from cityloop.platforms.data.catalogue import freshness, service
from tests.support.catalogue import publish, spec
from tests.support.city import City


def test_a_stale_dataset_is_flagged_and_its_owners_are_told_once(city: City) -> None:
    publish(city, spec("test-weekly-counts", fields=[{"name": "n", "type": "integer"}],
                       owner_department="parks"), [{"n": 1}])  # fmt: skip
    with city.ctx.writing() as session:
        assert "test-weekly-counts" not in freshness.check(session)
        dataset = service.get_dataset(session, name="test-weekly-counts")
        dataset.refreshed_at = utcnow() - timedelta(days=12)
    with city.ctx.writing() as session:
        assert "test-weekly-counts" in freshness.check(session)
        assert "test-weekly-counts" not in freshness.check(session)  # flagged once
        dataset = service.get_dataset(session, name="test-weekly-counts")
        assert dataset.stale and dataset.quality["stale"] and dataset.quality["age_seconds"] > 0
    city.drain()
    with city.ctx.reading() as session:
        handler = session.scalar(select(User).where(User.username == "handler-parks"))
        assert handler is not None
        lines = [
            n for n in notify.for_user(session, user_id=handler.id) if n.kind == "dataset.stale"
        ]
    assert len(lines) == 1
    assert "out of date" in lines[0].message
    assert lines[0].message_code == "dataset.stale"
    assert lines[0].message_params and "过期" not in lines[0].message
    shown = city.client.get("/api/v1/data/datasets/test-weekly-counts").json()
    assert shown["stale"] is True
