"""Real `cityloop` server processes for the tests that need one (CLI, live feed, browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "cityloop.cli"]


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
    subprocess.run([*CLI, "seed", "--accounts", "--data-dir", str(data_dir)], check=True)


@contextmanager
def running(command: str, data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `cityloop <command>` (serve or demo) on a free port; yield its base URL."""
    port = free_port()
    log = (data_dir / f"{command}.log").open("w")
    process = subprocess.Popen(
        [*CLI, command, "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
