"""The ASGI application: one entrance for the staff API, citizens, Open311 and operators."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import Field
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop.base import messages, metrics, static
from cityloop.base.context import AppContext
from cityloop.base.contracts import Answer
from cityloop.base.db import Database
from cityloop.base.dispatch import install_prefix_dispatch
from cityloop.base.headers import EVERY_ANSWER, SecurityHeadersMiddleware, page_headers
from cityloop.base.limits import BodyLimitMiddleware
from cityloop.base.modules import Service
from cityloop.base.outbound import AddressPolicy, Outbound
from cityloop.base.outbox import ConsumerRegistry, load_relay, notify_relay_after_commit
from cityloop.base.outbox_wake import OutboxListener
from cityloop.base.problems import Problem, install_problem_handlers, problem_response
from cityloop.base.ratelimit import RateLimiter
from cityloop.base.scheduler import Scheduler
from cityloop.base.storage import check_storage_endpoint, presigned_origin, storage_from_url
from cityloop.modules import load_modules
from cityloop.platforms.application.geo import service as geo
from cityloop.settings import Settings


def build_context(settings: Settings) -> AppContext:
    """The shared runtime, with every package's consumers, jobs and services set up."""
    db = Database(settings.resolved_database_url, process_lock=settings.sqlite_write_lock)
    consumers = ConsumerRegistry()
    relay = load_relay(settings.relay)(db, consumers, settings)
    notify_relay_after_commit(db, relay)
    policy = AddressPolicy.from_setting(settings.outbound_allow)
    storage = storage_from_url(settings.resolved_storage_url)
    check_storage_endpoint(storage, policy)
    ctx = AppContext(
        settings=settings,
        db=db,
        storage=storage,
        consumers=consumers,
        relay=relay,
        rate_limiter=RateLimiter(settings.intake_rate_limit),
        outbound=Outbound(policy, max_redirects=settings.outbound_max_redirects),
    )
    if db.engine.dialect.name == "postgresql":
        # Commits in other processes (API, MQTT) wake this one's relay at once.
        ctx.extras["outbox_listener"] = OutboxListener(db, relay)
        ctx.services.append("outbox_listener")
    # With the database: each job runs once per period across every process that schedules it.
    scheduler = Scheduler(db)
    ctx.extras["scheduler"] = scheduler
    for module in load_modules():
        for subscribe in module.consumers:
            subscribe(consumers, ctx)
        for job in module.jobs:
            if job.when(settings):
                scheduler.every(job.every(settings), job.name, partial(job.run, ctx))
        for setup in module.setup:
            for name, service in (setup(ctx) or {}).items():
                ctx.extras[name] = service
                ctx.services.append(name)
    return ctx


# The roles a process can take (docs/scale-out.md): "all" in one process (the embedded default),
# or a scaled-out layout of API processes, "worker" processes and "mqtt" processes.
ROLES = ("all", "worker", "mqtt")
# Background services that belong to the MQTT role; a worker runs every other one.
MQTT_SERVICES = frozenset({"mqtt"})


def background_services(ctx: AppContext, role: str) -> list[Service]:
    """What a process of ``role`` runs besides HTTP, in start order: the relay and its
    consumers, the scheduler, then each package's services (the webhook dispatcher, MQTT)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    parts: list[Service] = []
    if role != "mqtt":
        parts += [ctx.relay, ctx.extras["scheduler"]]
    for name in ctx.services:
        if role == "all" or (name in MQTT_SERVICES) == (role == "mqtt"):
            parts.append(ctx.extras[name])
    return parts


INDEX_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>CityLoop</title><meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
code{background:#eef}</style></head><body><h1>CityLoop · 城市闭环</h1>
<p>Report → route → fix → verify → close, with every step visible.</p><ul>
<li><a href="/app/">Citizen app</a> · <a href="/console/">Staff console</a></li>
<li><a href="/docs">API reference (OpenAPI)</a></li>
<li><a href="/open311/v2/services.json">Open311 GeoReport v2 services</a></li>
<li><a href="/api/v1/categories">Categories</a> · <a href="/api/v1/departments">Departments</a></li>
<li><a href="/api/v1/geo/districts">Districts (GeoJSON)</a></li>
<li><a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a>
 · <a href="/metrics">/metrics</a></li>
</ul></body></html>"""


class MetricsMiddleware:
    """Request counts and latency per route, as plain ASGI: Starlette's BaseHTTPMiddleware
    costs a task group and a stream per request, which shows at a few hundred requests a second."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_and_remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_remember)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.inc(
                method=scope["method"], route=route, status=str(status["code"])
            )
            metrics.HTTP_LATENCY.observe(time.perf_counter() - started, route=route)


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """The app of a ``cityloop serve`` process: built, then its objects frozen out of the
    garbage collector's reach."""
    app = create_app(settings)
    # Everything built so far (modules, the app, the catalogue and geo caches) lives as long as
    # the process; without this every collection walks it again while a request allocates
    # (measured: 83 → 57 µs of CPU per ingested reading).
    gc.freeze()
    return app


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Services start in module order and stop in reverse; a test may swap one in extras.
        # API processes of a scaled-out layout run none (CITYLOOP_RUN_BACKGROUND=false).
        parts = background_services(ctx, "all")
        if settings.run_background:
            for part in parts:
                part.start()
        try:
            yield
        finally:
            for part in reversed(parts):
                part.stop()

    app = FastAPI(
        title="CityLoop",
        version="0.1.0",
        description="City operating platform: cases from report to close, Open311 GeoReport v2.",
        lifespan=lifespan,
        # FastAPI's own docs pages load Swagger UI and ReDoc from a CDN; /docs is ours instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.error_formatters = {}
    install_problem_handlers(app, skip_prefixes=("/open311/", "/ngsi-ld/"))

    # The last added runs first: metrics see every answer, the body limit's 413s included.
    body_rules = [
        (rule.path, rule.media_type, rule.limit(settings))
        for module in load_modules()
        for rule in module.body_limits
    ]
    app.add_middleware(BodyLimitMiddleware, rules=body_rules, default=settings.max_body_bytes)
    app.add_middleware(
        SecurityHeadersMiddleware,
        every=EVERY_ANSWER,
        pages=page_headers(settings.tile_url, presigned_origin(ctx.storage)),
        page_prefixes=FRONT_END_PATHS,
    )
    app.add_middleware(MetricsMiddleware)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        """The landing page; for everyone."""
        return HTMLResponse(INDEX_HTML)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers; for anyone, with no database check."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Readiness: the database answers a query (503 when it does not); for anyone."""
        try:
            with ctx.reading() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "database": type(exc).__name__}, status_code=503
            )
        return JSONResponse({"status": "ready", "database": ctx.db.engine.dialect.name})

    @app.get("/metrics", tags=["operations"])
    def prometheus() -> PlainTextResponse:
        """The Prometheus metrics in text format; for anyone who can reach the server."""
        return PlainTextResponse(
            metrics.REGISTRY.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    for module in load_modules():
        for router in module.routers:
            app.include_router(router)
    for module in load_modules():
        for mount in module.mounts:
            mount(app)
    install_front_ends(app, ctx)
    # Last, with every route in place: a request is matched against its prefix's routes only.
    install_prefix_dispatch(app)
    return app


# The pages a browser renders, which get a Content-Security-Policy (base/headers.py).
FRONT_END_PATHS = ("/", "/app", "/console", "/apidocs", "/assets")


class ClientConfig(Answer):
    """What the front ends need to know about this deployment."""

    city_name: str
    city_name_zh: str
    bounds: tuple[float, float, float, float] | None = Field(
        description="[min_lon, min_lat, max_lon, max_lat] of the districts"
    )
    center: tuple[float, float] | None = Field(description="[lon, lat]")
    city_domain: str
    tile_url: str | None = Field(description="a raster tile layer, when one is configured")
    tile_attribution: str
    dispute_window_hours: int
    rating_window_hours: int
    demo: bool


def install_front_ends(app: FastAPI, ctx: AppContext) -> None:
    """Serve the built citizen app at /app and the staff console at /console."""
    settings = ctx.settings
    dist = settings.resolved_static_dir

    @app.get("/api/v1/config", tags=["operations"])
    def client_config() -> ClientConfig:
        """What the front ends need to know about this deployment."""
        with ctx.reading() as session:
            bounds = geo.city_bounds(session)
        return ClientConfig(
            city_name=settings.city_name,
            city_name_zh=settings.city_name_zh,
            bounds=bounds,
            center=((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2) if bounds else None,
            city_domain=settings.city_domain,
            tile_url=settings.tile_url,
            tile_attribution=settings.tile_attribution,
            dispute_window_hours=settings.dispute_window_hours,
            rating_window_hours=settings.rating_window_hours,
            demo=settings.demo,
        )

    # The API reference is a built page too (Swagger UI from npm): nothing from a CDN.
    # /redoc is where FastAPI's users look for the other reader: it gets the same page.
    @app.get("/docs", include_in_schema=False)
    @app.get("/redoc", include_in_schema=False)
    def api_reference() -> RedirectResponse:
        """The API reference lives at /apidocs/: redirect there."""
        return RedirectResponse("/apidocs/")

    for name in ("app", "console", "apidocs"):
        if (dist / name / "index.html").exists():
            app.mount(f"/{name}", static.front_end(dist / name, hashed=False, html=True), name=name)
        else:
            _not_built(app, name)
    if (dist / "assets").exists():
        app.mount("/assets", static.front_end(dist / "assets", hashed=True), name="assets")


def _not_built(app: FastAPI, name: str) -> None:
    @app.get(f"/{name}", include_in_schema=False)
    @app.get(f"/{name}/{{path:path}}", include_in_schema=False)
    def missing(path: str = "") -> JSONResponse:
        """A 503 problem saying this front end is not built yet."""
        problem = Problem(
            503, "front-end-not-built", messages.Message("front_end_not_built", {"name": name})
        )
        return problem_response(problem)
