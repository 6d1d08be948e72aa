"""index cases by status and overdue flag (the board's overdue list)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_status_overdue", "cases", ["status", "overdue"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_overdue", table_name="cases")
