"""The tenant a hosted or implicitly created @context belongs to (ngsild_contexts.tenant)

Revision ID: 0039
Revises: 0036
Create Date: 2026-12-06 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows belong to the default tenant (""), the only one that could post before.
    with op.batch_alter_table("ngsild_contexts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tenant", sa.String(length=100), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("ngsild_contexts", schema=None) as batch_op:
        batch_op.drop_column("tenant")
