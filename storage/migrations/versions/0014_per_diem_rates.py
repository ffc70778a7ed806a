"""per diem: the company's own rates table

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-07 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.db
import storage.models


revision: str = '0014'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('per_diem_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('destination', sa.String(length=255), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('full_day', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('partial_day', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('breakfast', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('lunch', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('dinner', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('incidentals', storage.db.Amount(precision=18, scale=4), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('imported_by', sa.String(length=320), nullable=False),
    sa.Column('imported_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_per_diem_rates'))
    )


def downgrade() -> None:
    op.drop_table('per_diem_rates')
