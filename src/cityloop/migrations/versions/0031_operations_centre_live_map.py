"""the operations centre: workers' last positions and the live map's change log

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_positions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("worker_positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_positions_at"), ["at"], unique=False)
    op.create_table(
        "ops_live_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=True),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ops_live_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_live_changes_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ops_live_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_live_changes_at"))
    op.drop_table("ops_live_changes")
    with op.batch_alter_table("worker_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_positions_at"))
    op.drop_table("worker_positions")
