"""The ASGI application: one entrance for the staff API, citizens, Open311 and operators."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop.base import metrics
from cityloop.base.context import AppContext
from cityloop.base.db import Database
from cityloop.base.outbox import (
    ConsumerRegistry,
    OutboxEvent,
    load_relay,
    notify_relay_after_commit,
    prune_published,
)
from cityloop.base.problems import Problem, install_problem_handlers, problem_response
from cityloop.base.ratelimit import RateLimiter
from cityloop.base.scheduler import Scheduler
from cityloop.base.storage import storage_from_url
from cityloop.bridges import alarm_cases
from cityloop.domains.governance import service as governance
from cityloop.domains.governance.live import router as live_router
from cityloop.domains.governance.models import Case
from cityloop.domains.governance.open311.views import install_open311
from cityloop.domains.governance.views import router as cases_router
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.geo.views import router as geo_router
from cityloop.platforms.application.identity.views import router as identity_router
from cityloop.platforms.application.media.views import router as media_router
from cityloop.platforms.application.notify import service as notify
from cityloop.platforms.application.notify.channels import channel_from_url
from cityloop.platforms.application.notify.views import router as notify_router
from cityloop.platforms.application.notify.webhooks import (
    WebhookConfig,
    WebhookDispatcher,
    notify_dispatcher_after_commit,
    prune_job,
    queue_depth,
)
from cityloop.platforms.data.perception import retention, rules
from cityloop.platforms.data.perception.alarm_views import router as alarms_router
from cityloop.platforms.data.perception.ngsild import subscriptions as ngsild_subscriptions
from cityloop.platforms.data.perception.ngsild.views import install_ngsild
from cityloop.platforms.data.perception.views import router as perception_router
from cityloop.settings import Settings


def build_context(settings: Settings) -> AppContext:
    db = Database(settings.resolved_database_url)
    consumers = ConsumerRegistry()
    notify.subscribe(consumers)
    alarm_cases.subscribe(consumers)
    ngsild_subscriptions.subscribe(consumers, db, settings.ngsild_subscription_cache_seconds)
    relay = load_relay(settings.relay)(db, consumers, settings.relay_poll_seconds)
    notify_relay_after_commit(db, relay)
    ctx = AppContext(
        settings=settings,
        db=db,
        storage=storage_from_url(settings.resolved_storage_url),
        consumers=consumers,
        relay=relay,
        rate_limiter=RateLimiter(settings.intake_rate_limit),
    )
    ctx.extras["media_limiter"] = RateLimiter(settings.intake_rate_limit * 4)
    scheduler = Scheduler()
    scheduler.every(settings.scheduler_interval_seconds, "sla-sweep", lambda: sweep(ctx))
    scheduler.every(settings.nodata_interval_seconds, "nodata-sweep", lambda: nodata_sweep(ctx))
    scheduler.every(
        settings.telemetry_retention_interval_seconds,
        "telemetry-retention",
        lambda: telemetry_retention(ctx),
    )
    scheduler.every(
        settings.outbox_prune_interval_seconds,
        "outbox-prune",
        lambda: prune_published(db, timedelta(hours=settings.outbox_retention_hours)),
    )
    if settings.smtp_url:
        email = channel_from_url(settings.smtp_url)
        ctx.extras["email"] = email
        scheduler.every(
            settings.email_interval_seconds, "email", lambda: notify.send_pending(db, email)
        )
    # Outbound webhooks: sent from their own thread and event loop, woken by enqueuing commits.
    webhooks = WebhookDispatcher(db, WebhookConfig.from_settings(settings))
    notify_dispatcher_after_commit(db, webhooks)
    ctx.extras["webhooks"] = webhooks
    scheduler.every(
        settings.webhook_prune_interval_seconds, "webhook-prune", lambda: prune_job(db, settings)
    )
    ctx.extras["scheduler"] = scheduler
    if settings.mqtt_url:
        from cityloop.platforms.data.perception.mqtt import MqttIngest

        ctx.extras["mqtt"] = MqttIngest(
            ctx,
            settings.mqtt_url,
            settings.mqtt_client_id,
            # The workers of one data dir share a client id: one of them subscribes at a time.
            lock_path=settings.data_dir / f"mqtt-{settings.mqtt_client_id}.lock",
            shared_group=settings.mqtt_shared_group,
        )
    return ctx


def sweep(ctx: AppContext) -> governance.SweepResult:
    with ctx.writing() as session:
        return governance.sweep_deadlines(session)


def nodata_sweep(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return rules.sweep_nodata(session)


def telemetry_retention(ctx: AppContext) -> retention.RetentionResult:
    settings = ctx.settings
    return retention.apply_retention(
        ctx.writing,
        raw_days=settings.telemetry_retention_days,
        rollup_days=max(
            settings.telemetry_rollup_retention_days, settings.telemetry_retention_days
        ),
        batch=settings.telemetry_retention_batch,
    )


def _install_gauges(ctx: AppContext) -> None:
    def cases_by_status() -> dict[Any, float]:
        with ctx.reading() as session:
            rows = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
        return {(("status", status),): float(count) for status, count in rows}

    def outbox_pending() -> dict[Any, float]:
        with ctx.reading() as session:
            count = session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None)))
        return {(): float(count or 0)}

    def webhook_queue() -> dict[Any, float]:
        with ctx.reading() as session:
            depth = queue_depth(session)
        return {(("status", status),): float(count) for status, count in depth.items()}

    metrics.CASES_BY_STATUS.collector = cases_by_status
    metrics.WEBHOOK_QUEUE.collector = webhook_queue
    metrics.OUTBOX_PENDING.collector = outbox_pending


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


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_background:
            ctx.relay.start()
            ctx.extras["scheduler"].start()
            ctx.extras["webhooks"].start()
            if "mqtt" in ctx.extras:
                ctx.extras["mqtt"].start()
        try:
            yield
        finally:
            if "mqtt" in ctx.extras:
                ctx.extras["mqtt"].stop()
            ctx.extras["webhooks"].stop()
            ctx.extras["scheduler"].stop()
            ctx.relay.stop()

    app = FastAPI(
        title="CityLoop",
        version="0.1.0",
        description="City operating platform: cases from report to close, Open311 GeoReport v2.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.error_formatters = {}
    install_problem_handlers(app, skip_prefixes=("/open311/", "/ngsi-ld/"))
    _install_gauges(ctx)

    app.add_middleware(MetricsMiddleware)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(INDEX_HTML)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
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
        return PlainTextResponse(
            metrics.REGISTRY.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    routers = (
        identity_router,
        geo_router,
        media_router,
        cases_router,
        live_router,
        notify_router,
        perception_router,
        alarms_router,
    )
    for router in routers:
        app.include_router(router)
    install_open311(app)
    install_ngsild(app)
    install_front_ends(app, ctx)
    return app


def install_front_ends(app: FastAPI, ctx: AppContext) -> None:
    """Serve the built citizen app at /app and the staff console at /console."""
    settings = ctx.settings
    dist = settings.resolved_static_dir

    @app.get("/api/v1/config", tags=["operations"])
    def client_config() -> dict[str, Any]:
        """What the front ends need to know about this deployment."""
        with ctx.reading() as session:
            bounds = geo.city_bounds(session)
        return {
            "city_name": settings.city_name,
            "city_name_zh": settings.city_name_zh,
            "bounds": bounds,
            "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]
            if bounds
            else None,
            "city_domain": settings.city_domain,
            "tile_url": settings.tile_url,
            "tile_attribution": settings.tile_attribution,
            "dispute_window_hours": settings.dispute_window_hours,
            "rating_window_hours": settings.rating_window_hours,
            "demo": settings.demo,
        }

    for name in ("app", "console"):
        if (dist / name / "index.html").exists():
            app.mount(f"/{name}", StaticFiles(directory=dist / name, html=True), name=name)
        else:
            _not_built(app, name)
    if (dist / "assets").exists():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")


def _not_built(app: FastAPI, name: str) -> None:
    @app.get(f"/{name}", include_in_schema=False)
    @app.get(f"/{name}/{{path:path}}", include_in_schema=False)
    def missing(path: str = "") -> JSONResponse:
        problem = Problem(
            503, "front-end-not-built", f"the {name} front end is not built: run `make demo`"
        )
        return problem_response(problem)
