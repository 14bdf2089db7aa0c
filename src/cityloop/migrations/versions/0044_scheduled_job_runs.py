"""The shared schedule of periodic jobs, so several worker processes run each job once per period

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_job_runs",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("due_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("last_started_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_runner", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job_runs")
