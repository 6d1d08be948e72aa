"""audit events carry a hash chain per case

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from engine.models.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
    _chain_existing_events()


def _chain_existing_events() -> None:
    """Give the events written before this revision their place in the chains."""
    from engine.services.audit import event_hash

    conn = op.get_bind()
    events = sa.table("audit_events", sa.column("id"), sa.column("case_id"), sa.column("at", UTCDateTime()), sa.column("actor"),
                      sa.column("action"), sa.column("task_id"), sa.column("detail"), sa.column("prev_hash"),
                      sa.column("hash"))
    last: dict = {}
    for row in conn.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        prev = last.get(row["case_id"], "")
        digest = event_hash(prev, row["case_id"], row["at"], row["actor"], row["action"], row["task_id"], row["detail"])
        conn.execute(sa.update(events).where(events.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        last[row["case_id"]] = digest


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
