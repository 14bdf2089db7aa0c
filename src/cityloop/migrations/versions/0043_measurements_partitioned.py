"""On PostgreSQL, the history store (measurements) partitioned by month of observed_at

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06 17:40:00

SQLite is unchanged. On PostgreSQL the table is rebuilt as a range-partitioned table with the
same columns, constraints and indexes (the primary key gains observed_at, which a partitioned
table's unique keys must hold), one partition per month that holds rows, the current month and
the next ones, and a default partition for anything else; the rows are copied over. Partitions
live in their own schema so the application schema lists only the tables the models declare.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain SQL and names here: a migration must not follow later changes of the code
# (perception.partitions creates the months ahead from now on, with the same names).
SCHEMA = "measurement_partitions"
MONTHS_AHEAD = 3


def _month_after(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _create_month(month: datetime) -> None:
    name = f"{SCHEMA}.measurements_{month:%Y_%m}"
    op.execute(
        f"CREATE TABLE {name} PARTITION OF measurements "
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_month_after(month).isoformat()}')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE measurements RENAME TO measurements_unpartitioned")
    for old, new in (
        ("pk_measurements", "pk_measurements_unpartitioned"),
        ("uq_measurements_tenant", "uq_measurements_unpartitioned_tenant"),
    ):
        op.execute(f"ALTER TABLE measurements_unpartitioned RENAME CONSTRAINT {old} TO {new}")
    for index in ("ix_measurements_observed_at", "ix_measurements_device_time"):
        op.execute(f"ALTER INDEX {index} RENAME TO {index}_unpartitioned")
    op.execute(
        "CREATE TABLE measurements (LIKE measurements_unpartitioned INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (observed_at)"
    )
    op.execute(
        "ALTER TABLE measurements ADD CONSTRAINT pk_measurements PRIMARY KEY (id, observed_at)"
    )
    op.execute(
        "ALTER TABLE measurements ADD CONSTRAINT uq_measurements_tenant "
        "UNIQUE (tenant, entity_id, attribute, observed_at, dataset_id)"
    )
    op.execute("CREATE INDEX ix_measurements_observed_at ON measurements (observed_at)")
    op.execute("CREATE INDEX ix_measurements_device_time ON measurements (device_id, observed_at)")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute(f"CREATE TABLE {SCHEMA}.measurements_default PARTITION OF measurements DEFAULT")
    now = datetime.now(UTC)
    current = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = {current}
    for _ in range(MONTHS_AHEAD):
        months.add(_month_after(max(months)))
    held = op.get_bind().execute(
        text(
            "SELECT DISTINCT date_trunc('month', observed_at AT TIME ZONE 'UTC') "
            "FROM measurements_unpartitioned"
        )
    )
    months |= {month.replace(tzinfo=UTC) for (month,) in held if 1970 <= month.year <= 9000}
    for month in sorted(months):
        _create_month(month)
    op.execute("INSERT INTO measurements SELECT * FROM measurements_unpartitioned")
    op.execute("ALTER SEQUENCE measurements_id_seq OWNED BY measurements.id")
    op.execute("DROP TABLE measurements_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE measurements RENAME TO measurements_partitioned")
    op.execute("ALTER TABLE measurements_partitioned RENAME CONSTRAINT pk_measurements TO pk_mp")
    op.execute(
        "ALTER TABLE measurements_partitioned RENAME CONSTRAINT uq_measurements_tenant TO uq_mp"
    )
    for index in ("ix_measurements_observed_at", "ix_measurements_device_time"):
        op.execute(f"ALTER INDEX {index} RENAME TO {index}_partitioned")
    op.execute("CREATE TABLE measurements (LIKE measurements_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER TABLE measurements ADD CONSTRAINT pk_measurements PRIMARY KEY (id)")
    op.execute(
        "ALTER TABLE measurements ADD CONSTRAINT uq_measurements_tenant "
        "UNIQUE (tenant, entity_id, attribute, observed_at, dataset_id)"
    )
    op.execute("CREATE INDEX ix_measurements_observed_at ON measurements (observed_at)")
    op.execute("CREATE INDEX ix_measurements_device_time ON measurements (device_id, observed_at)")
    op.execute("INSERT INTO measurements SELECT * FROM measurements_partitioned")
    op.execute("ALTER SEQUENCE measurements_id_seq OWNED BY measurements.id")
    op.execute("DROP TABLE measurements_partitioned")
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
