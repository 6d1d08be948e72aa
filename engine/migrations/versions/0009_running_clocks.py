"""waiting_timers.fires: false for a legal period that runs on with no timer guarding it (shown, never fired)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waiting_timers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fires", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index("ix_waiting_timers_fires_due_at", ["fires", "due_at"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM waiting_timers WHERE NOT fires")
    with op.batch_alter_table("waiting_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_waiting_timers_fires_due_at")
        batch_op.drop_column("fires")
