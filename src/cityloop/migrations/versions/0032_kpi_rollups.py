"""KPI rollups: the case facts summed per day and grain, kept with the facts

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = ("department", "district", "street", "grid", "category", "channel")
BUCKETS = 26
DAY_COUNTS = (
    "registered",
    "resolved",
    "resolved_on_time",
    "response_due",
    "responded_on_time",
    "closed",
    "fixed",
    "rework",
    "ratings",
    "stars",
    "satisfied",
)


def _keys() -> list[sa.Column]:
    return [
        sa.Column("grain", sa.String(length=32), nullable=False),
        *[sa.Column(name, sa.String(length=40), nullable=False) for name in DIMENSIONS],
    ]


def upgrade() -> None:
    op.create_table(
        "ops_day_rollups",
        *_keys(),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in DAY_COUNTS],
        *[sa.Column(f"hist_n_{i:02d}", sa.Integer(), nullable=False) for i in range(BUCKETS)],
        *[sa.Column(f"hist_q_{i:02d}", sa.BigInteger(), nullable=False) for i in range(BUCKETS)],
        sa.PrimaryKeyConstraint("grain", "day", *DIMENSIONS, name=op.f("pk_ops_day_rollups")),
    )
    op.create_table(
        "ops_due_rollups",
        *_keys(),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("closed_day", sa.Date(), nullable=False),
        sa.Column("due", sa.Integer(), nullable=False),
        sa.Column("closed_on_time", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "due_day", *DIMENSIONS, "closed_day", name=op.f("pk_ops_due_rollups")
        ),
    )
    # Filled from the facts by `cityloop operations rebuild` (or the nightly reconcile).


def downgrade() -> None:
    op.drop_table("ops_due_rollups")
    op.drop_table("ops_day_rollups")
