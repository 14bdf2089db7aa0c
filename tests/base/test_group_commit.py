"""Group commit: units of work from many threads are committed together, each in its own
savepoint, so a failing unit fails alone and every acknowledged unit is kept."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import Database
from cityloop.base.idempotency import IdempotencyRecord
from tests.support.databases import BACKENDS, seeded_database
from tests.support.group_commit import writer_held
from tests.support.waiting import wait_until

SCOPE = "group-commit-test"


def remember(key: str) -> Callable[[Session], str]:
    """A unit of work that stores one row under ``key`` and answers the key."""

    def work(session: Session) -> str:
        session.add(
            IdempotencyRecord(scope=SCOPE, key=key, request_hash="h", status_code=201, response={})
        )
        session.flush()
        return key

    return work


def stored_keys(db: Database) -> set[str]:
    with db.read() as session:
        return set(
            session.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.scope == SCOPE))
        )


def run_while_the_writer_is_held(
    db: Database, units: list[Callable[[Session], str]]
) -> list[object]:
    """Hold the writer in a first unit until every other unit is queued, so they form one group;
    answer each unit's result or the error it raised."""

    def outcome(unit: Callable[[Session], str]) -> object:
        try:
            return db.write_grouped(unit)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(units)) as pool:
        with writer_held(db, until_queued=len(units)):
            futures = [pool.submit(outcome, unit) for unit in units]
        return [future.result() for future in futures]


def test_units_queued_together_are_committed_in_one_transaction_and_all_kept(db: Database) -> None:
    before = metrics.GROUP_COMMITS.value()
    keys = [f"k{i}" for i in range(30)]
    answers = run_while_the_writer_is_held(db, [remember(key) for key in keys])
    assert answers == keys
    assert metrics.GROUP_COMMITS.value() - before == 2  # the held unit, then the 30 at once
    assert stored_keys(db) == set(keys)


def test_a_failing_unit_rolls_back_alone_and_its_caller_gets_its_error(db: Database) -> None:
    def half_then_fail(session: Session) -> str:
        remember("half")(session)
        raise ValueError("this unit changed its mind")

    answers = run_while_the_writer_is_held(db, [remember("a"), half_then_fail, remember("b")])
    assert answers[0] == "a" and answers[2] == "b"
    assert isinstance(answers[1], ValueError)
    assert stored_keys(db) == {"a", "b"}


def test_a_unit_that_breaks_a_constraint_fails_alone_on_every_engine(db: Database) -> None:
    answers = run_while_the_writer_is_held(db, [remember("same"), remember("same"), remember("c")])
    assert answers[0] == "same" and answers[2] == "c"
    assert isinstance(answers[1], IntegrityError)
    assert stored_keys(db) == {"same", "c"}


def test_an_answered_unit_is_already_committed(db: Database) -> None:
    assert db.write_grouped(remember("durable")) == "durable"
    with db.read() as session:  # another connection sees it at once
        count = session.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.key == "durable")
        )
    assert count == 1


def test_a_unit_cannot_queue_another_unit_and_wait_for_it(db: Database) -> None:
    def nested(session: Session) -> str:
        return db.write_grouped(remember("inner"))

    with pytest.raises(RuntimeError, match="cannot queue another unit"):
        db.write_grouped(nested)
    assert stored_keys(db) == set()


def test_closing_the_database_keeps_what_was_committed(db: Database) -> None:
    db.write_grouped(remember("before-close"))
    db.dispose()
    assert stored_keys(db) == {"before-close"}


def test_postgresql_writes_alone_and_sqlite_in_groups_by_default(tmp_path: Path) -> None:
    assert Database(f"sqlite:///{tmp_path / 'a.db'}")._group is not None
    assert Database("postgresql://127.0.0.1/none")._group is None


def test_a_lone_caller_commits_its_own_unit_on_its_own_thread(db: Database) -> None:
    def where(session: Session) -> str:
        remember("lone")(session)
        return threading.current_thread().name

    assert db.write_grouped(where) == threading.current_thread().name
    assert stored_keys(db) == {"lone"}


CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


def test_each_unit_runs_under_its_own_callers_context_whoever_leads(db: Database) -> None:
    group = db._group
    assert group is not None
    holding, release = threading.Event(), threading.Event()

    def hold(session: Session) -> str:
        holding.set()
        release.wait(10)
        return CALLER.get()

    def as_caller(name: str, work: Callable[[Session], str]) -> str:
        CALLER.set(name)  # in this pool thread's own context
        return db.write_grouped(work)

    def unit_of(name: str) -> Callable[[Session], str]:
        def unit(session: Session) -> str:
            remember(name)(session)
            return CALLER.get()

        return unit

    names = ["ana", "bo", "cy"]
    with ThreadPoolExecutor(len(names) + 1) as pool:
        leader = pool.submit(as_caller, "leader", hold)
        assert holding.wait(10)
        followers = [pool.submit(as_caller, name, unit_of(name)) for name in names]
        wait_until(lambda: group.pending() == len(names), "every unit queued")
        release.set()
        assert leader.result() == "leader"
        assert [f.result() for f in followers] == names  # one led the group; each saw its own
    assert stored_keys(db) == set(names)


def test_a_caller_that_stops_waiting_leaves_the_queue_and_the_next_unit_is_still_committed(
    db: Database,
) -> None:
    group = db._group
    assert group is not None
    with ThreadPoolExecutor(1) as pool:
        with writer_held(db, until_queued=1):
            group.wait_seconds = 0.2
            with pytest.raises(TimeoutError):
                db.write_grouped(remember("impatient"))
            group.wait_seconds = 10.0
            patient = pool.submit(db.write_grouped, remember("patient"))
        assert patient.result() == "patient"
    assert stored_keys(db) == {"patient"}


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "alone"])
def test_units_handed_in_together_answer_each_its_own_result_or_error(
    templates: dict[str, str], tmp_path: Path, grouped: bool
) -> None:
    with seeded_database(templates, BACKENDS[0], tmp_path) as url:
        database = Database(url, group_commit=grouped)
        try:
            commits = metrics.GROUP_COMMITS.value()
            units = [remember("x"), remember("x"), remember("y")]
            with ThreadPoolExecutor(1) as pool, writer_held(database, until_queued=len(units)):
                handed_in = pool.submit(database.write_grouped_each, units)
            answers = handed_in.result()
            assert answers[0] == "x" and answers[2] == "y"
            assert isinstance(answers[1], IntegrityError)
            assert stored_keys(database) == {"x", "y"}
            if grouped:  # the held unit, then the three at once
                assert metrics.GROUP_COMMITS.value() - commits == 2
        finally:
            database.dispose()
