"""Cases: indexes that keep the staff queue and the public map as fast at 1 M cases as at 10 k

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each new index starts with the columns of the one it replaces, so whatever used the old
    # one can use the new; the queue's and the map's pages are read in its order, not sorted.
    op.drop_index("ix_cases_department_status", table_name="cases")
    op.create_index(
        "ix_cases_department_queue",
        "cases",
        ["department_code", "status", "resolution_due", "id"],
    )
    op.drop_index("ix_cases_status", table_name="cases")
    op.create_index("ix_cases_status_id", "cases", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_id", table_name="cases")
    op.create_index("ix_cases_status", "cases", ["status"])
    op.drop_index("ix_cases_department_queue", table_name="cases")
    op.create_index("ix_cases_department_status", "cases", ["department_code", "status"])
