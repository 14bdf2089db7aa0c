"""a staff account's district scope

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 04:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district_code", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            "fk_users_district_code_jurisdictions", "jurisdictions", ["district_code"], ["code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("fk_users_district_code_jurisdictions", type_="foreignkey")
        batch_op.drop_column("district_code")
