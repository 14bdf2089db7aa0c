"""The operations read model of the services domain's applications (ops_application_facts)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 09:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ops_application_facts",
        sa.Column("application_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("submitted_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("due_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("rated_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("hours_to_decide", sa.Float(), nullable=True),
        sa.Column("recorded_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id"),
    )
    op.create_index(
        "ix_ops_application_facts_submitted",
        "ops_application_facts",
        ["submitted_at", "department"],
    )
    op.create_index(
        "ix_ops_application_facts_decided",
        "ops_application_facts",
        ["decided_at", "department", "on_time"],
    )
    op.create_index(
        "ix_ops_application_facts_rated",
        "ops_application_facts",
        ["rated_at", "department", "stars"],
    )


def downgrade() -> None:
    op.drop_index("ix_ops_application_facts_rated", table_name="ops_application_facts")
    op.drop_index("ix_ops_application_facts_decided", table_name="ops_application_facts")
    op.drop_index("ix_ops_application_facts_submitted", table_name="ops_application_facts")
    op.drop_table("ops_application_facts")
