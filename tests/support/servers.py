"""Real `cityloop` server processes for the tests that need one (CLI, live feed, browser), and
clients signed in to them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "cityloop.cli"]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not become ready in {seconds:.0f} s")


def seed(data_dir: Path) -> None:
    """`cityloop seed --accounts` into ``data_dir``, the demo accounts hashed cheaply."""
    command = ["seed", "--accounts", "--data-dir", str(data_dir)]
    subprocess.run([sys.executable, "-m", "tests.support.hashing", *command], cwd=ROOT, check=True)


class Server:
    """One `cityloop <command>` process on a free port, started with :meth:`start`. A command
    that serves no HTTP (`worker`, `mqtt`) gets no port and is ready once its log shows
    ``ready_text``."""

    def __init__(
        self,
        command: str,
        data_dir: Path,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
        ready_text: str | None = None,
    ) -> None:
        self.command = command
        self.data_dir = data_dir
        self.env = env or {}
        self.args = list(args)
        self.ready_text = ready_text
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"{command}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start it and wait until it is ready; returns its base URL."""
        port = [] if self.ready_text else ["--port", str(self.port)]
        log = self.log.open("a")
        self.process = subprocess.Popen(
            [*CLI, self.command, *port, "--data-dir", str(self.data_dir), *self.args]
            # One process unless a test asks for more, whatever the engine's default: kill()
            # must kill the whole server.
            + (
                ["--workers", "1"]
                if self.command == "serve" and "--workers" not in self.args
                else []
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        log.close()
        try:
            if self.ready_text:
                self._wait_for_log(self.ready_text)
            else:
                wait_ready(self.base)
        except BaseException:
            self.kill()
            raise
        return self.base

    def _wait_for_log(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"`cityloop {self.command}` never logged {text!r}:\n{tail}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed, as in a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        """SIGTERM: the orderly stop an operator gives."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@contextmanager
def running(command: str, data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `cityloop <command>` (serve or demo) on a free port; yield its base URL."""
    server = Server(command, data_dir, env)
    base = server.start()
    try:
        yield base
    finally:
        server.stop()


@contextmanager
def seeded_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Seed the demo city and its accounts into ``data_dir``, then run `cityloop serve` on it;
    yield its base URL."""
    seed(data_dir)
    with running("serve", data_dir, env) as base:
        yield base


def token(base: str, username: str, password: str = "demo") -> str:
    """An access token of ``username`` from the server at ``base``."""
    answer = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def staff(base: str, username: str) -> httpx.Client:
    """An API client of the server at ``base``, signed in as ``username``."""
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token(base, username)}"}, timeout=10
    )
