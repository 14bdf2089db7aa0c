"""Read-mostly lookups cached in each process: the catalogue, the departments, the geo indexes.

A :class:`Lookup` keeps one built value (a dict of names, an index) per database, and drops it
when what it was built from changes. How a change reaches every process is the design choice:

- **In the process that made the change, at once, by its change event.** ``outbox.emit`` notes
  each event type on the session; when that session commits, every lookup invalidated by one of
  those types is dropped, before the service function's caller can read again. So a staff edit
  is never followed by a stale answer from the process that made it. A transaction that emitted
  such an event and has not committed yet bypasses the cache, and reads its own writes.
- **In every other process, within ``recheck_seconds``, by a fingerprint.** The relay cannot do
  it: it hands each event to each consumer once, in whichever single process (or worker) runs
  it, and other ``serve`` workers never see it. Each process therefore asks its database, at
  most once per ``recheck_seconds`` (1 s by default), for a cheap fingerprint of the cached
  tables (a row count and a sum of their version counters: one aggregate over tables of a few
  hundred rows), and rebuilds only when it changed. A second process shows an edit within a
  second; a lookup costs no query the rest of the time. A version row bumped on each change
  would need a migration, and a broadcast (PostgreSQL NOTIFY, NATS) would need a listener in
  every worker that the embedded mode does not have: the fingerprint works on both engines.
- **No build that overlapped a change is kept.** Each invalidation bumps a generation; a build
  that started before it is returned to its own caller but not stored. A build from a snapshot
  older than a commit (a read transaction begun before it) can still be stored after the
  invalidation; its fingerprint is then the old one, and the next recheck replaces it.

Values must be immutable (frozen dataclasses, tuples, dicts nobody mutates), never ORM rows:
they are shared by every thread of the process.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import on_commit
from cityloop.base.events import Event
from cityloop.base.outbox import EMITTED_TYPES

Value = TypeVar("Value")
# How long a cached value is trusted before the database is asked whether its tables changed.
RECHECK_SECONDS = 1.0

_lookups: weakref.WeakSet[Lookup[object]] = weakref.WeakSet()


@dataclass(frozen=True)
class _Entry(Generic[Value]):
    fingerprint: Hashable
    checked: float
    value: Value


class Lookup(Generic[Value]):
    """A value per database URL, built by ``build`` and kept while ``fingerprint`` stays the
    same; dropped at once when a transaction that emitted one of ``invalidated_by`` commits."""

    def __init__(
        self,
        *,
        fingerprint: Callable[[Session], Hashable],
        build: Callable[[Session], Value],
        invalidated_by: Iterable[type[Event]] = (),
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self._fingerprint = fingerprint
        self._build = build
        self.types = frozenset(cls.type for cls in invalidated_by)
        self.recheck_seconds = recheck_seconds
        self._entries: dict[str, _Entry[Value]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _lookups.add(self)  # type: ignore[arg-type]

    def get(self, session: Session, *, recheck: bool = False) -> Value:
        """The value for this session's database; ``recheck`` asks for the fingerprint now
        (say, when a key is missing that another process may just have added)."""
        if self.types & session.info.get(EMITTED_TYPES, set()):
            return self._build(session)  # this transaction changed it: read its own writes
        key = str(session.get_bind().url)
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
            generation = self._generation
            if cached and not recheck and now - cached.checked < self.recheck_seconds:
                return cached.value
        # Built outside the lock: two threads may both build once, which is harmless.
        fingerprint = self._fingerprint(session)
        value = (
            cached.value if cached and cached.fingerprint == fingerprint else self._build(session)
        )
        with self._lock:
            if self._generation == generation:
                self._entries[key] = _Entry(fingerprint, now, value)
        return value

    def forget(self) -> None:
        """Drop every cached value, so the next lookup reads the tables afresh."""
        with self._lock:
            self._entries.clear()
            self._generation += 1


def forget_changed(types: Iterable[str]) -> None:
    """Drop the lookups that any of these event types invalidate."""
    changed = frozenset(types)
    for lookup in list(_lookups):
        if lookup.types & changed:
            lookup.forget()


def _after_commit(session: Session) -> None:
    types = session.info.pop(EMITTED_TYPES, None)
    if types:
        forget_changed(types)


on_commit(Session, _after_commit)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(EMITTED_TYPES, None)  # nothing of it happened
