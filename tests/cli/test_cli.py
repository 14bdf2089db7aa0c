"""The `cityloop` command as an operator runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from tests.servers import running

runner = CliRunner()


def test_migrate_creates_the_schema_in_a_new_data_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cityloop.db").exists()
    again = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0


def test_user_create_makes_an_account_that_can_log_in(tmp_path: Path) -> None:
    runner.invoke(app, ["seed", "--data-dir", str(tmp_path)])
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


def test_seed_without_accounts_leaves_no_default_password(tmp_path: Path) -> None:
    from cityloop.base.db import Database
    from cityloop.platforms.application.identity.models import User

    runner.invoke(app, ["seed", "--data-dir", str(tmp_path)])
    db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
    with db.read() as session:
        assert session.query(User).count() == 0
    db.dispose()


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


def test_the_access_log_never_shows_an_access_token() -> None:
    import logging

    from cityloop.cli import RedactTokens

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s"', ("1.2.3.4", "GET",
        "/api/v1/cases-stream?access_token=eyJ.secret.sig&last_event_id=3"), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert "secret" not in record.getMessage()
    assert "access_token=[redacted]&last_event_id=3" in record.getMessage()


def test_api_keys_are_created_scoped_listed_and_revoked_from_the_cli(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from cityloop.app import create_app
    from cityloop.settings import Settings

    runner.invoke(app, ["seed", "--data-dir", str(tmp_path)])

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


def test_serve_links_to_its_own_address_unless_a_public_url_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cityloop import cli
    from cityloop.settings import Settings

    served: list[Any] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: served.append(app))
    cli._run(Settings(data_dir=tmp_path, run_background=False), "0.0.0.0", 8123)
    public = Settings(data_dir=tmp_path, run_background=False, public_base_url="https://c.example/")
    cli._run(public, "0.0.0.0", 8123)

    bases = [app.state.ctx.settings.public_base_url for app in served]
    assert bases == ["http://127.0.0.1:8123", "https://c.example"]
