"""NATS JetStream for the relay tests: the shared server on :4222 (CI starts it), a private
server a test may stop and restart, and a look at a stream's contents.

Each test names a stream of its own, so tests running at once never see each other's events.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

SHARED_URL = os.environ.get("CITYLOOP_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def shared_nats() -> str:
    """The shared server's URL, or a skip when nothing listens on its port."""
    port = int(SHARED_URL.rsplit(":", 1)[1])
    if not _port_open(port):
        pytest.skip(f"no NATS server on 127.0.0.1:{port}")
    return SHARED_URL


def stream_name() -> str:
    """A stream of the test's own."""
    return f"TEST_{uuid.uuid4().hex[:12]}"


def with_jetstream(url: str, work: Callable[[JetStreamContext], Awaitable[Any]]) -> Any:
    """Run ``work`` on a JetStream context of a connection of its own."""

    async def run() -> Any:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            return await work(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(run())


def stream_messages(url: str, stream: str) -> int:
    """How many messages the stream holds (0 if it does not exist)."""

    async def count(js: JetStreamContext) -> int:
        try:
            return int((await js.stream_info(stream)).state.messages)
        except NotFoundError:
            return 0

    return int(with_jetstream(url, count))


def delete_stream(url: str, stream: str) -> None:
    async def delete(js: JetStreamContext) -> None:
        with suppress(NotFoundError):
            await js.delete_stream(stream)

    with_jetstream(url, delete)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateNats:
    """A ``nats-server -js`` of the test's own, on a free port with its store under a temp
    directory, so a test can kill and restart it; the store survives a restart."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.store = directory / "jetstream"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if _port_open(self.port):
                return
            if self.process.poll() is not None:
                raise RuntimeError("nats-server exited at start")
            time.sleep(0.05)
        raise RuntimeError("nats-server did not listen within 10 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@contextmanager
def private_nats(directory: Path) -> Iterator[PrivateNats]:
    if not os.access(NATS_SERVER, os.X_OK):
        pytest.skip(f"no nats-server binary at {NATS_SERVER}")
    server = PrivateNats(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
