"""telemetry rollups: keyed by tenant, and history without a device

Rollups of NGSI-LD-published history (no device, any tenant) could not be stored: device_id
was required and two tenants' entities with one id would have shared a row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telemetry_rollups") as batch:
        batch.add_column(
            sa.Column("tenant", sa.String(length=100), nullable=False, server_default="")
        )
        batch.alter_column("device_id", existing_type=sa.String(length=100), nullable=True)
        batch.drop_constraint("uq_telemetry_rollups_entity_id", type_="unique")
        batch.create_unique_constraint(
            "uq_telemetry_rollups_tenant", ["tenant", "entity_id", "attribute", "hour"]
        )


def downgrade() -> None:
    with op.batch_alter_table("telemetry_rollups") as batch:
        batch.drop_constraint("uq_telemetry_rollups_tenant", type_="unique")
        batch.create_unique_constraint(
            "uq_telemetry_rollups_entity_id", ["entity_id", "attribute", "hour"]
        )
        batch.alter_column("device_id", existing_type=sa.String(length=100), nullable=False)
        batch.drop_column("tenant")
