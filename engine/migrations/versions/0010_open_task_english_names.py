"""open_tasks.name_en: the English name of an open task's step (its ``nameEn`` property), null when it has none

Rows written before this revision stay null: the next save of their case fills them from the version the case
runs on (``instances._sync_index``), and until then pages show the Chinese name.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.drop_column("name_en")
