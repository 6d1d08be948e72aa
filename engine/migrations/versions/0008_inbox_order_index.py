"""index open tasks in the inbox's order (department, due, created, id), so no inbox is sorted whole

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_open_tasks_department_due")
        batch_op.create_index("ix_open_tasks_department_due", ["department", "due", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_open_tasks_department_due")
        batch_op.create_index("ix_open_tasks_department_due", ["department", "due"], unique=False)
