"""The history store by month: on PostgreSQL each month is a partition that a scheduled job
creates ahead and retention drops whole; on SQLite the same calls keep the same figures."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import func, select, text

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception import partitions, retention
from cityloop.platforms.data.perception.alarm_models import TelemetryRollup
from cityloop.platforms.data.perception.models import Measurement, MeasurementRollup
from cityloop.platforms.data.perception.rollups import epoch_of
from tests.support.city import City
from tests.support.perception import add_device, fleet, send


def _partition_of(city: City, moment_sql: str) -> str | None:
    with city.ctx.reading() as session:
        return session.execute(
            text(
                "SELECT tableoid::regclass::text FROM measurements "
                f"WHERE observed_at = {moment_sql} LIMIT 1"
            )
        ).scalar()


def test_the_job_creates_the_months_ahead_once(city: City) -> None:
    now = utcnow()
    with city.ctx.writing() as session:
        partitions.ensure_months(session, now=now)
    with city.ctx.writing() as session:
        again = partitions.ensure_months(session, now=now)
        held = partitions.months(session) if partitions.partitioned(session) else []
    assert again == []
    if city.ctx.db.is_sqlite:
        return  # one table, nothing to create
    wanted = [partitions.month_of(now)]
    for _ in range(partitions.MONTHS_AHEAD):
        wanted.append(partitions.month_after(wanted[-1]))
    assert set(wanted) <= {month.start for month in held}


def test_a_month_created_late_takes_its_rows_from_the_default_partition(city: City) -> None:
    _, apikey = fleet(city)
    device = add_device(city, apikey)
    moment = (utcnow() - timedelta(days=400)).replace(microsecond=0)
    send(city, apikey, device, f"{moment.isoformat()}|level|4")
    with city.ctx.writing() as session:
        created = partitions.ensure_months(session, now=moment, ahead=0)
    if city.ctx.db.is_sqlite:
        assert created == []
        return
    month = partitions.Month(partitions.month_of(moment))
    assert created == [month.name]
    where = f"'{moment.isoformat()}'::timestamptz"
    assert _partition_of(city, where) == f"{partitions.SCHEMA}.{month.name}"


def test_retention_drops_whole_months_after_folding_them(city: City) -> None:
    _, apikey = fleet(city)
    device = add_device(city, apikey)
    month = partitions.month_of(utcnow() - timedelta(days=200))
    first = month + timedelta(days=3, hours=5)
    for minutes, level in ((0, 1), (10, 2), (20, 3.5), (65, 5)):
        at = first + timedelta(minutes=minutes)
        send(city, apikey, device, f"{at.isoformat()}|level|{level}|state|ok")
    with city.ctx.writing() as session:
        partitions.ensure_months(session, now=month, ahead=0)
        buckets = session.scalar(
            select(func.count()).where(
                MeasurementRollup.entity_id.like(f"%{device}"),
                MeasurementRollup.bucket >= epoch_of(month),
            )
        )
    assert buckets  # the temporal rollups of these readings, kept on write

    result = retention.apply_retention(city.ctx.writing, raw_days=90, rollup_days=730)

    with city.ctx.reading() as session:
        left = session.scalar(select(func.count()).where(Measurement.device_id == device))
        figures = session.execute(
            select(TelemetryRollup.hour, TelemetryRollup.count, TelemetryRollup.sum)
            .where(TelemetryRollup.device_id == device)
            .order_by(TelemetryRollup.hour)
        ).all()
        buckets = session.scalar(
            select(func.count()).where(MeasurementRollup.entity_id.like(f"%{device}"))
        )
        names = [m.name for m in partitions.months(session)] if not city.ctx.db.is_sqlite else []
    assert left == 0 and buckets == 0
    hour = first.replace(minute=0)
    assert [(h.astimezone(UTC), c, s) for h, c, s in figures] == [
        (hour, 3, 6.5),
        (hour + timedelta(hours=1), 1, 5.0),
    ]
    assert result.deleted >= 8 and result.rolled_up >= 4
    if not city.ctx.db.is_sqlite:
        assert result.partitions_dropped >= 1
        assert partitions.Month(month).name not in names
