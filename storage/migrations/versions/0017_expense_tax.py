"""The receipt's tax on the expense (net, tax amount, rate) and its item lines

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("net_amount", storage.db.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column("tax_amount", storage.db.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column("tax_rate", storage.db.Amount(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column("line_items", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.drop_column("line_items")
        batch_op.drop_column("tax_rate")
        batch_op.drop_column("tax_amount")
        batch_op.drop_column("net_amount")
