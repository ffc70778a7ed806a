"""finance: payout exports, expense projects, and indexes for finance queries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:48:38.523316
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db
import storage.models


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payout_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('expense_count', sa.Integer(), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batches.id'], name=op.f('fk_payout_exports_batch_id_payout_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_exports'))
    )
    with op.batch_alter_table('payout_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_exports_batch_id'), ['batch_id'], unique=False)

    op.create_table('expense_projects',
    sa.Column('expense_id', sa.Integer(), nullable=False),
    sa.Column('project', sa.String(length=128), nullable=False),
    sa.Column('set_by', sa.String(length=64), nullable=True),
    sa.Column('set_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['expense_id'], ['expenses.id'], name=op.f('fk_expense_projects_expense_id_expenses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('expense_id', name=op.f('pk_expense_projects'))
    )
    with op.batch_alter_table('expense_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expense_projects_project'), ['project'], unique=False)

    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.create_index('ix_expenses_batch_employee', ['payout_batch_id', 'employee_id'], unique=False)
        batch_op.create_index('ix_expenses_spent_on_status', ['spent_on', 'status'], unique=False)
        batch_op.create_index('ix_expenses_status_batch', ['status', 'payout_batch_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_index('ix_expenses_status_batch')
        batch_op.drop_index('ix_expenses_spent_on_status')
        batch_op.drop_index('ix_expenses_batch_employee')

    with op.batch_alter_table('expense_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expense_projects_project'))

    op.drop_table('expense_projects')
    with op.batch_alter_table('payout_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_exports_batch_id'))

    op.drop_table('payout_exports')
