"""The history store's ids as bigint on PostgreSQL, so a busy city never runs out of them

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06 20:30:00

At the ingest targets (20,000 to 50,000 readings a second) a 32-bit id (2,147,483,647) runs
out within a day or two of full load. On PostgreSQL the column of the partitioned table (the
change cascades to every monthly partition, rewriting them) and its sequence become bigint.
SQLite is unchanged: its INTEGER PRIMARY KEY is the rowid, already 64-bit.

The downgrade narrows them back, and fails (changing nothing) once an id or the sequence has
passed the 32-bit range.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0045"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE measurements ALTER COLUMN id TYPE bigint")
    # The sequence's maximum follows its type, as it was integer's own maximum.
    op.execute("ALTER SEQUENCE measurements_id_seq AS bigint")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER SEQUENCE measurements_id_seq AS integer")
    op.execute("ALTER TABLE measurements ALTER COLUMN id TYPE integer")
