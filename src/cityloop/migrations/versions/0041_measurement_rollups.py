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


def upgrade() -> None:
    # Existing history is rolled up by `cityloop device rebuild-rollups` (docs/operations.md),
    # not here: a long history would hold the upgrade for minutes.
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
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("sumsq", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=True),
        sa.Column("max", sa.Float(), nullable=True),
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


def downgrade() -> None:
    op.drop_table("measurement_rollups")
