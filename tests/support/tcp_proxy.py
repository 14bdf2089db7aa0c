"""A TCP proxy that can take a server away and bring it back, as a restart does: ``down()``
cuts every open connection and refuses new ones until ``up()``."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.servers import free_port


class TcpProxy:
    """Listens on a free port and relays each connection to ``port`` on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = free_port()
        self.is_up = True
        self.refused = 0  # connections turned away while down
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def down(self) -> None:
        """Cut every connection and refuse new ones, as a server that stopped."""
        with self._lock:
            self.is_up = False
            open_now, self._open = self._open, set()
        for sock in open_now:
            _close(sock)

    def up(self) -> None:
        with self._lock:
            self.is_up = True

    def close(self) -> None:
        self._listener.close()
        self.down()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if not self.is_up:
                    self.refused += 1
                    _close(client)
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.target))
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    while True:
        try:
            chunk = source.recv(65536)
            if not chunk:
                break
            sink.sendall(chunk)
        except OSError:
            break
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
