"""sharing grants between departments; the address on a real-name record

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 01:42:36.004973
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("lookup", sa.String(length=60), nullable=True),
        sa.Column("requester_department", sa.String(length=40), nullable=False),
        sa.Column("owner_department", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("requested_fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("expires_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("revoked_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_data_grants_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["owner_department"],
            ["departments.code"],
            name=op.f("fk_data_grants_owner_department_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_department"],
            ["departments.code"],
            name=op.f("fk_data_grants_requester_department_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_grants")),
    )
    with op.batch_alter_table("data_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_grants_owner_department"), ["owner_department"], unique=False
        )
        batch_op.create_index(
            "ix_data_grants_reader",
            ["requester_department", "kind", "dataset_id", "lookup"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_data_grants_status"), ["status"], unique=False)

    op.create_table(
        "data_grant_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["data_grants.id"], name=op.f("fk_data_grant_events_grant_id_data_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_grant_events")),
    )
    with op.batch_alter_table("data_grant_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_grant_events_grant_id"), ["grant_id"], unique=False
        )

    with op.batch_alter_table("real_names", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("address_district", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_real_names_address_district_jurisdictions"),
            "jurisdictions",
            ["address_district"],
            ["code"],
        )


def downgrade() -> None:
    with op.batch_alter_table("real_names", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_real_names_address_district_jurisdictions"), type_="foreignkey"
        )
        batch_op.drop_column("address_district")
        batch_op.drop_column("address")

    with op.batch_alter_table("data_grant_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_grant_events_grant_id"))

    op.drop_table("data_grant_events")
    with op.batch_alter_table("data_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_grants_status"))
        batch_op.drop_index("ix_data_grants_reader")
        batch_op.drop_index(batch_op.f("ix_data_grants_owner_department"))

    op.drop_table("data_grants")
