"""Per-minute and per-hour rollups of each temporal series, kept on write for aggregations

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The history already stored, rolled up as perception.rollups.rebuild does (plain SQL here: a
# migration must not follow later changes of the models).
_MINUTES = """
INSERT INTO measurement_rollups
    (tenant, entity_id, attribute, width, bucket, dataset_id, count, numbers, sum, sumsq, min, max)
SELECT tenant, entity_id, attribute, 60, e - ((e % 60) + 60) % 60, dataset_id, count(*),
    count(num_value), coalesce(sum(num_value), 0), coalesce(sum(num_value * num_value), 0),
    min(num_value), max(num_value)
FROM (SELECT *, {epoch} AS e FROM measurements) AS m
GROUP BY tenant, entity_id, attribute, e - ((e % 60) + 60) % 60, dataset_id
"""
_HOURS = """
INSERT INTO measurement_rollups
    (tenant, entity_id, attribute, width, bucket, dataset_id, count, numbers, sum, sumsq, min, max)
SELECT tenant, entity_id, attribute, 3600, bucket - ((bucket % 3600) + 3600) % 3600, dataset_id,
    sum(count), sum(numbers), sum(sum), sum(sumsq), min(min), max(max)
FROM measurement_rollups WHERE width = 60
GROUP BY tenant, entity_id, attribute, bucket - ((bucket % 3600) + 3600) % 3600, dataset_id
"""


def upgrade() -> None:
    op.create_table(
        "measurement_rollups",
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=300), nullable=False),
        sa.Column("attribute", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("dataset_id", sa.String(length=300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Double(), nullable=False),
        sa.Column("sumsq", sa.Double(), nullable=False),
        sa.Column("min", sa.Double(), nullable=True),
        sa.Column("max", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant",
            "entity_id",
            "attribute",
            "width",
            "bucket",
            "dataset_id",
            name=op.f("pk_measurement_rollups"),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        epoch = "CAST(floor(extract(epoch FROM observed_at)) AS BIGINT)"
    else:
        epoch = "CAST(strftime('%s', observed_at) AS INTEGER)"
    op.execute(sa.text(_MINUTES.format(epoch=epoch)))
    op.execute(sa.text(_HOURS))


def downgrade() -> None:
    op.drop_table("measurement_rollups")
