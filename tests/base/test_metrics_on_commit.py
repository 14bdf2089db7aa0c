"""Counts of what a transaction writes are taken when it commits: nothing for a rollback or a
rolled-back savepoint, and once, not twice, for a group commit retried unit by unit."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.db import Database
from tests.base.test_group_commit import run_while_the_writer_is_held

COUNTED = metrics.Counter("cityloop_test_on_commit_total", "Counted by the on-commit tests")


@pytest.fixture
def kind(request: pytest.FixtureRequest) -> str:
    """A label of the test's own, since the counter is the process's."""
    return request.node.name


def test_a_count_is_taken_when_its_transaction_commits_not_before(db: Database, kind: str) -> None:
    with db.writing() as session:
        COUNTED.inc_on_commit(session, 2, kind=kind)
        assert COUNTED.value(kind=kind) == 0
    assert COUNTED.value(kind=kind) == 2


def test_a_rolled_back_transaction_counts_nothing(db: Database, kind: str) -> None:
    with pytest.raises(RuntimeError), db.writing() as session:
        COUNTED.inc_on_commit(session, kind=kind)
        raise RuntimeError("the write fails")
    with db.writing():
        pass  # a later commit of the same engine does not pick the count up either
    assert COUNTED.value(kind=kind) == 0


def test_a_rolled_back_savepoint_drops_its_count_and_a_released_one_keeps_it(
    db: Database, kind: str
) -> None:
    with db.writing() as session:
        with pytest.raises(RuntimeError), session.begin_nested():
            COUNTED.inc_on_commit(session, kind=kind)
            with session.begin_nested():
                COUNTED.inc_on_commit(session, kind=kind)
            raise RuntimeError("the outer savepoint fails, the inner one with it")
        with session.begin_nested():
            COUNTED.inc_on_commit(session, kind=kind + "-released")
    assert COUNTED.value(kind=kind) == 0
    assert COUNTED.value(kind=kind + "-released") == 1


def test_a_group_commit_retried_unit_by_unit_counts_each_unit_once(db: Database, kind: str) -> None:
    def unit(session: Session) -> str:
        COUNTED.inc_on_commit(session, kind=kind)
        session.info["units"] = session.info.get("units", 0) + 1
        return "done"

    failed_once: list[bool] = []

    def fail_the_first_group(session: Session) -> None:
        whole_group = not session.in_nested_transaction()  # not a unit's savepoint
        if whole_group and session.info.get("units", 0) > 1 and not failed_once:
            failed_once.append(True)
            raise RuntimeError("the group's commit fails")

    event.listen(Session, "before_commit", fail_the_first_group)
    try:
        answers = run_while_the_writer_is_held(db, [unit] * 5)
    finally:
        event.remove(Session, "before_commit", fail_the_first_group)
    assert answers == ["done"] * 5
    assert failed_once == [True]
    assert COUNTED.value(kind=kind) == 5
