"""exchange rates with 12 decimals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:40:00.000000

Rates were stored like amounts, NUMERIC(18, 4): yen to dollars (0.00668) became 0.0067 on
PostgreSQL, and reports converted at that. Widening keeps every stored value.
"""

from collections.abc import Sequence

from alembic import op

import storage.db
import storage.models


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('fx_rates', schema=None) as batch_op:
        batch_op.alter_column('rate', existing_type=storage.db.Amount(precision=18, scale=4),
                              type_=storage.models.Rate(precision=24, scale=12), existing_nullable=False)


def downgrade() -> None:
    # Back to four decimals: rates are rounded to them.
    with op.batch_alter_table('fx_rates', schema=None) as batch_op:
        batch_op.alter_column('rate', existing_type=storage.models.Rate(precision=24, scale=12),
                              type_=storage.db.Amount(precision=18, scale=4), existing_nullable=False)
