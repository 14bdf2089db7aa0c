"""`cityloop user create | list | deactivate | activate | unlock` and `cityloop apikey create |
list | revoke` as an operator runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cityloop.app import create_app
from cityloop.cli import app
from cityloop.settings import Settings
from tests.support.databases import seeded_data_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_data_dir(templates, tmp_path_factory.mktemp("users"))


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


def test_user_create_makes_an_account_that_can_log_in(
    templates: dict[str, str], tmp_path: Path
) -> None:
    seeded_data_dir(templates, tmp_path)
    result = runner.invoke(
        app,
        ["user", "create", "ops-lead", "--role", "supervisor", "--password", "s3cret-pass",
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        app,
        ["user", "create", "w1", "--role", "worker", "--password", "s3cret-pass",
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "department" in bad.output

    from fastapi.testclient import TestClient

    from cityloop.app import create_app
    from cityloop.settings import Settings

    settings = Settings(data_dir=tmp_path, run_background=False)
    with TestClient(create_app(settings)) as client:
        wrong = {"username": "ops-lead", "password": "not-the-password"}
        assert client.post("/api/v1/auth/token", data=wrong).status_code == 401
        login = client.post(
            "/api/v1/auth/token", data={"username": "ops-lead", "password": "s3cret-pass"}
        )
        assert login.status_code == 200, login.text
        me = client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert (me.json()["username"], me.json()["role"]) == ("ops-lead", "supervisor")
        refused = {"username": "w1", "password": "s3cret-pass"}
        assert client.post("/api/v1/auth/token", data=refused).status_code == 401


@pytest.mark.parametrize(
    ("username", "password", "rule"),
    [
        ("weak-one", "short1", "at least"),
        ("weak-one", "aaaaaaaaaaaaaa", "mix at least"),
        ("weak-one-user", "weak-one-user", "not be the username"),
    ],
)
def test_user_create_keeps_the_password_policy_naming_the_rule(
    templates: dict[str, str], tmp_path: Path, username: str, password: str, rule: str
) -> None:
    seeded_data_dir(templates, tmp_path)
    result = runner.invoke(
        app,
        ["user", "create", username, "--role", "supervisor", "--password", password,
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "(password)" in result.output and rule in result.output, result.output
    listed = runner.invoke(app, ["user", "list", "--data-dir", str(tmp_path)])
    assert username not in listed.output


def test_api_keys_are_created_scoped_listed_and_revoked_from_the_cli(
    templates: dict[str, str], tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from cityloop.app import create_app
    from cityloop.settings import Settings

    seeded_data_dir(templates, tmp_path)

    def create(name: str, *scopes: str) -> str:
        options = [part for scope in scopes for part in ("--scope", scope)]
        result = runner.invoke(
            app, ["apikey", "create", name, *options, "--data-dir", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    open311_key = create("a 311 app")
    broker_key = create("the parking operator", "ngsild")
    bad = runner.invoke(
        app, ["apikey", "create", "x", "--scope", "root", "--data-dir", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "scopes" in bad.output
    listed = runner.invoke(app, ["apikey", "list", "--data-dir", str(tmp_path)]).output
    assert "a 311 app\topen311\tactive" in listed and "the parking operator\tngsild" in listed
    assert open311_key not in listed  # only hashes are kept

    entity = {"id": "urn:ngsi-ld:ParkingSpot:cli-1", "type": "ParkingSpot"}
    report = {"service_code": "C-02-01", "lat": "30.2466", "long": "120.1406"}
    settings = Settings(data_dir=tmp_path, run_background=False)
    with TestClient(create_app(settings)) as client:
        # Each key opens its own API and no other.
        assert (
            client.post(
                "/ngsi-ld/v1/entities", json=entity, headers={"X-Api-Key": open311_key}
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/open311/v2/requests.json", data={**report, "api_key": broker_key}
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/ngsi-ld/v1/entities", json=entity, headers={"X-Api-Key": broker_key}
            ).status_code
            == 201
        )
        assert (
            client.post(
                "/open311/v2/requests.json", data={**report, "api_key": open311_key}
            ).status_code
            == 201
        )
        key_id = next(line.split("\t")[0] for line in listed.splitlines() if "parking" in line)
        revoked = runner.invoke(app, ["apikey", "revoke", key_id, "--data-dir", str(tmp_path)])
        assert revoked.exit_code == 0, revoked.output
        assert (
            client.delete(
                "/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:cli-1",
                headers={"X-Api-Key": broker_key},
            ).status_code
            == 401
        )
