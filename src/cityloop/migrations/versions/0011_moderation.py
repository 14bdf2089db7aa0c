"""moderation: categories that hold reports' content back until accepted; cases whose
description and photos the public may see

Existing cases keep what they showed, except rejected ones, which are no longer public.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("categories") as batch:
        batch.add_column(
            sa.Column("moderated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("content_public", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute("UPDATE cases SET content_public = false WHERE status = 'rejected'")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("content_public")
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("moderated")
