"""entered_arrangements: the years whose holiday arrangements the administrators have entered in full

Until the shipped holiday data lists a year, its deadlines are estimates; administrators who have entered
that year's State Council arrangements as corrections say so here, by the notice. Before this revision any
correction in a year made the whole year count as entered.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from engine.models.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entered_arrangements",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("notice", sa.String(length=100), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade() -> None:
    op.drop_table("entered_arrangements")
