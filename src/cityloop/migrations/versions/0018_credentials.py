"""credentials: issuer keys (sealed private keys), token status lists, issued credentials

A credential's record keeps no claims: only who issued which type, when, until when, with
which key and at which status list index.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 22:46:05.549838
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_code"],
            ["departments.code"],
            name=op.f("fk_credential_keys_issuer_code_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_credential_keys_kid")),
    )
    with op.batch_alter_table("credential_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credential_keys_issuer", ["issuer_code", "retired_at"], unique=False
        )

    op.create_table(
        "credential_status_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_code"],
            ["departments.code"],
            name=op.f("fk_credential_status_lists_issuer_code_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_status_lists")),
        sa.UniqueConstraint(
            "issuer_code", "number", name=op.f("uq_credential_status_lists_issuer_code")
        ),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("vct", sa.String(length=300), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("status_list_id", sa.Integer(), nullable=False),
        sa.Column("status_idx", sa.Integer(), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=False),
        sa.Column("jwt_digest", sa.String(length=64), nullable=False),
        sa.Column("issued_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_code"],
            ["departments.code"],
            name=op.f("fk_credentials_issuer_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["kid"], ["credential_keys.kid"], name=op.f("fk_credentials_kid_credential_keys")
        ),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["credential_status_lists.id"],
            name=op.f("fk_credentials_status_list_id_credential_status_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("jwt_digest", name=op.f("uq_credentials_jwt_digest")),
        sa.UniqueConstraint(
            "status_list_id", "status_idx", name=op.f("uq_credentials_status_list_id")
        ),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("ix_credentials_kid_expires", ["kid", "expires_at"], unique=False)
        batch_op.create_index("ix_credentials_subject", ["subject_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_credentials_subject")
        batch_op.drop_index("ix_credentials_kid_expires")

    op.drop_table("credentials")
    op.drop_table("credential_status_lists")
    with op.batch_alter_table("credential_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_keys_issuer")

    op.drop_table("credential_keys")
