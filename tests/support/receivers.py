"""Real HTTP servers on free local ports, for the tests' outbound calls: a receiver that records
the webhooks and notifications it is sent, and the pieces to serve documents (@context files,
redirects) with a handler of the test's own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.waiting import HANG_GUARD_SECONDS


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with :meth:`reply`."""

    def reply(
        self, body: bytes, status: int = 200, content_type: str | None = None, **headers: str
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalServer:
    """A threading HTTP server on a free port of 127.0.0.1, serving ``handler`` until
    :meth:`close`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(LocalServer):
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

        class Handler(QuietHandler):
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
                    self.reply(b"", status)
                except OSError:  # the sender gave up (timeout) and closed the connection
                    pass
                finally:
                    with receiver._lock:
                        receiver.open_requests -= 1

        super().__init__(Handler)

    def release(self) -> None:
        self.released.set()

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.received]

    def close(self) -> None:
        self.release()
        super().close()


@contextmanager
def receiving(
    statuses: list[int] | None = None, hold: bool = False, trickle: bool = False
) -> Iterator[Receiver]:
    receiver = Receiver(statuses, hold, trickle)
    try:
        yield receiver
    finally:
        receiver.close()
