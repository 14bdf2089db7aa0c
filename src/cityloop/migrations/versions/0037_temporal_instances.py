"""Full NGSI-LD temporal instances in the history store (measurements): attribute type, the
instance as stored, datasetId and the system times

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable additions only: device readings keep writing the columns they always wrote.
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        # "" is the default instance; a part of the key, so two datasetIds may share a time.
        batch_op.add_column(
            sa.Column("dataset_id", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("document", sa.JSON(), nullable=True))
        for name in ("created_at", "modified_at", "deleted_at"):
            batch_op.add_column(
                sa.Column(name, cityloop.base.db.UtcDateTime(timezone=True), nullable=True)
            )
        batch_op.drop_constraint(batch_op.f("uq_measurements_tenant"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_measurements_tenant"),
            ["tenant", "entity_id", "attribute", "observed_at", "dataset_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_measurements_tenant"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_measurements_tenant"),
            ["tenant", "entity_id", "attribute", "observed_at"],
        )
        for name in ("deleted_at", "modified_at", "created_at", "document", "dataset_id", "kind"):
            batch_op.drop_column(name)
