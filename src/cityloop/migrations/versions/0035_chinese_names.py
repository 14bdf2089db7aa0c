"""Chinese names of accounts (display_name_zh) and of device provisioning groups

Revision ID: 0035
Revises: 0030
Create Date: 2026-12-06 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("display_name_zh", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("provisioning_groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_zh", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("provisioning_groups", schema=None) as batch_op:
        batch_op.drop_column("name_zh")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("display_name_zh")
