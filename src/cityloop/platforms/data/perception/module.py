"""Perception: devices, codecs, ingest (HTTP and MQTT), telemetry, rules and alarms, and the
NGSI-LD context broker."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.db import utcnow
from cityloop.base.limits import MULTIPART_OVERHEAD, BodyLimit
from cityloop.base.modules import Module, ScheduledJob, Service
from cityloop.base.outbox import ConsumerRegistry
from cityloop.base.ratelimit import RateLimiter
from cityloop.platforms.data.perception import cli, datasets, partitions, retention, rule_evaluation
from cityloop.platforms.data.perception.alarm_models import (
    Alarm,
    AlarmRule,
    RuleState,
    TelemetryRollup,
)
from cityloop.platforms.data.perception.alarm_views import router as alarms_router
from cityloop.platforms.data.perception.models import (
    Device,
    DeviceProfile,
    LatestValue,
    Measurement,
    MeasurementRollup,
    ProvisioningGroup,
)
from cityloop.platforms.data.perception.ngsild import expiry, notifier, subscription_periodic
from cityloop.platforms.data.perception.ngsild.models import (
    NgsiContext,
    NgsiEntity,
    NgsiSubscription,
    NgsiTenant,
)
from cityloop.platforms.data.perception.ngsild.views import CONTEXT_FETCH_LIMITER, install_ngsild
from cityloop.platforms.data.perception.views import (
    BASE,
    MAX_BATCH_BYTES,
    MAX_CSV_BYTES,
    MAX_MEASURE_BYTES,
)
from cityloop.platforms.data.perception.views import router as devices_router


def _ngsild_subscriptions(consumers: ConsumerRegistry, ctx: AppContext) -> None:
    notifier.subscribe(
        consumers, ctx.db, ctx.settings.ngsild_subscription_cache_seconds, ctx.outbound
    )


def _ngsild_periodic(ctx: AppContext) -> int:
    # It runs every second: on SQLite a write unit takes the one write lock, so look first.
    with ctx.reading() as session:
        if not subscription_periodic.has_periodic(session):
            return 0
    with ctx.writing() as session:
        return subscription_periodic.send_periodic(
            session, delivery=notifier.Delivery(ctx.db, ctx.outbound)
        )


def _context_fetch_limit(ctx: AppContext) -> None:
    # Callers without credentials may make the server fetch @context URLs: a few a minute.
    ctx.extras[CONTEXT_FETCH_LIMITER] = RateLimiter(
        ctx.settings.ngsild_anonymous_context_fetches, what="@context fetches"
    )


def _nodata_sweep(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return rule_evaluation.sweep_nodata(session)


def _ngsild_expiry(ctx: AppContext) -> int:
    with ctx.writing() as session:
        return expiry.sweep_expired(session)


def _retention(ctx: AppContext) -> retention.RetentionResult:
    settings = ctx.settings
    return retention.apply_retention(
        ctx.writing,
        raw_days=settings.telemetry_retention_days,
        rollup_days=max(
            settings.telemetry_rollup_retention_days, settings.telemetry_retention_days
        ),
        batch=settings.telemetry_retention_batch,
    )


def _partitions(ctx: AppContext) -> list[str]:
    with ctx.writing() as session:
        return partitions.ensure_months(session, now=utcnow())


def _mqtt(ctx: AppContext) -> dict[str, Service] | None:
    settings = ctx.settings
    if not settings.mqtt_url:
        return None
    from cityloop.platforms.data.perception.mqtt import MqttIngest

    ingest = MqttIngest(
        ctx,
        settings.mqtt_url,
        settings.mqtt_client_id,
        # The workers of one data dir share a client id: one of them subscribes at a time.
        lock_path=settings.data_dir / f"mqtt-{settings.mqtt_client_id}.lock",
        shared_group=settings.mqtt_shared_group,
    )
    return {"mqtt": ingest}


MODULE = Module(
    name="perception",
    models=(
        DeviceProfile,
        ProvisioningGroup,
        Device,
        Measurement,
        MeasurementRollup,
        LatestValue,
        AlarmRule,
        Alarm,
        RuleState,
        TelemetryRollup,
        NgsiTenant,
        NgsiEntity,
        NgsiContext,
        NgsiSubscription,
    ),
    routers=(devices_router, alarms_router),
    mounts=(install_ngsild,),
    consumers=(_ngsild_subscriptions,),
    jobs=(
        ScheduledJob("nodata-sweep", lambda s: s.nodata_interval_seconds, _nodata_sweep),
        ScheduledJob("ngsild-expiry", lambda s: s.ngsild_expiry_sweep_seconds, _ngsild_expiry),
        ScheduledJob(
            "telemetry-retention", lambda s: s.telemetry_retention_interval_seconds, _retention
        ),
        # PostgreSQL: the history's months ahead exist before readings arrive for them.
        ScheduledJob(
            "telemetry-partitions", lambda s: s.telemetry_retention_interval_seconds, _partitions
        ),
        # Checks every second which periodic subscriptions (timeInterval) are due.
        ScheduledJob("ngsild-periodic-notifications", lambda s: 1.0, _ngsild_periodic),
    ),
    setup=(_context_fetch_limit, _mqtt, datasets.register_datasets),
    commands=(cli.install,),
    body_limits=(
        BodyLimit("/ngsi-ld/.*", lambda s: s.ngsild_max_body_bytes),
        BodyLimit(BASE + "/measures", lambda s: MAX_BATCH_BYTES),
        BodyLimit(BASE + "/devices/import", lambda s: MAX_CSV_BYTES + MULTIPART_OVERHEAD),
        BodyLimit("/iot/d", lambda s: MAX_MEASURE_BYTES),
    ),
)
