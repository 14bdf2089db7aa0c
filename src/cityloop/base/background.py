"""One way to run a background loop in a thread: start it once, stop it and wait for it.

The relay, the scheduler and the outbox listener each loop until asked to stop; the asyncio
ones (the NATS relay, the webhook dispatcher) run their event loop the same way. Each used to
carry its own copy of this start/stop bookkeeping."""

from __future__ import annotations

import threading
from collections.abc import Callable


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
