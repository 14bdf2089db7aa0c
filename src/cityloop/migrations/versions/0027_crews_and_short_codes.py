"""crews, case assignment and the reports' short tracking codes

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 04:50:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityloop.base.db

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same alphabet as governance.intake.SHORT_CODE_ALPHABET, copied: a migration must not
# change when the code does.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def upgrade() -> None:
    op.create_table(
        "crews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_crews_department_code_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crews")),
        sa.UniqueConstraint("department_code", "name", name="uq_crew_name"),
    )
    with op.batch_alter_table("crews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crews_department_code"), ["department_code"], unique=False
        )
    op.create_table(
        "crew_members",
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", cityloop.base.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crew_id"], ["crews.id"], name=op.f("fk_crew_members_crew_id_crews")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_crew_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("crew_id", "user_id", name=op.f("pk_crew_members")),
    )
    with op.batch_alter_table("crew_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crew_members_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignee_crew_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cases_assignee_user_id"), ["assignee_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_assignee_crew_id"), ["assignee_crew_id"], unique=False
        )
        batch_op.create_foreign_key(
            op.f("fk_cases_assignee_user_id_users"), "users", ["assignee_user_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_cases_assignee_crew_id_crews"), "crews", ["assignee_crew_id"], ["id"]
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_code", sa.String(length=6), nullable=True))
    # Every existing report gets its code, so every caller can track by case number and code.
    reports = sa.table("reports", sa.column("id", sa.Integer), sa.column("short_code"))
    connection = op.get_bind()
    used: set[str] = set()
    for (report_id,) in connection.execute(sa.select(reports.c.id)).all():
        code = _fresh(used)
        connection.execute(
            reports.update().where(reports.c.id == report_id).values(short_code=code)
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_reports_short_code"), ["short_code"])


def _fresh(used: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(6))
        if code not in used:
            used.add(code)
            return code


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_reports_short_code"), type_="unique")
        batch_op.drop_column("short_code")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_cases_assignee_crew_id_crews"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_cases_assignee_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_assignee_crew_id"))
        batch_op.drop_index(batch_op.f("ix_cases_assignee_user_id"))
        batch_op.drop_column("assignee_crew_id")
        batch_op.drop_column("assignee_user_id")
    with op.batch_alter_table("crew_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crew_members_user_id"))
    op.drop_table("crew_members")
    with op.batch_alter_table("crews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crews_department_code"))
    op.drop_table("crews")
