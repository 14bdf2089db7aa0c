"""The `cityloop` command: serve, worker, mqtt, demo, migrate, seed and the simulator here;
each package adds its own commands (users, API keys, devices, the SLA sweep) through its
module declaration."""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn

from cityloop.base.cli import DataDir, fail, migrate_database, provide_context, settings_for
from cityloop.base.db import Database
from cityloop.modules import load_modules
from cityloop.settings import Settings

if TYPE_CHECKING:
    from cityloop.base.context import AppContext

app = typer.Typer(help="CityLoop: the city operating platform.", no_args_is_help=True)


def _context(settings: Settings) -> AppContext:
    from cityloop.app import build_context

    return build_context(settings)


# Commands that run a package's jobs (`cityloop data refresh`) get the assembled context.
provide_context(_context)


def _build_catalogue(settings: Settings, *, everything: bool) -> list[str]:
    """Build the built-in datasets (all, or those never built or due), so a freshly seeded
    city's open-data catalogue is there before the server's first refresh job; their names."""
    from cityloop.platforms.data.catalogue import build

    ctx = _context(settings)
    try:
        return build.refresh(ctx, everything=everything)
    finally:
        ctx.db.dispose()


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the database schema up to date."""
    settings = settings_for(data_dir)
    migrate_database(settings)
    typer.echo(f"database is up to date: {settings.resolved_database_url.split('@')[-1]}")


@app.command()
def seed(
    data_dir: DataDir = None,
    accounts: Annotated[bool, typer.Option(help="also create the demo accounts")] = False,
    city_dir: Annotated[
        Path | None,
        typer.Option(
            help="a city folder to load instead of the demo city Riverton (see docs/demo-city.md)",
            file_okay=False,
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option(help="only check the city folder; write nothing to the database")
    ] = False,
) -> None:
    """Load a city's map, departments, categories, routing, SLA targets and services: the demo city
    Riverton (with its sensor fleet), or the city folder given with --city-dir."""
    from cityloop.demo import seed as demo
    from cityloop.demo.city import CityDataError, build_demo_city, load_city

    # Check the whole folder before the database is touched: a half-loaded city is worse
    # than none.
    try:
        city = load_city(city_dir) if city_dir else build_demo_city()
    except CityDataError as exc:
        fail(str(exc))
    levels = Counter(j.level for j in city.jurisdictions)
    summary = (
        f"{city.name} ({city.name_zh}): districts {levels['district']},"
        f" streets {levels['street']}, grid cells {levels['grid']},"
        f" departments {len(city.departments)}, categories {len(city.categories)},"
        f" services {len(city.services)}"
    )
    if check:
        typer.echo(f"{summary}; the folder is fine (nothing written)")
        return
    settings = settings_for(data_dir)
    migrate_database(settings)
    db = Database(settings.resolved_database_url, process_lock=settings.sqlite_write_lock)
    with db.writing() as session:
        demo.seed_city(session, city, fleet=city_dir is None)
        if accounts:
            demo.seed_accounts(session, city)
    db.dispose()
    built = _build_catalogue(settings, everything=True)
    if city_dir is None:
        typer.echo("demo city loaded")
        typer.echo(f"datasets built: {len(built)}")
        return
    typer.echo(f"{summary}; loaded")
    typer.echo(f"datasets built: {len(built)}")
    # The server takes its name and Open311 jurisdiction from settings, not from the database.
    differing = [
        f"CITYLOOP_{key.upper()}={wanted}"
        for key, wanted, now in (
            ("city_domain", city.domain, settings.city_domain),
            ("city_name", city.name, settings.city_name),
            ("city_name_zh", city.name_zh, settings.city_name_zh),
        )
        if wanted != now
    ]
    if differing:
        typer.echo(f"note: to serve this city under its own name, set {' '.join(differing)}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=(
                "worker processes; default one per core on PostgreSQL, and 1 on SQLite, whose "
                "single writer lets a second process add reads but not intake "
                "(docs/operations.md)"
            ),
        ),
    ] = None,
    background: Annotated[
        bool,
        typer.Option(
            help="also run the relay, the consumers, the scheduler and the background services;"
            " --no-background for the API processes of a scaled-out layout (docs/scale-out.md)"
        ),
    ] = True,
) -> None:
    """Serve the platform (migrates first)."""
    settings = settings_for(data_dir, **({} if background else {"run_background": False}))
    migrate_database(settings)
    _run(settings, host, port, workers or default_workers(settings))


def default_workers(settings: Settings) -> int:
    """One worker per core on a server database; one process on SQLite (see ``serve``)."""
    # SQLite: the processes take the one writer in turn (base/write_lock.py), so a second adds
    # reads but no intake, whose rate fell with two (docs/operations.md); each also runs its own
    # relay and scheduler, which take that writer too. An operator who wants the reads passes
    # --workers 2.
    if settings.resolved_database_url.startswith("sqlite"):
        return 1
    return os.cpu_count() or 1


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run the event relay and its consumers, the scheduler and the webhook dispatcher, with no
    HTTP; on PostgreSQL any number may run at once (migrates first)."""
    settings = settings_for(data_dir, run_background=True)
    migrate_database(settings)
    _run_role(settings, "worker")


@app.command()
def mqtt(
    data_dir: DataDir = None,
    instance: Annotated[
        str | None,
        typer.Option(
            help="this subscriber's name, unique among the MQTT processes (default: the host"
            " name); its client id is CITYLOOP_MQTT_CLIENT_ID-<instance>"
        ),
    ] = None,
) -> None:
    """Run the MQTT subscriber alone. Every `cityloop mqtt` process joins one shared
    subscription (CITYLOOP_MQTT_SHARED_GROUP, default "cityloop"): the broker splits the device
    messages between them and each is stored once (migrates first)."""
    import socket

    settings = settings_for(data_dir, run_background=True)
    if not settings.mqtt_url:
        fail("set CITYLOOP_MQTT_URL to the broker, e.g. mqtt://broker:1883")
    settings.mqtt_client_id = f"{settings.mqtt_client_id}-{instance or socket.gethostname()}"
    settings.mqtt_shared_group = settings.mqtt_shared_group or "cityloop"
    migrate_database(settings)
    _run_role(settings, "mqtt")


def _run_role(settings: Settings, role: str) -> None:
    """Run the background services of ``role`` until SIGTERM or Ctrl-C, then stop them in
    order (the MQTT writer stores and acknowledges what it holds, the relay settles its
    batch)."""
    import signal

    from cityloop.app import background_services

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx = _context(settings)
    parts = background_services(ctx, role)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for part in parts:
            part.start()
        names = ", ".join(type(part).__name__ for part in parts)
        logging.getLogger("cityloop").info("cityloop %s running: %s", role, names)
        typer.echo(f"cityloop {role} running: {names}")
        while not stop.wait(1.0):
            pass
    finally:
        for part in reversed(parts):
            part.stop()
        ctx.db.dispose()


class RedactTokens(logging.Filter):
    """Keep access tokens (the live feed takes one in its URL) out of the access log."""

    PATTERN = re.compile(r"(access_token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "access_token=" in arg for arg in record.args
        ):
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


WORKER_HEALTHCHECK_SECONDS = 120


def _run(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    from cityloop.app import create_served_app

    if "public_base_url" not in settings.model_fields_set:
        # Links in answers name the address served here, unless the operator set a public one.
        local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        local = f"[{local}]" if ":" in local else local
        settings.public_base_url = f"http://{local}:{port}"

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The access log already shows each request; httpx would repeat the demo simulator's.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if workers > 1:
        # Each worker builds its own app from the environment.
        os.environ["CITYLOOP_DATA_DIR"] = str(settings.data_dir)
        os.environ["CITYLOOP_PUBLIC_BASE_URL"] = settings.public_base_url
        os.environ["CITYLOOP_RUN_BACKGROUND"] = "true" if settings.run_background else "false"
        uvicorn.run(
            "cityloop.app:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=log_config(),
            access_log=settings.access_log,
            # uvicorn kills a worker that has not answered its supervisor's ping within this
            # (5 s by default): on a loaded machine a worker still importing the app missed it,
            # and was killed and restarted forever.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    else:
        uvicorn.run(
            create_served_app(settings),
            host=host,
            port=port,
            log_config=log_config(),
            access_log=settings.access_log,
        )


@app.command()
def demo(
    port: Annotated[int, typer.Option()] = 8000,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    data_dir: DataDir = None,
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

    settings = settings_for(data_dir, demo=True)
    migrate_database(settings)
    db = Database(settings.resolved_database_url, process_lock=settings.sqlite_write_lock)
    with db.writing() as session:
        if not demo_seed.is_seeded(session):
            demo_seed.seed_city(session)
            demo_seed.seed_accounts(session)
            typer.echo("seeded the demo city; every demo account's password is 'demo'")
        # A data dir seeded before the fleet existed gets its devices now.
        seed_devices(session)
    db.dispose()
    # Datasets never built (a new data dir) or due are built before the server starts.
    built = _build_catalogue(settings, everything=False)
    if built:
        typer.echo(f"datasets built: {len(built)}")
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
        fail("give exactly one of --mqtt URL or --http URL")
    try:
        fleet = pick_devices(devices)
        sender: Sender = MqttSender(mqtt_url) if mqtt_url else HttpSender(http_url or "")
    except (ValueError, ConnectionError) as exc:
        fail(str(exc))
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


for module in load_modules():
    for install in module.commands:
        install(app)


if __name__ == "__main__":
    app()
