"""exchange-rate feed and claims converted into the reimbursement currency

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07 19:20:00.000000

``fx_rates`` records where a rate came from (the ECB feed or an imported file) and when it last
changed; ``expenses`` keeps the conversion made at submission (reimbursement currency, amount,
rate, the rate's date and source), so a later change of a rate never changes an approved claim.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db
import storage.models


revision: str = '0008'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
