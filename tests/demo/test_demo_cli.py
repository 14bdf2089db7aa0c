"""`cityloop demo` and `cityloop simulate` as an operator runs them: the demo city served, and
the simulator's clear errors, no tracebacks and exit codes that scripts can trust."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from tests.support.servers import running

runner = CliRunner()


def test_demo_seeds_an_empty_data_dir_and_serves_the_city(tmp_path: Path) -> None:
    with running("demo", tmp_path) as base:
        departments = httpx.get(f"{base}/api/v1/departments").json()
        assert len(departments) >= 8
        login = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "dispatcher", "password": "demo"}
        )
        assert login.status_code == 200
        districts = httpx.get(f"{base}/api/v1/geo/districts").json()
        assert len(districts["features"]) >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --mqtt"),
        (["--http", "http://x", "--mqtt", "mqtt://x"], "exactly one of --mqtt"),
        (["--http", "ftp://x"], "not an http"),
        (["--mqtt", "http://x"], "not an MQTT URL"),
        (["--http", "http://x", "--devices", "500"], "1 to"),
    ],
)
def test_simulate_refuses_bad_options_clearly(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_simulate_runs_for_its_duration_and_summarises(tmp_path: Path) -> None:
    # Nothing listens on this port: every message fails, which the exit code says.
    result = runner.invoke(
        app,
        ["simulate", "--http", "http://127.0.0.1:9", "--rate", "20", "--duration", "0.5",
         "--seed", "1", "--devices", "8"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "seed 1" in result.output and "failed" in result.output
