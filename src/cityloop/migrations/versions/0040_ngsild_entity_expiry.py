"""NGSI-LD entities' expiresAt, indexed so the expiry sweep finds the expired ones cheaply

Revision ID: 0040
Revises: 0036
Create Date: 2026-12-06 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ngsild_entities") as batch:
        batch.add_column(
            sa.Column("expires_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_ngsild_entities_expires_at", ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("ngsild_entities") as batch:
        batch.drop_index("ix_ngsild_entities_expires_at")
        batch.drop_column("expires_at")
