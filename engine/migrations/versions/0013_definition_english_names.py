"""definitions.name_en: the English name of a deployed process (its ``nameEn`` property), null when it has none

Versions deployed before this revision have none, and pages show their Chinese name; ``capexit init`` deploys the
shipped processes, which carry the property, as new versions.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.drop_column("name_en")
