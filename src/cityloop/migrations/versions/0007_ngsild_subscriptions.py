"""ngsild subscriptions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ngsild_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("subscription_id", sa.String(length=300), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("expires_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("throttling", sa.Double(), nullable=True),
        sa.Column("last_notified_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_subscriptions")),
        sa.UniqueConstraint(
            "tenant", "subscription_id", name=op.f("uq_ngsild_subscriptions_tenant")
        ),
    )


def downgrade() -> None:
    op.drop_table("ngsild_subscriptions")
