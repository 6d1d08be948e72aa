"""annual reports; a case may concern no enterprise (the annual report's run)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from engine.models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("enterprise_code", existing_type=sa.String(length=18), nullable=True)
    op.create_table(
        "annual_reports",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("collecting", "aggregating", "approving", "published", name="reportstatus",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("confirmations", sa.Text(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_annual_reports_case_id_cases")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_annual_reports")),
        sa.UniqueConstraint("case_id", name=op.f("uq_annual_reports_case_id")),
    )


def downgrade() -> None:
    op.drop_table("annual_reports")
    op.execute("DELETE FROM open_tasks WHERE case_id IN (SELECT id FROM cases WHERE enterprise_code IS NULL)")
    op.execute("DELETE FROM audit_events WHERE case_id IN (SELECT id FROM cases WHERE enterprise_code IS NULL)")
    op.execute("DELETE FROM cases WHERE enterprise_code IS NULL")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("enterprise_code", existing_type=sa.String(length=18), nullable=False)
