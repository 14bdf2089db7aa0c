"""the city's vital signs (城市体征): indicators over the sensors' latest values, with thresholds

Revision ID: 0033
Revises: 0030
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ops_vital_signs",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("profile_code", sa.String(length=60), nullable=False),
        sa.Column("attribute", sa.String(length=200), nullable=False),
        sa.Column("aggregation", sa.String(length=20), nullable=False),
        sa.Column("operand", sa.JSON(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("warning", sa.Double(), nullable=False),
        sa.Column("critical", sa.Double(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )


def downgrade() -> None:
    op.drop_table("ops_vital_signs")
