"""The `cityloop` command: serve, demo, migrate, seed, users, and the SLA sweep."""

from __future__ import annotations

import copy
import getpass
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from cityloop.base.db import Database
from cityloop.settings import Settings

app = typer.Typer(help="CityLoop: the city operating platform.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    settings = Settings(**({"data_dir": data_dir} if data_dir else {}), **overrides)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _migrate(settings: Settings) -> None:
    from cityloop.migrate import upgrade

    db = Database(settings.resolved_database_url)
    try:
        upgrade(db)
    finally:
        db.dispose()


@app.command()
def migrate(data_dir: Annotated[Path | None, typer.Option(help="data directory")] = None) -> None:
    """Bring the database schema up to date."""
    settings = _settings(data_dir)
    _migrate(settings)
    typer.echo(f"database is up to date: {settings.resolved_database_url.split('@')[-1]}")


@app.command()
def seed(
    data_dir: Annotated[Path | None, typer.Option()] = None,
    accounts: Annotated[bool, typer.Option(help="also create the demo accounts")] = False,
) -> None:
    """Load the demo city's map, departments, categories, routing and SLA targets."""
    from cityloop.demo import seed as demo

    settings = _settings(data_dir)
    _migrate(settings)
    db = Database(settings.resolved_database_url)
    with db.writing() as session:
        demo.seed_city(session)
        if accounts:
            demo.seed_accounts(session)
    db.dispose()
    typer.echo("demo city loaded")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: Annotated[Path | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the platform (migrates first)."""
    settings = _settings(data_dir)
    _migrate(settings)
    _run(settings, host, port, workers)


class RedactTokens(logging.Filter):
    """Keep access tokens (the live feed takes one in its URL) out of the access log."""

    PATTERN = re.compile(r"(access_token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": RedactTokens}}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config


def _run(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    from cityloop.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if workers > 1:
        # Each worker builds its own app from the environment.
        os.environ["CITYLOOP_DATA_DIR"] = str(settings.data_dir)
        uvicorn.run(
            "cityloop.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=log_config(),
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=log_config())


@app.command()
def demo(
    port: Annotated[int, typer.Option()] = 8000,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Seed the demo city if the data dir is empty, then serve it in the foreground."""
    from cityloop.demo import seed as demo_seed

    settings = _settings(data_dir, demo=True)
    _migrate(settings)
    db = Database(settings.resolved_database_url)
    with db.writing() as session:
        if not demo_seed.is_seeded(session):
            demo_seed.seed_city(session)
            demo_seed.seed_accounts(session)
            typer.echo("seeded the demo city; every demo account's password is 'demo'")
    db.dispose()
    typer.echo(f"CityLoop demo on http://{host}:{port}")
    _run(settings, host, port)


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[
        str,
        typer.Option(
            help="admin, dispatcher, supervisor, handler, worker, hotline, inspector, citizen"
        ),
    ],
    department: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="prompted for when not given")] = None,
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Create an account."""
    from cityloop.base.problems import Problem
    from cityloop.identity import service
    from cityloop.identity.service import Actor

    settings = _settings(data_dir)
    _migrate(settings)
    if password is None:
        password = getpass.getpass("password: ")
    db = Database(settings.resolved_database_url)
    try:
        with db.writing() as session:
            user = service.create_user(
                session, username, password, role, department_code=department
            )
            service.audit(
                session, Actor(None, "cli", "admin"), "user.create", f"user:{user.username}"
            )
    except Problem as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(f"created {role} {username}")


@app.command("sla-sweep")
def sla_sweep(data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Flag overdue and silent cases once (the server also does this on a timer)."""
    from cityloop.governance import service

    settings = _settings(data_dir)
    db = Database(settings.resolved_database_url)
    with db.writing() as session:
        result = service.sweep_deadlines(session)
    db.dispose()
    typer.echo(
        f"overdue: {len(result.overdue)}, response overdue: {len(result.response_overdue)}, "
        f"no recent update: {len(result.stale)}"
    )


if __name__ == "__main__":
    app()
