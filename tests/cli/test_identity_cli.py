"""`cityloop user unlock` as an operator runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cityloop.app import create_app
from cityloop.cli import app
from cityloop.settings import Settings

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users")
    assert runner.invoke(app, ["seed", "--accounts", "--data-dir", str(path)]).exit_code == 0
    return path


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=data_dir, run_background=False, login_max_failures=2)
    with TestClient(create_app(settings)) as client:
        yield client


def cli(data_dir: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.output


def sign_in(client: TestClient, username: str, password: str = "demo") -> int:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return response.status_code


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_unlock_lifts_a_sign_in_lock_at_once(data_dir: Path, client: TestClient) -> None:
    for _ in range(2):
        assert sign_in(client, "handler-parks", "guess") == 401
    assert sign_in(client, "handler-parks") == 429
    assert "unlocked handler-parks" in cli(data_dir, "user", "unlock", "Handler-Parks")
    assert sign_in(client, "handler-parks") == 200
    assert "was not locked" in cli(data_dir, "user", "unlock", "handler-parks")
