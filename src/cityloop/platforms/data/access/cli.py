"""`cityloop datalog verify | checkpoint`: check the access log's hash chain and signatures, and
sign its newest link."""

from __future__ import annotations

import typer

from cityloop.base.cli import DataDir, settings_for, unit_of_work
from cityloop.platforms.application.credentials.keys import KeyVault
from cityloop.platforms.data.access import chain

datalog = typer.Typer(
    help="The access log (数据访问记录): its tamper-evident chain.", no_args_is_help=True
)


@datalog.command("verify")
def verify(data_dir: DataDir = None) -> None:
    """Walk the whole chain and its signed checkpoints; exit 1 naming the first broken entry."""
    with unit_of_work(data_dir, write=False) as session:
        report = chain.verify(session)
    if not report.intact:
        typer.echo(f"broken at entry {report.broken_at}: {report.reason}")
        raise typer.Exit(1)
    typer.echo(f"intact: {report.entries} entries, {report.checkpoints} signed checkpoints")


@datalog.command("checkpoint")
def checkpoint(data_dir: DataDir = None) -> None:
    """Sign the chain's newest link now (the server also does this on a timer)."""
    vault = KeyVault(settings_for(data_dir).resolved_secret_key)
    with unit_of_work(data_dir) as session:
        row = chain.checkpoint(session, vault=vault)
        text = f"signed up to entry {row.upto_id}" if row else "nothing new to sign"
    typer.echo(text)


def install(app: typer.Typer) -> None:
    """Add `datalog` to the root command."""
    app.add_typer(datalog, name="datalog")
