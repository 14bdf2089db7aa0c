"""`cityloop device`: the device registry (profiles, provisioning groups, devices)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cityloop.base.cli import DataDir, fail, json_option, unit_of_work
from cityloop.platforms.data.perception import rollups, service, telemetry

device_app = typer.Typer(
    help="The device registry: profiles, groups, devices.", no_args_is_help=True
)
profile_app = typer.Typer(help="Device profiles (models, codecs).", no_args_is_help=True)
group_app = typer.Typer(help="Provisioning groups (one api key each).", no_args_is_help=True)
device_app.add_typer(profile_app, name="profile")
device_app.add_typer(group_app, name="group")


@profile_app.command("create")
def profile_create(
    code: str,
    name: Annotated[str, typer.Option(help="a readable name")],
    entity_type: Annotated[str, typer.Option(help="the NGSI-LD entity type, e.g. ManholeCover")],
    codec: Annotated[str, typer.Option(help="ul, json, binary or an installed plug-in")],
    config: Annotated[str | None, typer.Option(help="codec configuration as JSON text")] = None,
    config_file: Annotated[Path | None, typer.Option(help="codec configuration file")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a device profile: how a device model's payloads decode and map."""
    codec_config = json_option(config, config_file, "codec configuration")
    with unit_of_work(data_dir) as session:
        service.create_profile(
            session,
            code=code,
            name=name,
            entity_type=entity_type,
            codec=codec,
            codec_config=codec_config,
        )
    typer.echo(f"created profile {code}")


@profile_app.command("list")
def profile_list(data_dir: DataDir = None) -> None:
    """The device profiles."""
    with unit_of_work(data_dir) as session:
        for p in service.list_profiles(session):
            typer.echo(f"{p.code:<24} {p.codec:<8} {p.entity_type:<24} {p.name}")


@group_app.command("create")
def group_create(
    apikey: str,
    profile: Annotated[str, typer.Option(help="the profile code its devices use")],
    name: Annotated[str, typer.Option()] = "",
    resource: Annotated[str, typer.Option()] = "/iot/d",
    auto_provision: Annotated[
        bool, typer.Option(help="register unknown devices on their first message")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a provisioning group: devices sharing an api key and a profile."""
    with unit_of_work(data_dir) as session:
        group = service.create_group(
            session,
            apikey=apikey,
            profile_code=profile,
            resource=resource,
            auto_provision=auto_provision,
            name=name,
        )
        ident = group.id
    typer.echo(f"created group {ident} for profile {profile}")


@group_app.command("list")
def group_list(data_dir: DataDir = None) -> None:
    """The provisioning groups (api keys are shown: this is an administrator's tool)."""
    with unit_of_work(data_dir) as session:
        for g in service.list_groups(session):
            auto = " auto-provision" if g.auto_provision else ""
            typer.echo(f"{g.id:>4} {g.apikey:<28} {g.profile_code:<20} {g.name}{auto}")


@device_app.command("create")
def device_create(
    device_id: str,
    apikey: Annotated[str | None, typer.Option(help="the group's api key")] = None,
    group_id: Annotated[int | None, typer.Option(help="or the group's id")] = None,
    name: Annotated[str, typer.Option()] = "",
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    data_dir: DataDir = None,
) -> None:
    """Register one device in a group."""
    with unit_of_work(data_dir) as session:
        device = service.create_device(
            session, device_id=device_id, group_id=group_id, apikey=apikey, name=name,
            lat=lat, lon=lon,
        )  # fmt: skip
        entity = device.entity_id
    typer.echo(f"created device {device_id} ({entity})")


@device_app.command("list")
def device_list(
    group_id: Annotated[int | None, typer.Option()] = None,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    data_dir: DataDir = None,
) -> None:
    """The devices, by id."""
    with unit_of_work(data_dir) as session:
        rows, total = service.list_devices(session, group_id=group_id, offset=offset, limit=limit)
        for d in rows:
            state = "active" if d.active else "inactive"
            typer.echo(f"{d.device_id:<24} {d.profile_code:<20} {state:<8} {d.name}")
    typer.echo(f"{len(rows)} of {total} devices")


@device_app.command("show")
def device_show(device_id: str, data_dir: DataDir = None) -> None:
    """One device and its latest values."""
    with unit_of_work(data_dir) as session:
        d = service.get_device(session, device_id=device_id)
        typer.echo(f"device    {d.device_id}")
        typer.echo(f"entity    {d.entity_id}")
        typer.echo(f"profile   {d.profile_code} (group {d.group_id})")
        typer.echo(f"name      {d.name}")
        typer.echo(f"location  {'-' if d.lat is None else f'{d.lat}, {d.lon}'}")
        typer.echo(f"active    {'yes' if d.active else 'no'}")
        typer.echo(f"last seen {d.last_seen_at.isoformat() if d.last_seen_at else 'never'}")
        for row in telemetry.latest_values(session, entity_id=d.entity_id):
            unit = f" {row.unit}" if row.unit else ""
            typer.echo(f"  {row.attribute} = {row.value!r}{unit} at {row.observed_at.isoformat()}")


@device_app.command("deactivate")
def device_deactivate(device_id: str, data_dir: DataDir = None) -> None:
    """Stop accepting a device's messages; its history stays."""
    with unit_of_work(data_dir) as session:
        service.set_device_active(session, device_id=device_id, active=False)
    typer.echo(f"deactivated {device_id}")


@device_app.command("import")
def device_import(
    file: Annotated[Path, typer.Argument(help="CSV with device_id,apikey,name,lat,lon")],
    data_dir: DataDir = None,
) -> None:
    """Register devices from a CSV file. Bad rows are listed by line; the rest go in. Exits
    non-zero only when the file cannot be read or no row was imported."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
    with unit_of_work(data_dir) as session:
        result = service.import_devices_csv(session, text=text)
    for error in result.errors:
        typer.echo(f"line {error['row']}: {error['field']}: {error['message']}", err=True)
    typer.echo(f"imported {result.created} devices; {len(result.errors)} rows refused")
    if result.created == 0:
        raise typer.Exit(1)


@device_app.command("rebuild-rollups")
def device_rebuild_rollups(data_dir: DataDir = None) -> None:
    """Rebuild the temporal rollups (per minute and hour) from the stored history: once after
    upgrading to them, or to repair them."""
    with unit_of_work(data_dir) as session:
        written = rollups.rebuild(session)
    typer.echo(f"rebuilt {written} minute buckets and their hours")


def install(app: typer.Typer) -> None:
    """Add `device` to the root command."""
    app.add_typer(device_app, name="device")
