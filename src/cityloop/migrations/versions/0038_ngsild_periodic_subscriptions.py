"""Periodic NGSI-LD subscriptions: ngsild_subscriptions.time_interval (timeInterval, seconds)

Revision ID: 0038
Revises: 0036
Create Date: 2026-12-06 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ngsild_subscriptions") as batch:
        batch.add_column(sa.Column("time_interval", sa.Double(), nullable=True))
    op.create_index("ix_ngsild_subscriptions_periodic", "ngsild_subscriptions", ["time_interval"])


def downgrade() -> None:
    op.drop_index("ix_ngsild_subscriptions_periodic", table_name="ngsild_subscriptions")
    with op.batch_alter_table("ngsild_subscriptions") as batch:
        batch.drop_column("time_interval")
