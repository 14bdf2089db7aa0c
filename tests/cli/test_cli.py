"""The `cityloop` command as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import httpx
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


def test_seed_without_accounts_leaves_no_default_password(tmp_path: Path) -> None:
    from cityloop.base.db import Database
    from cityloop.identity.models import User

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
