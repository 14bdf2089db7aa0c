"""Periodic jobs in a background thread (the SLA sweep). One process runs them; a scaled-out
deployment runs the scheduler in one worker (``cityloop serve --no-scheduler`` on the others)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every_seconds: float
    run: Callable[[], object]
    next_at: float = 0.0


class Scheduler:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def every(self, seconds: float, name: str, run: Callable[[], object]) -> None:
        self.jobs.append(Job(name, seconds, run, time.monotonic() + seconds))

    def start(self) -> None:
        if self._thread is None and self.jobs:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def run_due(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for job in self.jobs:
            if now >= job.next_at:
                job.next_at = now + job.every_seconds
                try:
                    job.run()
                except Exception:  # one failing job must not stop the others
                    log.exception("scheduled job %s failed", job.name)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.run_due()
