"""deals (HubSpot deals, Salesforce opportunities) and the deal of an expense

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-07 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db
import storage.models


revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('stage', sa.String(length=128), nullable=True),
    sa.Column('is_closed', sa.Boolean(), nullable=False),
    sa.Column('amount', storage.db.Amount(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('remote_modified_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_deals_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_deals_source'))
    )
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deals_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deal_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('deal_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_expenses_deal_id'), ['deal_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_expenses_deal_id_deals'), 'deals', ['deal_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('expenses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_expenses_deal_id_deals'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_expenses_deal_id'))
        batch_op.drop_column('deal_reason')
        batch_op.drop_column('deal_id')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deals_customer_id'))
    op.drop_table('deals')
