"""access log hash chain: each entry hashes the one before it; a head row and signed checkpoints

Entries already logged are chained in id order here, so the whole log verifies.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 00:13:23.250638
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_access_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_access_chain_head")),
    )
    op.create_table(
        "data_access_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("upto_id", sa.Integer(), nullable=False),
        sa.Column("upto_hash", sa.String(length=64), nullable=False),
        sa.Column("at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_access_checkpoints")),
    )
    op.create_table(
        "data_access_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_data_access_keys")),
    )
    with op.batch_alter_table("data_access_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("data_access_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", server_default=None)
        batch_op.alter_column("entry_hash", server_default=None)
    _chain_existing_entries()


def _chain_existing_entries() -> None:
    from types import SimpleNamespace

    from cityloop.platforms.data.access.chain import GENESIS, HEAD_ID, link

    log = sa.table(
        "data_access_log", sa.column("id"), sa.column("at", cityloop.base.db.UtcDateTime()),
        sa.column("user_id"), sa.column("actor"), sa.column("actor_role"),
        sa.column("actor_department"), sa.column("fields", sa.JSON()), sa.column("purpose"),
        sa.column("reference"), sa.column("legal_basis"), sa.column("consent_id"),
        sa.column("consent_at", cityloop.base.db.UtcDateTime()), sa.column("prev_hash"),
        sa.column("entry_hash"),
    )  # fmt: skip
    connection = op.get_bind()
    previous = GENESIS
    last_id = 0
    for row in connection.execute(sa.select(log).order_by(log.c.id)).mappings().all():
        entry = SimpleNamespace(**row)
        digest = link(previous, entry)  # type: ignore[arg-type]
        connection.execute(
            log.update().where(log.c.id == row["id"]).values(prev_hash=previous, entry_hash=digest)
        )
        previous, last_id = digest, row["id"]
    head = sa.table(
        "data_access_chain_head", sa.column("id"), sa.column("last_id"), sa.column("last_hash")
    )
    connection.execute(head.insert().values(id=HEAD_ID, last_id=last_id, last_hash=previous))


def downgrade() -> None:
    with op.batch_alter_table("data_access_log", schema=None) as batch_op:
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")

    op.drop_table("data_access_keys")
    op.drop_table("data_access_checkpoints")
    op.drop_table("data_access_chain_head")
