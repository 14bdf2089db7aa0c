"""the CKAN API's stamp of the open catalogue: an index that covers it

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 02:06:35.223323
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_datasets_open_stamp", ["sensitivity", "active", "modified_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_datasets_open_stamp")
