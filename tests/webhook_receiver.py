"""A real HTTP server on a free local port that records the webhooks it receives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Guards against a hung test; never a performance threshold.
HANG_GUARD_SECONDS = 30.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers each POST with the next status from ``statuses`` (then 200). With ``hold``, each
    request stays open until :meth:`release`, like an endpoint that is slow to answer."""

    def __init__(
        self, statuses: list[int] | None = None, hold: bool = False, trickle: bool = False
    ) -> None:
        self.statuses = list(statuses or [])
        self.hold = hold
        # With ``trickle``, the answer's status line comes one byte at a time, slower than any
        # sane deadline but fast enough that no single read ever times out.
        self.trickle = trickle
        self.released = threading.Event()
        self.received: list[Received] = []
        self.open_requests = 0
        self.most_open = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.open_requests += 1
                    receiver.most_open = max(receiver.most_open, receiver.open_requests)
                try:
                    if receiver.hold:
                        receiver.released.wait(HANG_GUARD_SECONDS)
                    if receiver.trickle:
                        for byte in f"HTTP/1.1 {status} OK\r\n".encode():
                            if receiver.released.wait(0.1):
                                break
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        self.wfile.write(b"Content-Length: 0\r\n\r\n")
                        return
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender gave up (timeout) and closed the connection
                    pass
                finally:
                    with receiver._lock:
                        receiver.open_requests -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self.released.set()

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.received]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiving(
    statuses: list[int] | None = None, hold: bool = False, trickle: bool = False
) -> Iterator[Receiver]:
    receiver = Receiver(statuses, hold, trickle)
    try:
        yield receiver
    finally:
        receiver.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)
