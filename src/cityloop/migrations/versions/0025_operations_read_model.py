"""operations read model: case, rating and rework facts, and proactive tasks

Existing cases are not copied here (a migration must not import a domain's code): the nightly
reconcile fills the facts, or `cityloop operations rebuild` does it at once.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 04:31:26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = ["department", "district", "street", "grid", "category", "channel"]
# Covering indexes: the period column, the dimensions, then what the figure reads.
INDEXES = [
    ("ix_ops_case_facts_registered", "registered_at", []),
    ("ix_ops_case_facts_due", "resolution_due", ["status", "closed_at", "on_time"]),
    ("ix_ops_case_facts_response_due", "response_due", ["started_at"]),
    ("ix_ops_case_facts_resolved", "resolved_at", ["handled_on_time"]),
    ("ix_ops_case_facts_closed", "closed_at", ["status", "resolution", "hours_to_close"]),
    ("ix_ops_case_facts_created", "created_at", ["status"]),
]


def upgrade() -> None:
    op.create_table(
        "ops_case_facts",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=40), nullable=True),
        sa.Column("grid", sa.String(length=40), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("registered_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("started_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("response_due", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("handled_on_time", sa.Boolean(), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("stars_total", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("hours_to_close", sa.Float(), nullable=True),
        sa.Column("recorded_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_ops_case_facts")),
    )
    with op.batch_alter_table("ops_case_facts", schema=None) as batch_op:
        for name, period, extra in INDEXES:
            batch_op.create_index(name, [period, *DIMENSIONS, *extra], unique=False)

    op.create_table(
        "ops_proactive_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_proactive_tasks")),
        sa.UniqueConstraint("month", "level", "area", "category", name="uq_ops_proactive_task"),
    )
    op.create_table(
        "ops_rating_facts",
        sa.Column("rating_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=40), nullable=True),
        sa.Column("grid", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("rating_id", name=op.f("pk_ops_rating_facts")),
    )
    with op.batch_alter_table("ops_rating_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_rating_facts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_rating_facts_case_id"), ["case_id"], unique=False)

    op.create_table(
        "ops_rework_facts",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=40), nullable=True),
        sa.Column("grid", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_ops_rework_facts")),
    )
    with op.batch_alter_table("ops_rework_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_rework_facts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ops_rework_facts_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ops_rework_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_rework_facts_case_id"))
        batch_op.drop_index(batch_op.f("ix_ops_rework_facts_at"))

    op.drop_table("ops_rework_facts")
    with op.batch_alter_table("ops_rating_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_rating_facts_case_id"))
        batch_op.drop_index(batch_op.f("ix_ops_rating_facts_at"))

    op.drop_table("ops_rating_facts")
    op.drop_table("ops_proactive_tasks")
    with op.batch_alter_table("ops_case_facts", schema=None) as batch_op:
        for name, _, _ in INDEXES:
            batch_op.drop_index(name)

    op.drop_table("ops_case_facts")
