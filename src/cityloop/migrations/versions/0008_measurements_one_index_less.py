"""measurements: drop the (entity, attribute, time) index

Every read by entity also names the tenant, so the unique (tenant, entity, attribute, time)
index serves it; the extra index only cost every insert another b-tree.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_measurements_entity_attribute_time", table_name="measurements")


def downgrade() -> None:
    op.create_index(
        "ix_measurements_entity_attribute_time",
        "measurements",
        ["entity_id", "attribute", "observed_at"],
    )
