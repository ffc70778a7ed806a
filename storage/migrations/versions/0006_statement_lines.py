"""card and bank statement lines

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db
import storage.models


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('statement_accounts',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_statement_accounts'))
    )
    op.create_table('statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('transaction_id', sa.String(length=128), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('value_on', sa.Date(), nullable=True),
    sa.Column('amount', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=True),
    sa.Column('counterparty', sa.String(length=255), nullable=True),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=True),
    sa.Column('end_to_end_id', sa.String(length=64), nullable=True),
    sa.Column('original_amount', storage.db.Amount(precision=18, scale=4), nullable=True),
    sa.Column('original_currency', sa.String(length=3), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('imported_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('employee_email', sa.String(length=320), nullable=True),
    sa.Column('expense_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('not_these', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batches.id'], name=op.f('fk_statement_lines_batch_id_payout_batches')),
    sa.ForeignKeyConstraint(['expense_id'], ['expenses.id'], name=op.f('fk_statement_lines_expense_id_expenses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines')),
    sa.UniqueConstraint('account', 'transaction_id', name=op.f('uq_statement_lines_account'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_lines_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_booked_on'), ['booked_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_card_last4'), ['card_last4'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_employee_email'), ['employee_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_expense_id'), ['expense_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        for name in ('status', 'expense_id', 'employee_email', 'card_last4', 'booked_on', 'batch_id', 'account'):
            batch_op.drop_index(batch_op.f(f'ix_statement_lines_{name}'))
    op.drop_table('statement_lines')
    op.drop_table('statement_accounts')
