"""Group commit: units of work from many threads are committed together, many to a transaction.

SQLite has one writer. When every request takes the write lock for itself, each pays a BEGIN
IMMEDIATE and a COMMIT, and under load the lock holder shares the GIL with the threads that
queue behind it, so the critical section stretches to several times its work. Here the requests
do their checks and lookups first, on their own threads, then queue their writes. The first
caller to find no commit under way leads: it takes every unit waiting (its own first) and runs
them in one transaction, each in its own savepoint, so a unit that fails rolls back alone and its
caller gets its error. Units queued meanwhile wait; when the leader has committed, the first of
them leads the next group. Every caller is answered only after the transaction committed, so an
acknowledged unit is durable.

A lone caller commits its own unit on its own thread, with no hand-off to another thread (an
earlier design ran every group in one writer thread: at one request at a time, each report paid
two thread switches, each of which can wait out the GIL's switch interval).

PostgreSQL commits concurrent transactions in parallel and already groups their WAL flushes
(``commit_delay``), so there a unit runs in its own transaction on the caller's thread.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from cityloop.base import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    # The caller's context variables: a unit runs under its own caller's, whoever leads.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    # Set when the unit is answered, or when it is this unit's caller's turn to lead.
    wake: threading.Event = field(default_factory=threading.Event)
    answered: bool = False
    result: T | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Commits units of work for many threads in groups, led by the first caller waiting."""

    def __init__(
        self,
        begin: Callable[[], AbstractContextManager[Session]],
        *,
        max_group: int = 64,
        wait_seconds: float = 60.0,
    ) -> None:
        self._begin = begin  # opens a write transaction that commits on exit
        self.max_group = max_group
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()  # guards _pending and _leader
        self._pending: list[_Unit[Any]] = []
        self._leader: _Unit[Any] | None = None  # the unit whose caller commits the next group
        self._inside = threading.local()  # set while this thread runs a group's units

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a savepoint of the next group's transaction; return its result once
        that transaction has committed, or raise the error it raised."""
        unit: _Unit[T] = _Unit(work)
        self._enqueue([unit])
        self._await([unit])
        if unit.error is not None:
            raise unit.error
        return unit.result  # type: ignore[return-value]

    def run_each(self, works: Sequence[Callable[[Session], T]]) -> list[T | Exception]:
        """Queue every work at once, each a unit of its own, so they commit in as few groups as
        the queue allows; answer each unit's result or the error it raised, in order."""
        units: list[_Unit[T]] = [_Unit(work) for work in works]
        self._enqueue(units)
        self._await(units)
        answers: list[T | Exception] = []
        for unit in units:
            if isinstance(unit.error, Exception):
                answers.append(unit.error)
            elif unit.error is not None:
                raise unit.error
            else:
                answers.append(unit.result)  # type: ignore[arg-type]
        return answers

    def pending(self) -> int:
        """How many units wait for a group (for tests and metrics)."""
        with self._lock:
            return len(self._pending)

    def _enqueue(self, units: Sequence[_Unit[Any]]) -> None:
        if getattr(self._inside, "committing", False):
            raise RuntimeError("a unit of work cannot queue another unit and wait for it")
        with self._lock:
            self._pending.extend(units)
            if self._leader is None and units:
                self._leader = units[0]  # the queue was empty: this caller leads

    def _await(self, units: Sequence[_Unit[Any]]) -> None:
        """Wait until every one of ``units`` is answered, leading a group whenever it is one of
        theirs to lead (they are queued in order, so the first unanswered is the one)."""
        for unit in units:
            while not unit.answered:
                if self._leader is unit:
                    self._lead()
                    continue
                if not unit.wake.wait(self.wait_seconds):
                    for waiting in units:
                        self._give_up(waiting)
                    raise TimeoutError(
                        f"the writer did not commit within {self.wait_seconds:.0f} s"
                    )
                unit.wake.clear()

    def stop(self) -> None:
        """Nothing to stop: groups are committed by their callers' own threads."""

    def _lead(self) -> None:
        with self._lock:
            group = self._pending[: self.max_group]
            del self._pending[: self.max_group]
        try:
            self._inside.committing = True
            self._commit(group)
        finally:
            self._inside.committing = False
            with self._lock:
                successor = self._pending[0] if self._pending else None
                self._leader = successor
            if successor is not None:
                successor.wake.set()

    def _give_up(self, unit: _Unit[Any]) -> None:
        """A caller stops waiting: its unit leaves the queue unless a group has taken it."""
        with self._lock:
            if unit in self._pending:
                self._pending.remove(unit)
            if self._leader is unit:  # woken to lead, too late: the next one leads instead
                self._leader = self._pending[0] if self._pending else None
                if self._leader is not None:
                    self._leader.wake.set()

    def _commit(self, group: list[_Unit[Any]]) -> None:
        began = False
        try:
            with self._begin() as session:
                began = True
                for unit in group:
                    _run_in_savepoint(session, unit)
        except Exception as exc:
            if began and len(group) > 1:
                # The commit itself failed, so nothing of the group is kept. Each unit runs
                # again alone: one unit whose commit fails must not fail the others.
                log.warning("a group commit of %d units failed (%s); one by one", len(group), exc)
                for unit in group:
                    unit.result, unit.error = None, None
                    self._commit([unit])
                return
            for unit in group:  # no transaction (the database stayed busy), or a lone unit's
                unit.error = exc
        else:
            metrics.GROUP_COMMITS.inc()
        for unit in group:
            outcome = "committed" if unit.error is None else "failed"
            metrics.GROUP_COMMIT_UNITS.inc(outcome=outcome)
            unit.answered = True
            unit.wake.set()


def _run_in_savepoint(session: Session, unit: _Unit[Any]) -> None:
    try:
        with session.begin_nested():
            unit.result = unit.context.run(unit.work, session)
    except Exception as exc:  # the unit's own failure: its savepoint is rolled back
        unit.error = exc
