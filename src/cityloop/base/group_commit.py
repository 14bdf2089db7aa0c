"""Group commit: one writer thread commits queued units of work, many to a transaction.

SQLite has one writer. When every request takes the write lock for itself, each pays a BEGIN
IMMEDIATE and a COMMIT, and under load the lock holder shares the GIL with the threads that
queue behind it, so the critical section stretches to several times its work. Here the requests
do their checks and lookups first, on their own threads, then hand the writes to one thread.
It takes every unit waiting and runs them in one transaction, each in its own savepoint: a unit
that fails rolls back alone and its caller gets its error. Every caller is answered only after
the transaction committed, so an acknowledged unit is durable.

PostgreSQL commits concurrent transactions in parallel and already groups their WAL flushes
(``commit_delay``), so there a unit runs in its own transaction on the caller's thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from cityloop.base import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None


_STOP = object()


class GroupCommitter:
    """Runs units of work for many threads in one writer thread, committing them in groups."""

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
        self._queue: queue.SimpleQueue[_Unit[Any] | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a savepoint of the next group's transaction; return its result once
        that transaction has committed, or raise the error it raised."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a unit of work cannot queue another unit and wait for it")
        unit: _Unit[T] = _Unit(work)
        self._ensure_started()
        self._queue.put(unit)
        if not unit.done.wait(self.wait_seconds):
            raise TimeoutError(f"the writer did not commit within {self.wait_seconds:.0f} s")
        if unit.error is not None:
            raise unit.error
        return unit.result  # type: ignore[return-value]

    def run_each(self, works: Sequence[Callable[[Session], T]]) -> list[T | Exception]:
        """Queue every work at once, each a unit of its own, so they commit in as few groups as
        the queue allows; answer each unit's result or the error it raised, in order."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a unit of work cannot queue other units and wait for them")
        units: list[_Unit[T]] = [_Unit(work) for work in works]
        self._ensure_started()
        for unit in units:
            self._queue.put(unit)
        answers: list[T | Exception] = []
        for unit in units:
            if not unit.done.wait(self.wait_seconds):
                raise TimeoutError(f"the writer did not commit within {self.wait_seconds:.0f} s")
            if isinstance(unit.error, Exception):
                answers.append(unit.error)
            elif unit.error is not None:
                raise unit.error
            else:
                answers.append(unit.result)  # type: ignore[arg-type]
        return answers

    def stop(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=self.wait_seconds)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group: list[_Unit[Any]] = [first]  # type: ignore[list-item]
            stopping = False
            for waiting in self._waiting():
                if waiting is _STOP:
                    stopping = True
                    break
                group.append(waiting)  # type: ignore[arg-type]
            self._commit(group)
            if stopping:
                return

    def _waiting(self) -> Iterator[object]:
        """What is queued now, up to a group's size less the one already taken."""
        for _ in range(self.max_group - 1):
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return

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
            unit.done.set()


def _run_in_savepoint(session: Session, unit: _Unit[Any]) -> None:
    try:
        with session.begin_nested():
            unit.result = unit.work(session)
    except Exception as exc:  # the unit's own failure: its savepoint is rolled back
        unit.error = exc
