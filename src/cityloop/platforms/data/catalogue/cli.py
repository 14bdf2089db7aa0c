"""`cityloop data refresh | list`: rebuild the built-in datasets now, and see the catalogue."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from cityloop.base.cli import DataDir, app_context, fail
from cityloop.platforms.data.catalogue import build
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.producers import registered

data = typer.Typer(
    help="The data catalogue (数据目录): built-in datasets and their builds.", no_args_is_help=True
)


@data.command("refresh")
def refresh(
    names: Annotated[list[str] | None, typer.Argument(help="built-in datasets to rebuild")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="rebuild every built-in dataset")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Rebuild built-in datasets now: the ones named, all with --all, else those out of date
    (marked by a change) or due by their update frequency. Exit 1 when one fails."""
    if names and everything:
        fail("name datasets or give --all, not both")
    with app_context(data_dir) as ctx:
        known = registered(ctx)
        unknown = sorted(set(names or ()) - set(known))
        if unknown:
            fail(f"no built-in dataset {', '.join(unknown)} (see `cityloop data list`)")
        if names:
            built, failed = [], []
            for name in dict.fromkeys(names):
                try:
                    build.build(ctx, name=name)
                except Exception as exc:  # reported, then the next one
                    failed.append(f"{name} ({type(exc).__name__}: {exc})")
                    continue
                built.append(name)
        else:
            built = build.refresh(ctx, everything=everything)
            with ctx.reading() as session:
                # What refresh could not build stays out of date (its error is in the log).
                failed = list(
                    session.scalars(
                        select(Dataset.name).where(
                            Dataset.producer.in_(list(known)),
                            Dataset.dirty | Dataset.refreshed_at.is_(None),
                        )
                    )
                )
        with ctx.reading() as session:
            query = select(Dataset.name, Dataset.row_count).where(Dataset.name.in_(built))
            rows: dict[str, int] = {name: count for name, count in session.execute(query)}
    for name in built:
        typer.echo(f"built {name}: {rows.get(name, 0)} rows")
    if not built and not failed:
        typer.echo("every built-in dataset is up to date")
    if failed:
        typer.echo(f"failed: {', '.join(sorted(failed))}", err=True)
        raise typer.Exit(1)


@data.command("list")
def list_datasets(data_dir: DataDir = None) -> None:
    """Every dataset of the catalogue, and the built-in ones not built yet."""
    with app_context(data_dir) as ctx:
        known = registered(ctx)
        with ctx.reading() as session:
            datasets = list(session.scalars(select(Dataset).order_by(Dataset.name)))
    listed = {d.name for d in datasets}
    for d in datasets:
        refreshed = d.refreshed_at.strftime("%Y-%m-%d %H:%M") if d.refreshed_at else "never"
        flags = " ".join(
            flag
            for flag, on in (
                ("out-of-date", d.dirty),
                ("stale", d.stale),
                ("inactive", not d.active),
            )
            if on
        )
        typer.echo(
            f"{d.name:<28} {d.sensitivity:<8} {d.source:<8} {d.row_count:>8} rows"
            f"  {refreshed:<16} {flags:<20} {d.title}"
        )
    for name in sorted(set(known) - listed):
        spec = known[name].spec
        typer.echo(f"{name:<28} {spec.sensitivity:<8} {'producer':<8} {'-':>8} rows  not built yet")


def install(app: typer.Typer) -> None:
    """Add `data` to the root command."""
    app.add_typer(data, name="data")
