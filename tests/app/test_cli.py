"""The `cityloop` command's own verbs as an operator runs them: migrate, seed, serve. The verbs
of a package are tested with it (identity: user, apikey; perception: device; demo: demo,
simulate, seed --city-dir)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cityloop.cli import app

runner = CliRunner()


def test_migrate_creates_the_schema_in_a_new_data_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cityloop.db").exists()
    again = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0


def test_seed_without_accounts_leaves_no_default_password(tmp_path: Path) -> None:
    from cityloop.base.db import Database
    from cityloop.platforms.application.identity.models import User

    runner.invoke(app, ["seed", "--data-dir", str(tmp_path)])
    db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
    with db.read() as session:
        assert session.query(User).count() == 0
    db.dispose()


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


def test_serve_writes_the_access_log_unless_the_setting_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cityloop import cli
    from cityloop.settings import Settings

    options: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **given: options.append(given))
    cli._run(Settings(data_dir=tmp_path, run_background=False), "127.0.0.1", 8123)
    monkeypatch.setenv("CITYLOOP_ACCESS_LOG", "false")
    # serve --workers sets these for its workers: set first here, so they are undone afterwards
    monkeypatch.setenv("CITYLOOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITYLOOP_PUBLIC_BASE_URL", "http://127.0.0.1:8123")
    monkeypatch.setenv("CITYLOOP_RUN_BACKGROUND", "false")
    cli._run(Settings(data_dir=tmp_path, run_background=False), "127.0.0.1", 8123, workers=2)
    assert [given["access_log"] for given in options] == [True, False]


def test_serve_runs_one_worker_per_core_on_postgresql_and_one_on_sqlite(tmp_path: Path) -> None:
    import os

    from cityloop import cli
    from cityloop.settings import Settings

    assert cli.default_workers(Settings(data_dir=tmp_path)) == 1
    server = Settings(data_dir=tmp_path, database_url="postgresql://cityloop@db/cityloop")
    assert cli.default_workers(server) == (os.cpu_count() or 1)


def test_cityloop_mqtt_without_a_broker_says_which_setting_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CITYLOOP_MQTT_URL", raising=False)
    result = runner.invoke(app, ["mqtt", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "CITYLOOP_MQTT_URL" in result.output


def test_each_role_runs_its_own_background_services(tmp_path: Path) -> None:
    from cityloop.app import background_services, build_context
    from cityloop.settings import Settings

    settings = Settings(data_dir=tmp_path, mqtt_url="mqtt://127.0.0.1:1")
    ctx = build_context(settings)
    try:
        every = background_services(ctx, "all")
        worker = background_services(ctx, "worker")
        mqtt = background_services(ctx, "mqtt")
        assert worker[:2] == [ctx.relay, ctx.extras["scheduler"]]
        assert ctx.extras["webhooks"] in worker
        assert mqtt == [ctx.extras["mqtt"]]
        # Between them the two roles run what one process runs alone, each part once.
        assert sorted(map(id, worker + mqtt)) == sorted(map(id, every))
    finally:
        ctx.db.dispose()
