"""Telemetry retention: numeric readings older than the retention fold into hourly rollups,
then the raw rows go; rollups older than their own retention go too.

Each chunk folds and deletes the same rows in one transaction, and folding adds to a rollup,
so running it twice or after a crash never counts a reading twice; short chunks keep SQLite's
write lock free for ingest in between.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request
from cityloop.platforms.data.perception import partitions
from cityloop.platforms.data.perception import rollups as series_rollups
from cityloop.platforms.data.perception.alarm_models import TelemetryRollup
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.telemetry import check_query_moment

DEFAULT_BATCH = 5000
MAX_ROLLUP_WINDOW = timedelta(days=400)


@dataclass
class RetentionResult:
    rolled_up: int = 0  # numeric raw rows folded into rollups
    deleted: int = 0  # raw rows deleted (numeric and text)
    partitions_dropped: int = 0  # PostgreSQL: whole months of raw rows dropped
    rollups_deleted: int = 0
    chunks: int = 0


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour a moment falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def raw_cutoff(now: datetime, days: int) -> datetime:
    """Raw readings before this moment go; whole hours, so an hour's raw rows go together."""
    return hour_of(now - timedelta(days=days))


def fold_chunk(
    session: Session, *, cutoff: datetime, batch: int = DEFAULT_BATCH
) -> tuple[int, int]:
    """Fold up to ``batch`` raw readings older than ``cutoff`` into rollups and delete them."""
    # Returns (numeric rows folded, rows deleted); (0, 0) means nothing is left to do.
    rows = session.execute(
        select(
            Measurement.id,
            Measurement.tenant,
            Measurement.device_id,
            Measurement.entity_id,
            Measurement.attribute,
            Measurement.observed_at,
            Measurement.num_value,
            Measurement.unit,
            Measurement.dataset_id,
        )
        .where(Measurement.observed_at < cutoff)
        .order_by(Measurement.id)
        .limit(batch)
    ).all()
    if not rows:
        return 0, 0
    # Keyed by tenant too: API-published entities in two tenants may share an id, and their
    # history has no device.
    buckets: dict[tuple[str, str, str, datetime], dict[str, Any]] = {}
    folded = 0
    for _id, tenant, device_id, entity_id, attribute, observed_at, value, unit, _ in rows:
        if value is None:
            continue  # text, booleans and states are not averaged; they simply age out
        folded += 1
        key = (tenant, entity_id, attribute, hour_of(observed_at))
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = {
                "device_id": device_id,
                "count": 1,
                "min": value,
                "max": value,
                "sum": value,
                "unit": unit,
            }
        else:
            bucket["count"] += 1
            bucket["min"] = min(bucket["min"], value)
            bucket["max"] = max(bucket["max"], value)
            bucket["sum"] += value
    if buckets:
        _merge(session, buckets)
    session.execute(delete(Measurement).where(Measurement.id.in_([row[0] for row in rows])))
    # The temporal rollups of the buckets these rows leave are recounted from what remains.
    series_rollups.refresh(
        session,
        touched=[series_rollups.Instance(r[1], r[3], r[4], r[8], r[5], r[6]) for r in rows],
    )
    session.flush()
    return folded, len(rows)


def _merge(session: Session, buckets: dict[tuple[str, str, str, datetime], dict[str, Any]]) -> None:
    tenants = {key[0] for key in buckets}
    entities = {key[1] for key in buckets}
    attributes = {key[2] for key in buckets}
    hours = {key[3] for key in buckets}
    existing = {
        (r.tenant, r.entity_id, r.attribute, hour_of(r.hour)): r
        for r in session.scalars(
            select(TelemetryRollup).where(
                TelemetryRollup.tenant.in_(tenants),
                TelemetryRollup.entity_id.in_(entities),
                TelemetryRollup.attribute.in_(attributes),
                TelemetryRollup.hour.in_(hours),
            )
        )
    }
    for (tenant, entity_id, attribute, hour), bucket in buckets.items():
        row = existing.get((tenant, entity_id, attribute, hour))
        if row is None:
            session.add(
                TelemetryRollup(
                    tenant=tenant,
                    entity_id=entity_id,
                    device_id=bucket["device_id"],
                    attribute=attribute,
                    hour=hour,
                    count=bucket["count"],
                    min=bucket["min"],
                    max=bucket["max"],
                    sum=bucket["sum"],
                    unit=bucket["unit"],
                )
            )
        else:
            # A late reading for an hour already folded adds to it.
            row.count += bucket["count"]
            row.min = min(row.min, bucket["min"])
            row.max = max(row.max, bucket["max"])
            row.sum += bucket["sum"]


def purge_rollups_chunk(session: Session, *, cutoff: datetime, batch: int = DEFAULT_BATCH) -> int:
    """Delete up to ``batch`` hourly rollups older than ``cutoff``; how many went."""
    ids = list(
        session.scalars(
            select(TelemetryRollup.id)
            .where(TelemetryRollup.hour < cutoff)
            .order_by(TelemetryRollup.id)
            .limit(batch)
        )
    )
    if ids:
        session.execute(delete(TelemetryRollup).where(TelemetryRollup.id.in_(ids)))
    return len(ids)


def apply_retention(
    writing: Callable[[], AbstractContextManager[Session]],
    *,
    raw_days: int,
    rollup_days: int,
    now: datetime | None = None,
    batch: int = DEFAULT_BATCH,
) -> RetentionResult:
    """Fold and purge in chunks, each in its own write transaction from ``writing``."""
    if raw_days < 1 or rollup_days < raw_days:
        raise ValueError("retention needs raw_days >= 1 and rollup_days >= raw_days")
    now = now or utcnow()
    result = RetentionResult()
    cutoff = raw_cutoff(now, raw_days)
    # PostgreSQL: whole months before the cutoff are folded and dropped a month at a time; the
    # rows left before the cutoff (the month it falls in, the default partition) go in chunks.
    while True:
        with writing() as session:
            dropped, folded, deleted = partitions.drop_months_before(session, cutoff=cutoff)
        if not dropped:
            break
        result.partitions_dropped += dropped
        result.rolled_up += folded
        result.deleted += deleted
        result.chunks += 1
    while True:
        with writing() as session:
            folded, deleted = fold_chunk(session, cutoff=cutoff, batch=batch)
        if not deleted:
            break
        result.rolled_up += folded
        result.deleted += deleted
        result.chunks += 1
    rollup_cutoff = hour_of(now - timedelta(days=rollup_days))
    while True:
        with writing() as session:
            gone = purge_rollups_chunk(session, cutoff=rollup_cutoff, batch=batch)
        if not gone:
            break
        result.rollups_deleted += gone
        result.chunks += 1
    return result


def rollups(
    session: Session,
    *,
    device_id: str,
    attribute: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Hourly figures of one attribute of one device, oldest first."""
    # Hours whose raw readings are still kept are computed from them, so the series has no gap at
    # the retention boundary.
    # Checked before any arithmetic: a date near year 1 or 9999 overflows when shifted to UTC.
    check_query_moment("since", since)
    check_query_moment("until", until)
    until = until or utcnow()
    since = since or until - timedelta(days=7)
    if since.tzinfo is None or until.tzinfo is None:
        raise bad_request(Message("perception.since_until_need_time"), field="since")
    if since >= until:
        raise bad_request(Message("perception.since_before_until"), field="since")
    if until - since > MAX_ROLLUP_WINDOW:
        raise bad_request(
            Message("perception.ask_most_days_once", {"days": str(MAX_ROLLUP_WINDOW.days)}), "since"
        )
    hours: dict[datetime, dict[str, Any]] = {}
    for row in session.scalars(
        select(TelemetryRollup).where(
            TelemetryRollup.device_id == device_id,
            TelemetryRollup.attribute == attribute,
            TelemetryRollup.hour >= hour_of(since),
            TelemetryRollup.hour < until,
        )
    ):
        hours[hour_of(row.hour)] = {
            "count": row.count,
            "min": row.min,
            "max": row.max,
            "sum": row.sum,
            "unit": row.unit,
        }
    # Raw readings are grouped by hour in the database, not read one by one into Python.
    if session.get_bind().dialect.name == "postgresql":
        hour_col = func.date_trunc("hour", func.timezone("UTC", Measurement.observed_at))
    else:  # SQLite keeps naive UTC text, "YYYY-MM-DD HH:MM:SS..."
        hour_col = func.strftime("%Y-%m-%d %H:00:00", Measurement.observed_at)
    value = Measurement.num_value
    raw = session.execute(
        select(
            hour_col,
            func.count(),
            func.min(value),
            func.max(value),
            func.sum(value),
            func.max(Measurement.unit),
        )
        .where(
            Measurement.device_id == device_id,
            Measurement.attribute == attribute,
            value.is_not(None),
            Measurement.observed_at >= hour_of(since),
            Measurement.observed_at < until,
        )
        .group_by(hour_col)
    )
    for raw_hour, count, low, high, total, unit in raw:
        if isinstance(raw_hour, str):
            raw_hour = datetime.fromisoformat(raw_hour)
        hour = raw_hour.replace(tzinfo=UTC)
        bucket = hours.get(hour)
        if bucket is None:
            hours[hour] = {"count": count, "min": low, "max": high, "sum": total, "unit": unit}
        else:
            # A late reading in an hour already folded: the rollup and the raw rows add up.
            bucket["count"] += count
            bucket["min"] = min(bucket["min"], low)
            bucket["max"] = max(bucket["max"], high)
            bucket["sum"] += total
    return [
        {"hour": hour.isoformat(), **bucket, "avg": bucket["sum"] / bucket["count"]}
        for hour, bucket in sorted(hours.items())
    ]
