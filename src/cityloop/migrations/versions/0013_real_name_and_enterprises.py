"""real-name levels and enterprises: real_names, phone_challenges, enterprises, enterprise_agents;
notifications may be about no case and caused by no outbox event (a phone verification code)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 22:44:13.037105
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("legal_rep_name", sa.String(length=100), nullable=False),
        sa.Column("legal_rep_id_number", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("registered_capital_yuan", sa.BigInteger(), nullable=False),
        sa.Column("business_scope", sa.Text(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("uscc", name=op.f("pk_enterprises")),
    )
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprises_legal_rep_id_number"), ["legal_rep_id_number"], unique=False
        )

    op.create_table(
        "enterprise_agents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.Column("granted_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("revoked_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["uscc"], ["enterprises.uscc"], name=op.f("fk_enterprise_agents_uscc_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_enterprise_agents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_agents")),
    )
    with op.batch_alter_table("enterprise_agents", schema=None) as batch_op:
        batch_op.create_index("ix_enterprise_agents_uscc", ["uscc", "id"], unique=False)
        batch_op.create_index("ix_enterprise_agents_user", ["user_id", "revoked_at"], unique=False)

    op.create_table(
        "phone_challenges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_phone_challenges_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_challenges")),
    )
    with op.batch_alter_table("phone_challenges", schema=None) as batch_op:
        batch_op.create_index("ix_phone_challenges_user", ["user_id", "created_at"], unique=False)

    op.create_table(
        "real_names",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=100), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("id_checked_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("phone_verified_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "counter_verified_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("counter_verified_by", sa.String(length=80), nullable=True),
        sa.Column("counter_department", sa.String(length=40), nullable=True),
        sa.Column("counter_name", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["counter_department"],
            ["departments.code"],
            name=op.f("fk_real_names_counter_department_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_real_names_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_real_names")),
        sa.UniqueConstraint("id_number", name=op.f("uq_real_names_id_number")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("source_event_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column("case_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    # Messages about no case cannot stay in a table that needs one.
    op.execute("DELETE FROM notifications WHERE case_id IS NULL OR source_event_id IS NULL")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.alter_column("source_event_id", existing_type=sa.INTEGER(), nullable=False)

    op.drop_table("real_names")
    with op.batch_alter_table("phone_challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_challenges_user")
    op.drop_table("phone_challenges")
    with op.batch_alter_table("enterprise_agents", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_agents_user")
        batch_op.drop_index("ix_enterprise_agents_uscc")
    op.drop_table("enterprise_agents")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprises_legal_rep_id_number"))
    op.drop_table("enterprises")
