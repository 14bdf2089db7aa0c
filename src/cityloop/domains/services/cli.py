"""`cityloop services …`: load a catalogue from data files, list the services, sweep overdue
review steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from cityloop.base.cli import DataDir, fail, unit_of_work
from cityloop.base.problems import Problem
from cityloop.domains.services import catalogue, deadlines
from cityloop.platforms.application.credentials.cli import verify_command
from cityloop.platforms.application.identity.service import SYSTEM

services = typer.Typer(
    help="The service catalogue (办事指南) and its applications.", no_args_is_help=True
)


@services.command("load")
def load(
    files: Annotated[list[Path], typer.Argument(help="service definitions (YAML or JSON)")],
    data_dir: DataDir = None,
    note: str = "loaded from files",
) -> None:
    """Save each file's service as a new version (unchanged services keep theirs)."""
    with unit_of_work(data_dir) as session:
        for path in files:
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                fail(f"{path}: cannot read it: {exc}")
            try:
                row = catalogue.save_definition(session, raw=raw, actor=SYSTEM, note=note)
            except Problem as problem:
                fail(f"{path}: {problem.detail}")
            typer.echo(f"{row.service_code}: version {row.version}")


@services.command("list")
def list_services(data_dir: DataDir = None) -> None:
    """Every service with its version and whether it takes applications."""
    with unit_of_work(data_dir, write=False) as session:
        for service, definition in catalogue.hall(session, include_inactive=True):
            state = "open" if service.active else "closed"
            typer.echo(f"{service.code}\tv{service.current_version}\t{state}\t{definition.name_zh}")


@services.command("sweep")
def sweep(data_dir: DataDir = None) -> None:
    """Flag review steps past their time limit once (the server also does this on a timer)."""
    with unit_of_work(data_dir) as session:
        typer.echo(f"overdue steps flagged: {deadlines.sweep_overdue(session)}")


licence = typer.Typer(
    help="E-licences (电子证照): verify a presented licence.", no_args_is_help=True
)


@licence.command("verify")
def verify(
    presentation: Annotated[str, typer.Argument(help="the presentation or QR text, @file, or -")],
    cache: Annotated[
        Path | None, typer.Option(help="a trust store from `cityloop credentials fetch-trust`")
    ] = None,
    offline: Annotated[bool, typer.Option(help="use only the cache; never the network")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """Verify a licence as anyone can, offline from a cached trust store; exit 1 if refused."""
    verify_command(
        presentation, cache=cache, offline=offline,
        data_dir=data_dir, as_json=as_json,
    )  # fmt: skip


def install(app: typer.Typer) -> None:
    """Add `services` and `licence` to the root command."""
    app.add_typer(services, name="services")
    app.add_typer(licence, name="licence")
