"""the city's own base map: roads, rivers and landmarks

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "map_features",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("updated_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("map_features", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_map_features_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("map_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_map_features_kind"))
    op.drop_table("map_features")
