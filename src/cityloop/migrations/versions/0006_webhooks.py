"""webhooks: the outbound notification queue and per-source delivery stats

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("source_id", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("last_attempt_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_order", ["endpoint", "source_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_finished", ["status", "finished_at"], unique=False
        )
    op.create_table(
        "webhook_source_stats",
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("source_id", sa.String(length=300), nullable=False),
        sa.Column("times_sent", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_notification_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_success_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("source", "source_id", name=op.f("pk_webhook_source_stats")),
    )


def downgrade() -> None:
    op.drop_table("webhook_source_stats")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_finished")
        batch_op.drop_index("ix_webhook_deliveries_order")
        batch_op.drop_index("ix_webhook_deliveries_due")
    op.drop_table("webhook_deliveries")
