"""definition drafts and form versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 03:11:23.305903
"""

import sqlalchemy as sa
from alembic import op

from engine.models.base import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('definition_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=100), nullable=False),
    sa.Column('bpmn', sa.Text(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.Column('saved_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_drafts')),
    sa.UniqueConstraint('process_id', 'saved_by', name='uq_definition_drafts_process_owner')
    )
    with op.batch_alter_table('definition_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_drafts_process_id'), ['process_id'], unique=False)

    op.create_table('form_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('schema', sa.Text(), nullable=False),
    sa.Column('ui_schema', sa.Text(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.Column('saved_at', UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_versions')),
    sa.UniqueConstraint('key', 'version', name='uq_form_versions_key_version')
    )
    with op.batch_alter_table('form_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_versions_key'), ['key'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('form_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_versions_key'))

    op.drop_table('form_versions')
    with op.batch_alter_table('definition_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_drafts_process_id'))

    op.drop_table('definition_drafts')

