"""SQLite's one writer, handed between the processes that share a database in turn.

Within a process, writers queue on a thread lock (and the group commit gathers them). Between
processes they used to meet only in SQLite's busy handler, which polls in growing sleeps (up to
100 ms): while one process slept, the other committed and took the lock again and again, so two
``serve`` workers stretched intake's p99 about ten-fold. Here every writer first takes a lock on
a file beside the database with a blocking ``flock``, then BEGIN IMMEDIATE (always in that
order, so the two locks cannot deadlock); a waiting process sleeps in the kernel and is woken
when the lock is let go.

The kernel does not queue waiters in order: a release wakes them all and the first to run wins,
often the process that just let go, whose next writer is already waiting. So there are two locks,
``<db>.write-lock`` (the writer's) and ``<db>.write-queue`` (a turnstile): a process takes the
turnstile, then the writer's lock, then lets go of the turnstile. The process waiting for the
writer's lock holds the turnstile, so it alone waits there and gets it at the next release; the
one that let go queues behind it at the turnstile. Two processes thus take turns, each committing
what it queued meanwhile as one group.

``flock`` locks belong to an open file, not to a process (POSIX record locks would be shared by
every thread, and dropped when any descriptor of the file closes): each process opens the files
once, and a thread lock in front lets one of its threads at a time use them. The kernel drops the
locks of a process that dies, ``kill -9`` included.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on a POSIX system: SQLite's busy handler alone queues the processes
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

WRITER_SUFFIX = ".write-lock"
QUEUE_SUFFIX = ".write-queue"


class WriteLock:
    """One writer at a time: among this process's threads, and with ``database`` (the SQLite
    file) also among the processes that use it. Re-entrant within a thread."""

    def __init__(self, database: Path | None = None) -> None:
        self.database = database
        self._threads = threading.RLock()
        self._depth = 0  # how deeply the thread holding _threads has entered
        self._files: tuple[int, int] | None = None  # (queue, writer) descriptors
        self._files_pid = 0  # the process that opened them: a forked child opens its own

    @contextmanager
    def held(self, *, timeout: float) -> Iterator[None]:
        """Hold the writer for the block; TimeoutError if this process's other writers kept
        it for ``timeout`` seconds (another process's writer is waited for in the kernel)."""
        if not self._threads.acquire(timeout=timeout):
            raise TimeoutError(f"the database stayed busy for {timeout:.0f} s")
        try:
            self._depth += 1
            outermost = self._depth == 1
            files = self._take_files() if outermost else None
            try:
                yield
            finally:
                if files is not None:
                    fcntl.flock(files[1], fcntl.LOCK_UN)
        finally:
            self._depth -= 1
            self._threads.release()

    def _take_files(self) -> tuple[int, int] | None:
        files = self._open_files()
        if files is None:
            return None
        queue, writer = files
        fcntl.flock(queue, fcntl.LOCK_EX)
        try:
            fcntl.flock(writer, fcntl.LOCK_EX)
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)
        return files

    def _open_files(self) -> tuple[int, int] | None:
        if self.database is None or fcntl is None:
            return None
        if self._files is not None and self._files_pid == os.getpid():
            return self._files
        # Read-only is enough for flock, so any account that may read the files may queue.
        flags = os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC
        try:
            queue = os.open(f"{self.database}{QUEUE_SUFFIX}", flags, 0o644)
            writer = os.open(f"{self.database}{WRITER_SUFFIX}", flags, 0o644)
        except OSError as exc:
            log.warning("no inter-process write lock beside %s (%s)", self.database, exc)
            self.database = None
            return None
        # A forked child's inherited descriptors share its parent's locks: never used, and left
        # open, since closing them here would not drop the parent's locks anyway.
        self._files, self._files_pid = (queue, writer), os.getpid()
        return self._files


_SHARED: dict[Path, WriteLock] = {}
_SHARED_GUARD = threading.Lock()


def write_lock_for(database: Path) -> WriteLock:
    """The write lock of the SQLite file ``database`` in this process, shared by every
    :class:`~cityloop.base.db.Database` on it, so their threads queue on one lock too."""
    key = database.resolve()
    with _SHARED_GUARD:
        lock = _SHARED.get(key)
        if lock is None:
            lock = _SHARED[key] = WriteLock(key)
        return lock


def sqlite_file(database: str | None) -> Path | None:
    """The file of an SQLite URL's database part, or None for an in-memory one."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)
