"""`cityloop user list | deactivate | activate | unlock` (and `apikey revoke`) as an operator
runs them."""

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


def test_user_list_shows_each_account_with_its_role_department_and_state(data_dir: Path) -> None:
    listed = cli(data_dir, "user", "list").splitlines()
    rows = {line.split("\t")[1]: line.split("\t")[2:] for line in listed}
    assert rows["admin"] == ["admin", "-", "active"]
    assert rows["handler-water"] == ["handler", "water", "active"]
    handlers = cli(data_dir, "user", "list", "--role", "handler").splitlines()
    assert handlers and all("\thandler\t" in line for line in handlers)
    bogus = runner.invoke(app, ["user", "list", "--role", "mayor", "--data-dir", str(data_dir)])
    assert bogus.exit_code == 2 and "unknown role 'mayor'" in bogus.output


def test_deactivate_from_the_cli_ends_sign_ins_and_tokens_at_once(
    data_dir: Path, client: TestClient
) -> None:
    headers = bearer(client, "worker-roads")
    assert "deactivated worker-roads" in cli(data_dir, "user", "deactivate", "worker-roads")
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert sign_in(client, "worker-roads") == 401
    assert "worker-roads\tworker\troads\tdeactivated" in cli(data_dir, "user", "list")
    assert "activated worker-roads" in cli(data_dir, "user", "activate", "worker-roads")
    assert sign_in(client, "worker-roads") == 200
    trail = client.get(
        "/api/v1/audit", params={"target": "user:worker-roads"}, headers=bearer(client, "admin")
    ).json()
    assert {"user.deactivate", "user.activate"} <= {entry["action"] for entry in trail}
    assert all(entry["actor"] == "cli" for entry in trail if entry["action"].startswith("user."))


def test_deactivating_an_unknown_account_is_a_one_line_error(data_dir: Path) -> None:
    result = runner.invoke(app, ["user", "deactivate", "nobody", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "user 'nobody' does not exist" in result.output


def test_unlock_lifts_a_sign_in_lock_at_once(data_dir: Path, client: TestClient) -> None:
    for _ in range(2):
        assert sign_in(client, "handler-parks", "guess") == 401
    assert sign_in(client, "handler-parks") == 429
    assert "unlocked handler-parks" in cli(data_dir, "user", "unlock", "Handler-Parks")
    assert sign_in(client, "handler-parks") == 200
    assert "was not locked" in cli(data_dir, "user", "unlock", "handler-parks")


def test_revoking_an_unknown_api_key_is_a_one_line_error(data_dir: Path) -> None:
    result = runner.invoke(app, ["apikey", "revoke", "9999", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "API key 9999 does not exist" in result.output
