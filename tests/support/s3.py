"""An S3-compatible server for the storage tests: moto's server mode, an emulator run as its own
process and spoken to over real HTTP (no S3 server proper installs from the registries this
project uses). The adapter under test knows nothing of moto: it sees an endpoint URL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.support.servers import free_port
from tests.support.waiting import wait_until

# Any values do for the emulator; the adapter reads them from the environment like real ones.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "cityloop-test",
    "AWS_SECRET_ACCESS_KEY": "cityloop-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    @cached_property
    def client(self) -> Any:
        """A plain boto3 client of the emulator, to look at what the adapter stored."""
        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        ).client("s3", endpoint_url=self.endpoint)

    def new_bucket(self) -> str:
        name = f"cityloop-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def url(self, bucket: str, prefix: str = "", **options: str) -> str:
        """The storage URL of ``bucket`` on this server."""
        query = "&".join(f"{k}={v}" for k, v in {"endpoint": self.endpoint, **options}.items())
        return f"s3://{bucket}/{prefix}?{query}"


def _answers(endpoint: str) -> bool:
    try:
        return httpx.get(endpoint, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def s3_server(log_dir: Path) -> Iterator[S3Server]:
    """moto's S3 server on a free port of 127.0.0.1, stopped on exit."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (log_dir / f"moto-{port}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
    try:
        wait_until(lambda: _answers(endpoint), "the S3 emulator answers")
        yield S3Server(endpoint, process)
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def aws_credentials() -> Iterator[None]:
    """The standard AWS variables set for the adapter, as an operator would set them."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        # Never the machine's own profile or config.
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.delenv("AWS_PROFILE", raising=False)
        yield
