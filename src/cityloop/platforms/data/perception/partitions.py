"""The history store's monthly partitions on PostgreSQL (migration 0043); nothing on SQLite.

A scheduled job creates the months ahead, so readings land in their own month; anything
outside the months created (a device clock years off, an NGSI-LD instance dated long ago) lands
in the default partition, and moves into its month when that month is created. Retention
drops whole months older than its cutoff after folding them into the rollups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, column, delete, func, select, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.alarm_models import TelemetryRollup
from cityloop.platforms.data.perception.models import MeasurementRollup
from cityloop.platforms.data.perception.rollups import epoch_of

SCHEMA = "measurement_partitions"
DEFAULT = "measurements_default"
MONTHS_AHEAD = 3
_NAME = re.compile(r"^measurements_(\d{4})_(\d{2})$")


@dataclass(frozen=True, slots=True)
class Month:
    """One monthly partition: its table name and its range [start, end)."""

    start: datetime

    @property
    def end(self) -> datetime:
        return month_after(self.start)

    @property
    def name(self) -> str:
        return f"measurements_{self.start:%Y_%m}"


def month_of(moment: datetime) -> datetime:
    """The start of the UTC month a moment falls in."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_after(month: datetime) -> datetime:
    """The start of the next month."""
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partitioned(session: Session) -> bool:
    """Whether this store's history is partitioned (PostgreSQL after migration 0043)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass('measurements')")
    ).scalar()
    return kind == "p"


def months(session: Session) -> list[Month]:
    """The monthly partitions there are, oldest first."""
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'measurements'::regclass"
        )
    ).scalars()
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(Month(datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda month: month.start)


def ensure_months(session: Session, *, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions of this month and the next ``ahead`` that are missing; the names
    created. Rows the default partition holds for such a month move into it."""
    if not partitioned(session):
        return []
    have = {month.start for month in months(session)}
    wanted = [month_of(now)]
    for _ in range(ahead):
        wanted.append(month_after(wanted[-1]))
    created = []
    connection = session.connection()
    for start in wanted:
        if start not in have:
            create_month(connection, Month(start))
            created.append(Month(start).name)
    return created


def create_month(connection: Connection, month: Month) -> None:
    """A month's partition, built beside the table and attached, taking over its rows from
    the default partition (which may not hold rows of an attached month)."""
    name, bounds = f"{SCHEMA}.{month.name}", {"start": month.start, "end": month.end}
    connection.exec_driver_sql(f"CREATE TABLE {name} (LIKE measurements INCLUDING DEFAULTS)")
    in_month = "observed_at >= %(start)s AND observed_at < %(end)s"
    connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {SCHEMA}.{DEFAULT} WHERE {in_month} RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        bounds,
    )
    connection.exec_driver_sql(
        f"ALTER TABLE measurements ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
    )


def drop_months_before(session: Session, *, cutoff: datetime) -> tuple[int, int, int]:
    """Fold every month that ends by ``cutoff`` into the hourly rollups and drop it, one month
    at a time; (months dropped, numeric rows folded, rows dropped)."""
    # The caller commits after each call: it drops one month, the oldest.
    if not partitioned(session):
        return 0, 0, 0
    for month in months(session):
        if month.end > cutoff:
            break
        folded, rows = _fold_and_drop(session, month)
        return 1, folded, rows
    return 0, 0, 0


def _fold_and_drop(session: Session, month: Month) -> tuple[int, int]:
    """As ``retention.fold_chunk`` does row by row, for a whole month in a few statements."""
    part = table(
        month.name,
        column("tenant"),
        column("entity_id"),
        column("device_id"),
        column("attribute"),
        column("observed_at"),
        column("num_value"),
        column("unit"),
        schema=SCHEMA,
    )
    c = part.c
    rows = session.execute(select(func.count()).select_from(part)).scalar_one()
    hour = func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", c.observed_at)))
    source = (
        select(
            c.tenant,
            c.entity_id,
            func.min(c.device_id),
            c.attribute,
            hour,
            func.count(),
            func.min(c.num_value),
            func.max(c.num_value),
            func.sum(c.num_value),
            func.max(c.unit),
        )
        .where(c.num_value.is_not(None))
        .group_by(c.tenant, c.entity_id, c.attribute, hour)
    )
    names = ["tenant", "entity_id", "device_id", "attribute", "hour", "count", "min", "max", "sum"]
    statement = postgresql.insert(TelemetryRollup).from_select([*names, "unit"], source)
    r, new = TelemetryRollup.__table__.c, statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["tenant", "entity_id", "attribute", "hour"],
        set_={
            # A late reading for an hour already folded adds to it.
            "count": r.count + new.count,
            "min": func.least(r.min, new.min),
            "max": func.greatest(r.max, new.max),
            "sum": r.sum + new.sum,
        },
    )
    folded = session.execute(
        select(func.count()).select_from(part).where(c.num_value.is_not(None))
    ).scalar_one()
    session.execute(statement)
    # The temporal rollups of the month's buckets go with its instances (months start on whole
    # hours, so no bucket straddles two months).
    session.execute(
        delete(MeasurementRollup).where(
            MeasurementRollup.bucket >= epoch_of(month.start),
            MeasurementRollup.bucket < epoch_of(month.end),
        )
    )
    session.execute(text(f"DROP TABLE {SCHEMA}.{month.name}"))
    return int(folded), int(rows)
