"""One cache for the geo indexes built from a table (jurisdictions, the base map): per database,
rebuilt only when the table's fingerprint changes, and the fingerprint asked for at most every
few seconds, so a lookup on a busy server costs no query at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

Index = TypeVar("Index")
# How long a cached index is trusted before the database is asked whether the table changed.
RECHECK_SECONDS = 5.0


class IndexCache(Generic[Index]):
    """An index per database URL, built by ``build`` and kept while ``fingerprint`` (say, the
    row count and the latest update) stays the same."""

    def __init__(
        self,
        *,
        fingerprint: Callable[[Session], Hashable],
        build: Callable[[Session], Index],
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self._fingerprint = fingerprint
        self._build = build
        self.recheck_seconds = recheck_seconds
        self._entries: dict[str, tuple[Hashable, float, Index]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session) -> Index:
        """The index for this session's database, rebuilt only when the table changed."""
        key = str(session.get_bind().url)
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
            if cached and now - cached[1] < self.recheck_seconds:
                return cached[2]
        # Built outside the lock: two threads may both build once, which is harmless.
        fingerprint = self._fingerprint(session)
        index = cached[2] if cached and cached[0] == fingerprint else self._build(session)
        with self._lock:
            self._entries[key] = (fingerprint, now, index)
        return index

    def forget(self) -> None:
        """Drop every cached index, so the next lookup reads the table afresh."""
        with self._lock:
            self._entries.clear()
