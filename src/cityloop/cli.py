"""The `cityloop` command: serve, demo, migrate, seed, users, API keys, devices, the simulator
and the SLA sweep."""

from __future__ import annotations

import contextlib
import copy
import getpass
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn

from cityloop.base.db import Database
from cityloop.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="CityLoop: the city operating platform.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
apikey_app = typer.Typer(help="Manage API keys for machine clients.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
device_app = typer.Typer(
    help="The device registry: profiles, groups, devices.", no_args_is_help=True
)
profile_app = typer.Typer(help="Device profiles (models, codecs).", no_args_is_help=True)
group_app = typer.Typer(help="Provisioning groups (one api key each).", no_args_is_help=True)
app.add_typer(device_app, name="device")
device_app.add_typer(profile_app, name="profile")
device_app.add_typer(group_app, name="group")


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
    # The access log already shows each request; httpx would repeat the demo simulator's.
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
    simulate: Annotated[
        bool, typer.Option(help="feed the demo sensor fleet's readings to the server")
    ] = True,
    simulate_rate: Annotated[
        float, typer.Option(min=0.01, max=1000, help="simulated messages per second")
    ] = 1.0,
) -> None:
    """Seed the demo city if the data dir is empty, then serve it in the foreground, with the
    sensor simulator posting gentle traffic to it over HTTP."""
    from cityloop.demo import seed as demo_seed
    from cityloop.demo.devices import seed_devices

    settings = _settings(data_dir, demo=True)
    _migrate(settings)
    db = Database(settings.resolved_database_url)
    with db.writing() as session:
        if not demo_seed.is_seeded(session):
            demo_seed.seed_city(session)
            demo_seed.seed_accounts(session)
            typer.echo("seeded the demo city; every demo account's password is 'demo'")
        # A data dir seeded before the fleet existed gets its devices now.
        seed_devices(session)
    db.dispose()
    typer.echo(f"CityLoop demo on http://{host}:{port}")
    stop = threading.Event()
    feeder = None
    if simulate:
        local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        feeder = threading.Thread(
            target=_feed_demo,
            args=(f"http://{local}:{port}", simulate_rate, stop),
            name="demo-simulator",
            daemon=True,
        )
        feeder.start()
    try:
        _run(settings, host, port)
    finally:
        stop.set()
        if feeder is not None:
            feeder.join(timeout=15)


def _feed_demo(base: str, rate: float, stop: threading.Event) -> None:
    """Wait for the server to be ready, then simulate until ``stop`` (the server has ended)."""
    import httpx

    from cityloop.demo.simulator import FleetSimulator
    from cityloop.demo.transport import HttpSender, run

    log = logging.getLogger("cityloop.demo.simulator")
    while not stop.is_set():
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        stop.wait(0.5)
    if stop.is_set():
        return
    log.info("simulating the demo sensor fleet at %s messages/s to %s", rate, base)
    summary = run(FleetSimulator(), HttpSender(base), rate=rate, stop=stop)
    log.info("simulator stopped: %s", "; ".join(summary.lines()))


@app.command()
def simulate(
    devices: Annotated[
        int, typer.Option(min=1, help="how many demo devices (all formats from 8 on)")
    ] = 60,
    rate: Annotated[
        float, typer.Option(min=0.001, max=100_000, help="messages per second, fleet-wide")
    ] = 1.0,
    mqtt_url: Annotated[
        str | None, typer.Option("--mqtt", help="publish to this broker, e.g. mqtt://host:1883")
    ] = None,
    http_url: Annotated[
        str | None, typer.Option("--http", help="post to this server, e.g. http://host:8000")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="seconds to run (default: until Ctrl-C)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="a seed makes the run repeatable")] = None,
    anomaly_rate: Annotated[
        float, typer.Option(min=0, max=10_000, help="multiplies every anomaly and fault rate")
    ] = 1.0,
) -> None:
    """Send realistic readings from the demo sensor fleet (seeded by `cityloop seed`), each
    device in its own vendor format, over MQTT or HTTP."""
    from cityloop.demo.simulator import FleetSimulator, pick_devices
    from cityloop.demo.transport import HttpSender, MqttSender, Sender, run

    if (mqtt_url is None) == (http_url is None):
        _fail("give exactly one of --mqtt URL or --http URL")
    try:
        fleet = pick_devices(devices)
        sender: Sender = MqttSender(mqtt_url) if mqtt_url else HttpSender(http_url or "")
    except (ValueError, ConnectionError) as exc:
        _fail(str(exc))
    simulator = FleetSimulator(fleet, seed=seed, anomaly_rate=anomaly_rate)
    target = mqtt_url or http_url
    typer.echo(
        f"simulating {len(fleet)} devices at {rate:g} messages/s to {target}"
        f" (seed {simulator.seed})"
    )
    stop = threading.Event()
    result: dict[str, Any] = {}

    def work() -> None:
        result["summary"] = run(simulator, sender, rate=rate, duration=duration, stop=stop)

    worker = threading.Thread(target=work, name="simulator")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        typer.echo("stopping…")
        stop.set()
        worker.join()
    summary = result["summary"]
    for line in summary.lines():
        typer.echo(line)
    if summary.sent and summary.failed == summary.sent:
        raise typer.Exit(1)


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
    from cityloop.platforms.application.identity import service
    from cityloop.platforms.application.identity.service import Actor

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


@apikey_app.command("create")
def apikey_create(
    name: str,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="open311 (the default) and/or ngsild; repeat for several"),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Create an API key; it is printed once and only its hash is kept."""
    import secrets

    from cityloop.base.problems import Problem
    from cityloop.platforms.application.identity import service
    from cityloop.platforms.application.identity.service import Actor

    settings = _settings(data_dir)
    _migrate(settings)
    key = secrets.token_urlsafe(24)
    db = Database(settings.resolved_database_url)
    try:
        with db.writing() as session:
            created = service.create_api_key(session, key, name, scopes=scope or ["open311"])
            service.audit(
                session, Actor(None, "cli", "admin"), "apikey.create", f"apikey:{created.id}"
            )
            scopes = ", ".join(created.scopes)
    except Problem as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(f"created API key {name!r} ({scopes}); keep it now, it is not shown again:")
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """List API keys (never the keys themselves)."""
    from cityloop.platforms.application.identity import service

    settings = _settings(data_dir)
    _migrate(settings)
    db = Database(settings.resolved_database_url)
    try:
        with db.read() as session:
            for key in service.list_api_keys(session):
                state = "active" if key.active else "revoked"
                typer.echo(f"{key.id}\t{key.name}\t{','.join(key.scopes or [])}\t{state}")
    finally:
        db.dispose()


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Revoke an API key by its id (see `cityloop apikey list`)."""
    from cityloop.base.problems import Problem
    from cityloop.platforms.application.identity import service
    from cityloop.platforms.application.identity.service import Actor

    settings = _settings(data_dir)
    _migrate(settings)
    db = Database(settings.resolved_database_url)
    try:
        with db.writing() as session:
            key = service.revoke_api_key(session, key_id)
            service.audit(session, Actor(None, "cli", "admin"), "apikey.revoke", f"apikey:{key.id}")
    except Problem as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(f"revoked API key {key_id}")


@app.command("sla-sweep")
def sla_sweep(data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Flag overdue and silent cases once (the server also does this on a timer)."""
    from cityloop.domains.governance import service

    settings = _settings(data_dir)
    db = Database(settings.resolved_database_url)
    with db.writing() as session:
        result = service.sweep_deadlines(session)
    db.dispose()
    typer.echo(
        f"overdue: {len(result.overdue)}, response overdue: {len(result.response_overdue)}, "
        f"no recent update: {len(result.stale)}"
    )


# ------------------------------------------------------------------ the device registry


def _fail(message: str, code: int = 2) -> Any:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _registry(data_dir: Path | None) -> Iterator[Session]:
    """One unit of work on the registry; a refused input is a one-line error, not a traceback."""
    from cityloop.base.problems import Problem

    settings = _settings(data_dir)
    _migrate(settings)
    db = Database(settings.resolved_database_url)
    try:
        with db.writing() as session:
            yield session
    except Problem as exc:
        where = f" ({exc.field})" if exc.field else ""
        _fail(f"{exc.detail}{where}")
    finally:
        db.dispose()


def _json_option(text: str | None, file: Path | None, what: str) -> dict[str, Any]:
    if text is not None and file is not None:
        _fail(f"give the {what} as text or as a file, not both")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read {file}: {exc}")
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"the {what} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(value, dict):
        _fail(f"the {what} must be a JSON object")
    return value


DataDir = Annotated[Path | None, typer.Option(help="data directory")]


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
    from cityloop.platforms.data.perception import service

    codec_config = _json_option(config, config_file, "codec configuration")
    with _registry(data_dir) as session:
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
    from cityloop.platforms.data.perception import service

    with _registry(data_dir) as session:
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
    from cityloop.platforms.data.perception import service

    with _registry(data_dir) as session:
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
    from cityloop.platforms.data.perception import service

    with _registry(data_dir) as session:
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
    from cityloop.platforms.data.perception import service

    with _registry(data_dir) as session:
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
    from cityloop.platforms.data.perception import service

    with _registry(data_dir) as session:
        rows, total = service.list_devices(session, group_id=group_id, offset=offset, limit=limit)
        for d in rows:
            state = "active" if d.active else "inactive"
            typer.echo(f"{d.device_id:<24} {d.profile_code:<20} {state:<8} {d.name}")
    typer.echo(f"{len(rows)} of {total} devices")


@device_app.command("show")
def device_show(device_id: str, data_dir: DataDir = None) -> None:
    """One device and its latest values."""
    from cityloop.platforms.data.perception import service, telemetry

    with _registry(data_dir) as session:
        d = service.get_device(session, device_id)
        typer.echo(f"device    {d.device_id}")
        typer.echo(f"entity    {d.entity_id}")
        typer.echo(f"profile   {d.profile_code} (group {d.group_id})")
        typer.echo(f"name      {d.name}")
        typer.echo(f"location  {'-' if d.lat is None else f'{d.lat}, {d.lon}'}")
        typer.echo(f"active    {'yes' if d.active else 'no'}")
        typer.echo(f"last seen {d.last_seen_at.isoformat() if d.last_seen_at else 'never'}")
        for row in telemetry.latest_values(session, d.entity_id):
            unit = f" {row.unit}" if row.unit else ""
            typer.echo(f"  {row.attribute} = {row.value!r}{unit} at {row.observed_at.isoformat()}")


@device_app.command("deactivate")
def device_deactivate(device_id: str, data_dir: DataDir = None) -> None:
    """Stop accepting a device's messages; its history stays."""
    from cityloop.platforms.data.perception import service

    with _registry(data_dir) as session:
        service.set_device_active(session, device_id, False)
    typer.echo(f"deactivated {device_id}")


@device_app.command("import")
def device_import(
    file: Annotated[Path, typer.Argument(help="CSV with device_id,apikey,name,lat,lon")],
    data_dir: DataDir = None,
) -> None:
    """Register devices from a CSV file. Bad rows are listed by line; the rest go in. Exits
    non-zero only when the file cannot be read or no row was imported."""
    from cityloop.platforms.data.perception import service

    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        _fail(f"{file} is not UTF-8 text")
    with _registry(data_dir) as session:
        result = service.import_devices_csv(session, text)
    for error in result.errors:
        typer.echo(f"line {error['row']}: {error['field']}: {error['message']}", err=True)
    typer.echo(f"imported {result.created} devices; {len(result.errors)} rows refused")
    if result.created == 0:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
