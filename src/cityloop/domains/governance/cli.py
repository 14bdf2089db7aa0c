"""`cityloop sla-sweep`: flag overdue and silent cases once."""

from __future__ import annotations

import typer

from cityloop.base.cli import DataDir, unit_of_work
from cityloop.domains.governance import sla


def sla_sweep(data_dir: DataDir = None) -> None:
    """Flag overdue and silent cases once (the server also does this on a timer)."""
    with unit_of_work(data_dir) as session:
        result = sla.sweep_deadlines(session)
        summary = (
            f"overdue: {len(result.overdue)}, response overdue: {len(result.response_overdue)}, "
            f"no recent update: {len(result.stale)}"
        )
    typer.echo(summary)


def install(app: typer.Typer) -> None:
    """Add `sla-sweep` to the root command."""
    app.command("sla-sweep")(sla_sweep)
