"""One way to run a background loop in a thread: start it once, wake it, stop it and wait.

The relay, the scheduler and the outbox listener loop in a plain thread (:class:`LoopThread`);
the NATS relay and the webhook dispatcher run an asyncio loop in theirs
(:class:`AsyncLoopThread`). Each used to carry its own copy of this bookkeeping."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A named daemon thread running ``loop(stopping)`` until :meth:`stop` sets ``stopping``.

    ``on_stop`` runs right after ``stopping`` is set, to wake a loop that sleeps on something
    else; ``join_seconds`` bounds how long :meth:`stop` waits for the loop to end."""

    def __init__(
        self,
        name: str,
        loop: Callable[[threading.Event], None],
        *,
        on_stop: Callable[[], None] | None = None,
        join_seconds: float = 10.0,
    ) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._loop = loop
        self._on_stop = on_stop
        self._join_seconds = join_seconds
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether the thread has been started and not yet stopped."""
        return self._thread is not None

    def start(self) -> bool:
        """Start the thread unless it runs already; whether this call started it."""
        with self._lock:
            if self._thread is not None:
                return False
            self.stopping.clear()
            self._thread = threading.Thread(
                target=self._loop, args=(self.stopping,), name=self.name, daemon=True
            )
            self._thread.start()
            return True

    def stop(self) -> None:
        """Ask the loop to end and wait for it, at most ``join_seconds``."""
        with self._lock:
            thread, self._thread = self._thread, None
        self.stopping.set()
        if self._on_stop is not None:
            self._on_stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._join_seconds)


@dataclass(frozen=True)
class LoopSignals:
    """The two events an asyncio loop thread's main coroutine listens to."""

    stopping: asyncio.Event
    wake: asyncio.Event


class AsyncLoopThread:
    """A named daemon thread running ``main(signals)`` on an asyncio loop of its own.

    :meth:`stop` sets ``signals.stopping`` and then ``signals.wake``; :meth:`wake` sets
    ``signals.wake`` (both from any thread); :meth:`call` runs a coroutine on the loop and waits
    for its answer. :meth:`start` returns once the loop and its signals exist."""

    def __init__(
        self,
        name: str,
        main: Callable[[LoopSignals], Awaitable[None]],
        *,
        join_seconds: float = 15.0,
    ) -> None:
        self.name = name
        self._main = main
        self._join_seconds = join_seconds
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signals: LoopSignals | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether the thread has been started and not yet stopped."""
        return self._thread is not None

    def start(self) -> bool:
        """Start the thread unless it runs already; whether this call started it."""
        with self._lock:
            if self._thread is not None:
                return False
            self._ready.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        self._ready.wait(10)
        return True

    def stop(self) -> None:
        """Ask the main coroutine to end and wait for the thread, at most ``join_seconds``."""
        with self._lock:
            thread, self._thread = self._thread, None
        signals = self._signals
        if signals is not None:
            self._threadsafe(signals.stopping.set)
            self._threadsafe(signals.wake.set)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._join_seconds)

    def wake(self) -> None:
        """Set ``signals.wake``, e.g. right after a commit that left work for the loop."""
        signals = self._signals
        if signals is not None:
            self._threadsafe(signals.wake.set)

    def call(self, work: Coroutine[Any, Any, T], *, timeout: float = 60.0) -> T:
        """Run ``work`` on the loop and wait for its result."""
        loop = self._loop
        if loop is None or self._thread is None:
            work.close()
            raise RuntimeError(f"{self.name} is not running: start() it first")
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=timeout)

    def _threadsafe(self, callback: Callable[[], object]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # The loop may close between the check and the call: nothing is left to signal then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            self._loop = None
            self._signals = None
            self._ready.set()  # a main that failed at once must not leave start() waiting
            loop.close()

    async def _serve(self) -> None:
        self._signals = LoopSignals(stopping=asyncio.Event(), wake=asyncio.Event())
        self._ready.set()
        await self._main(self._signals)
