"""A TCP proxy between the platform and a Mosquitto broker that reads the MQTT packets going
through it, so a test knows exactly what the broker saw acknowledged.

It records every QoS 1 PUBLISH the broker delivers and every PUBACK the platform sends back,
by payload. It can withhold PUBACKs from the broker (the platform believes it acknowledged,
the broker never hears of it: the crash window between commit and acknowledgement), and it can
probe the platform: a PINGREQ injected after the PUBLISHes is answered with a PINGRESP only once
paho's network thread has handled every packet before it, so every acknowledgement sent on
receipt is already through the proxy when the probe returns.

MQTT 3.1.1 only, which is what the platform speaks.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

from tests.support.servers import free_port

PUBLISH, PUBACK, SUBACK, PINGREQ, PINGRESP = 3, 4, 9, 12, 13


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            chunk = sock.recv(size - len(chunks))
        except OSError:
            return None
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_packet(sock: socket.socket) -> bytes | None:
    """One whole MQTT packet (fixed header included), or None when the connection ends."""
    head = _read_exact(sock, 1)
    if head is None:
        return None
    length_bytes = bytearray()
    length, shift = 0, 0
    while True:
        byte = _read_exact(sock, 1)
        if byte is None:
            return None
        length_bytes += byte
        length += (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = _read_exact(sock, length) if length else b""
    if body is None:
        return None
    return head + bytes(length_bytes) + body


def _body(packet: bytes) -> bytes:
    position = 1
    while packet[position] & 0x80:
        position += 1
    return packet[position + 1 :]


@dataclass
class _Connection:
    client: socket.socket
    upstream: socket.socket
    # Packet id -> payload of the QoS 1 PUBLISH delivered under that id on this connection.
    in_flight: dict[int, bytes] = field(default_factory=dict)
    to_client: threading.Lock = field(default_factory=threading.Lock)
    pongs: int = 0
    closed: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class MqttProxy:
    """Listens on a free port and relays each connection to the broker on ``broker_port``."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.port = free_port()
        self.changed = threading.Condition()
        self.delivered: list[bytes] = []  # QoS 1 payloads the broker sent, redeliveries too
        self.acked: list[bytes] = []  # payloads whose PUBACK reached the broker
        self.withheld: list[bytes] = []  # payloads whose PUBACK the broker never got
        self.hold_acks = False
        self.subscriptions = 0  # SUBACKs the broker sent
        self.connections: list[_Connection] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, name="mqtt-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()
        for connection in self.connections:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            connection = _Connection(client, upstream)
            with self.changed:
                self.connections.append(connection)
            down = threading.Thread(target=self._to_client, args=(connection,), daemon=True)
            up = threading.Thread(target=self._to_broker, args=(connection,), daemon=True)
            down.start()
            up.start()

    def _to_client(self, connection: _Connection) -> None:
        while (packet := read_packet(connection.upstream)) is not None:
            kind, flags = packet[0] >> 4, packet[0] & 0x0F
            if kind == PUBLISH and (flags >> 1) & 0x03 == 1:
                body = _body(packet)
                topic_length = int.from_bytes(body[:2], "big")
                packet_id = int.from_bytes(body[2 + topic_length : 4 + topic_length], "big")
                payload = body[4 + topic_length :]
                with self.changed:
                    connection.in_flight[packet_id] = payload
                    self.delivered.append(payload)
                    self.changed.notify_all()
            elif kind == SUBACK:
                with self.changed:
                    self.subscriptions += 1
                    self.changed.notify_all()
            try:
                with connection.to_client:
                    connection.client.sendall(packet)
            except OSError:
                break
        self._closed(connection)

    def _to_broker(self, connection: _Connection) -> None:
        while (packet := read_packet(connection.client)) is not None:
            kind = packet[0] >> 4
            if kind == PINGRESP:  # the answer to a probe: the broker never asked for it
                with self.changed:
                    connection.pongs += 1
                    self.changed.notify_all()
                continue
            acked: bytes | None = None
            if kind == PUBACK:
                packet_id = int.from_bytes(_body(packet)[:2], "big")
                with self.changed:
                    acked = connection.in_flight.get(packet_id, b"")
                    if self.hold_acks:
                        self.withheld.append(acked)
                        self.changed.notify_all()
                        continue
            try:
                connection.upstream.sendall(packet)
            except OSError:
                break
            if acked is not None:  # passed on: the broker has it
                with self.changed:
                    self.acked.append(acked)
                    self.changed.notify_all()
        self._closed(connection)

    def _closed(self, connection: _Connection) -> None:
        connection.close()
        with self.changed:
            connection.closed.set()
            self.changed.notify_all()

    def wait_for(self, condition: object, what: str, timeout: float = 60.0) -> None:
        """Wait until ``condition()`` (called under the proxy's lock) is true."""
        with self.changed:
            if not self.changed.wait_for(condition, timeout):  # type: ignore[arg-type]
                raise AssertionError(f"{what}: not within {timeout:.0f} s")

    def live(self) -> _Connection:
        open_ = [c for c in self.connections if not c.closed.is_set()]
        assert len(open_) == 1, f"{len(open_)} open connections through the proxy"
        return open_[0]

    def probe(self, timeout: float = 60.0) -> None:
        """Return once the platform has handled every packet the broker sent it so far."""
        connection = self.live()
        with self.changed:
            expected = connection.pongs + 1
        with connection.to_client:
            connection.client.sendall(bytes([PINGREQ << 4, 0]))
        self.wait_for(lambda: connection.pongs >= expected, "the platform answering a probe")

    def wait_all_closed(self, timeout: float = 60.0) -> None:
        self.wait_for(
            lambda: all(c.closed.is_set() for c in self.connections),
            "the proxied connections closing",
            timeout,
        )
