"""an account's own language, the language a report was written in, and Chinese names of
device profiles, devices and alarm rules

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=10), nullable=True))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=10), nullable=True))
    for table in ("device_profiles", "devices", "alarm_rules"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("name_zh", sa.String(length=200), nullable=False, server_default="")
            )


def downgrade() -> None:
    for table in ("alarm_rules", "devices", "device_profiles"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("name_zh")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")
