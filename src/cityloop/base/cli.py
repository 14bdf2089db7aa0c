"""What every package's CLI commands share: settings from a data dir, a migrated database and
one unit of work whose refusals are one-line errors, not tracebacks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from cityloop.base.db import Database
from cityloop.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cityloop.base.context import AppContext

DataDir = Annotated[Path | None, typer.Option(help="data directory")]


def settings_for(data_dir: Path | None = None, **overrides: object) -> Settings:
    """The settings for a data dir (created when missing), with overrides."""
    settings = Settings(**({"data_dir": data_dir} if data_dir else {}), **overrides)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def migrate_database(settings: Settings) -> None:
    """Bring the settings' database schema up to date."""
    from cityloop.migrate import upgrade

    db = Database(settings.resolved_database_url, process_lock=settings.sqlite_write_lock)
    try:
        upgrade(db)
    finally:
        db.dispose()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def unit_of_work(data_dir: Path | None, *, write: bool = True) -> Iterator[Session]:
    """One transaction on a migrated database; a refused input is a one-line error."""
    from cityloop.base.problems import Problem

    settings = settings_for(data_dir)
    migrate_database(settings)
    db = Database(settings.resolved_database_url, process_lock=settings.sqlite_write_lock)
    try:
        with db.writing() if write else db.read() as session:
            yield session
    except Problem as exc:
        where = f" ({exc.field})" if exc.field else ""
        fail(f"{exc.detail}{where}")
    finally:
        db.dispose()


# The assembled app's context, given by the top of the tree (``cityloop.cli``): a command that
# runs a package's jobs needs every package's registrations, which nothing below may import.
_context_factory: list[Callable[[Settings], AppContext]] = []


def provide_context(factory: Callable[[Settings], AppContext]) -> None:
    """Name how the assembled app's context is built (called once by ``cityloop.cli``)."""
    _context_factory[:] = [factory]


@contextlib.contextmanager
def app_context(data_dir: Path | None) -> Iterator[AppContext]:
    """The assembled app's context on a migrated database, for a command that runs jobs; a
    refused input is a one-line error."""
    from cityloop.base.problems import Problem

    if not _context_factory:
        fail("this command needs the assembled app (run it as `cityloop ...`)")
    settings = settings_for(data_dir)
    migrate_database(settings)
    ctx = _context_factory[0](settings)
    try:
        yield ctx
    except Problem as exc:
        where = f" ({exc.field})" if exc.field else ""
        fail(f"{exc.detail}{where}")
    finally:
        ctx.db.dispose()


def json_option(text: str | None, file: Path | None, what: str) -> dict[str, Any]:
    """A JSON object given as text or as a file (not both); empty when neither."""
    if text is not None and file is not None:
        fail(f"give the {what} as text or as a file, not both")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {file}: {exc}")
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"the {what} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(value, dict):
        fail(f"the {what} must be a JSON object")
    return value
