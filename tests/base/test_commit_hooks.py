"""Work done after a commit runs at the commit of the whole transaction, not when a savepoint
inside it is released: a grouped unit's event wakes the relay once the relay can see it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import after_this_commit, on_commit
from cityloop.base.db import Database
from cityloop.base.outbox import OutboxEvent, emit, notify_relay_after_commit
from tests.base import outbox_probe as probe


def test_a_hook_runs_at_the_commit_and_not_at_a_savepoints_release(db: Database) -> None:
    marks: list[str] = []
    remove = on_commit(db.write, lambda session: marks.append(session.info["mark"]))
    with db.writing() as session:
        session.info["mark"] = "the transaction"
        with session.begin_nested():
            pass
        assert marks == []
    assert marks == ["the transaction"]
    remove()
    with db.writing() as session:
        session.info["mark"] = "after removal"
    assert marks == ["the transaction"]


def test_a_follow_up_runs_once_at_the_commit_and_never_for_what_rolled_back(
    db: Database,
) -> None:
    done: list[str] = []
    with db.writing() as session:
        with session.begin_nested():
            after_this_commit(session, lambda: done.append("kept savepoint"))
        with pytest.raises(RuntimeError), session.begin_nested():
            after_this_commit(session, lambda: done.append("rolled-back savepoint"))
            raise RuntimeError("this savepoint fails")
        after_this_commit(session, lambda: done.append("transaction"))
        assert done == []
    assert done == ["kept savepoint", "transaction"]
    with pytest.raises(RuntimeError), db.writing() as session:
        after_this_commit(session, lambda: done.append("rolled-back transaction"))
        raise RuntimeError("the transaction fails")
    with db.writing():
        pass
    assert done == ["kept savepoint", "transaction"]


def test_a_failing_follow_up_neither_undoes_the_commit_nor_stops_the_others(
    db: Database,
) -> None:
    done: list[str] = []

    def broken() -> None:
        raise RuntimeError("a follow-up fails")

    with db.writing() as session:
        event = emit(session, probe.ProbeRetry())
        session.flush()
        event_id = event.id
        after_this_commit(session, broken)
        after_this_commit(session, lambda: done.append("the next one"))
    assert done == ["the next one"]
    with db.read() as session:
        assert session.get(OutboxEvent, event_id) is not None


class VisibilityAtWakeUp:
    """A relay that, when woken, looks from a session of its own for what was committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen_at_wakeups: list[list[int]] = []

    def notify(self) -> None:
        with self.db.read() as session:
            self.seen_at_wakeups.append(list(session.scalars(select(OutboxEvent.id))))


def test_a_grouped_units_event_wakes_the_relay_when_the_relay_can_see_it(db: Database) -> None:
    relay = VisibilityAtWakeUp(db)
    notify_relay_after_commit(db, relay)  # type: ignore[arg-type]

    def unit(session: Session) -> int:
        event = emit(session, probe.ProbeRetry())
        session.flush()
        return event.id

    event_id = db.write_grouped(unit)
    assert len(relay.seen_at_wakeups) == 1
    assert event_id in relay.seen_at_wakeups[0]
