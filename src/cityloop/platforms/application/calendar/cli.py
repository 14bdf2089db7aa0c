"""`cityloop calendar`: the holiday table from the command line."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from cityloop.base.cli import DataDir, fail, unit_of_work
from cityloop.platforms.application.calendar import service
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

calendar_app = typer.Typer(help="The working-day calendar (holiday table).", no_args_is_help=True)
CLI_ACTOR = Actor(None, "cli", Role.ADMIN)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a date: write it as YYYY-MM-DD")


@calendar_app.command("import")
def import_year(
    year: Annotated[int, typer.Option(help="the year to load from chinese-calendar")],
    data_dir: DataDir = None,
) -> None:
    """Load a year's holidays and adjusted working days from the chinese-calendar package."""
    with unit_of_work(data_dir) as session:
        written = service.import_year(session, year=year)
        identity.audit(
            session,
            actor=CLI_ACTOR,
            action="calendar.import",
            target=f"calendar:{year}",
            detail={"written": written},
        )
    typer.echo(f"imported {written} days of {year}")


@calendar_app.command("set")
def set_day(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    kind: Annotated[str, typer.Argument(help="holiday or workday")],
    name: Annotated[str, typer.Option(help="the holiday's name, e.g. 国庆节")] = "",
    name_en: Annotated[str, typer.Option(help="its English name")] = "",
    data_dir: DataDir = None,
) -> None:
    """Make a day a holiday (法定节假日) or an adjusted working day (调休上班)."""
    when = _day(day)
    # --name is the name people use here, usually Chinese; --name-en the English one.
    with unit_of_work(data_dir) as session:
        service.set_day(session, day=when, kind=kind, name=name_en or name, name_zh=name)
        identity.audit(
            session,
            actor=CLI_ACTOR,
            action="calendar.set",
            target=f"calendar:{when.isoformat()}",
            detail={"kind": kind, "name": name},
        )
    typer.echo(f"{when.isoformat()} is a {kind}" + (f" ({name})" if name else ""))


@calendar_app.command("clear")
def clear_day(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")], data_dir: DataDir = None
) -> None:
    """Take a day out of the table: it follows its weekday again."""
    when = _day(day)
    with unit_of_work(data_dir) as session:
        service.clear_day(session, day=when)
        identity.audit(
            session, actor=CLI_ACTOR, action="calendar.clear", target=f"calendar:{when.isoformat()}"
        )
    typer.echo(f"{when.isoformat()} follows its weekday again")


@calendar_app.command("list")
def list_days(
    year: Annotated[int | None, typer.Option(help="only this year")] = None,
    data_dir: DataDir = None,
) -> None:
    """List the table's days: date, kind, source and name."""
    with unit_of_work(data_dir, write=False) as session:
        rows = service.list_days(session, year=year)
        known = service.known_years(session)
        for row in rows:
            names = " / ".join(dict.fromkeys(n for n in (row.name_zh, row.name) if n))
            typer.echo(f"{row.day.isoformat()}\t{row.kind}\t{row.source}\t{names}")
    if year is not None and year not in known:
        typer.echo(
            f"warning: the table has no days of {year}; Monday to Friday count as working days",
            err=True,
        )


def install(app: typer.Typer) -> None:
    """Add `calendar` to the root command."""
    app.add_typer(calendar_app, name="calendar")
