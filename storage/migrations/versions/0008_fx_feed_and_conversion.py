"""exchange-rate feed, claims converted into the reimbursement currency, split receipts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:20:00.000000

``fx_rates`` records where a rate came from (the ECB feed or an imported file) and when it last
changed; ``expenses`` keeps the conversion made at submission (reimbursement currency, amount,
rate, the rate's date and source), so a later change of a rate never changes an approved claim;
``expense_splits`` holds the parts of a receipt split across categories, customers or projects.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db
import storage.models


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('expense_splits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expense_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('amount', storage.db.Amount(precision=18, scale=4), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('project', sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_expense_splits_customer_id_customers'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['expense_id'], ['expenses.id'], name=op.f('fk_expense_splits_expense_id_expenses'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_splits')),
        sa.UniqueConstraint('expense_id', 'position', name=op.f('uq_expense_splits_expense_id'))
    )
    with op.batch_alter_table('expense_splits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expense_splits_expense_id'), ['expense_id'], unique=False)
    with op.batch_alter_table('fx_rates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reimburse_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('reimburse_amount', storage.db.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('fx_rate', storage.models.Rate(precision=24, scale=12), nullable=True))
        batch_op.add_column(sa.Column('fx_rate_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('fx_rate_source', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_column('fx_rate_source')
        batch_op.drop_column('fx_rate_day')
        batch_op.drop_column('fx_rate')
        batch_op.drop_column('reimburse_amount')
        batch_op.drop_column('reimburse_currency')
    with op.batch_alter_table('fx_rates', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('source')
    with op.batch_alter_table('expense_splits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expense_splits_expense_id'))
    op.drop_table('expense_splits')
