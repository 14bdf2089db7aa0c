"""Waking the relay across processes on PostgreSQL (LISTEN/NOTIFY).

In one process a commit that emitted events wakes the relay at once
(:func:`cityloop.base.outbox.notify_relay_after_commit`). Scaled out, the events are committed by
API and MQTT processes and relayed by a ``cityloop worker``, which would otherwise see them only
at its next poll (``CITYLOOP_RELAY_POLL_SECONDS``). :func:`cityloop.base.outbox.emit` therefore
sends a notification on the ``cityloop_outbox`` channel inside the same transaction: PostgreSQL
delivers it only if the transaction commits, once however many events it emitted. The listener
here holds one connection of its own, and wakes the relay on each notification; the poll stays as
the fallback for a connection that drops.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from cityloop.base.background import LoopThread
from cityloop.base.db import Database
from cityloop.base.outbox import OUTBOX_CHANNEL, EventRelay

log = logging.getLogger(__name__)


class OutboxListener:
    """Wakes ``relay`` whenever any process commits events to the outbox."""

    RECONNECT_SECONDS = 2.0

    def __init__(self, db: Database, relay: EventRelay) -> None:
        self.conninfo = db.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.relay = relay
        self._runner = LoopThread("outbox-listen", self._loop)

    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._runner.stop()

    def _loop(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    self.relay.notify()  # whatever was committed while not listening
                    while not stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.relay.notify()
            except psycopg.Error as exc:  # the database restarting: listen again shortly
                log.warning("outbox listener lost its connection: %s", exc)
                stopping.wait(self.RECONNECT_SECONDS)
