"""public announcements

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 03:16:57.857469
"""

import sqlalchemy as sa
from alembic import op

from engine.models.base import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', UTCDateTime(), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=64), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_announcements_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_announcements_current', ['withdrawn_at', 'published_on'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_current')
        batch_op.drop_index(batch_op.f('ix_announcements_case_id'))

    op.drop_table('announcements')

