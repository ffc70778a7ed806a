"""CRM merges (customers.merged_into_id), sync status (crm_sync_state counts), CRM owners

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_merged_into_id_customers"), "customers", ["merged_into_id"], ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("crm_sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_counts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("last_ok_at", storage.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "crm_owners",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", "external_id", name=op.f("pk_crm_owners")),
    )
    with op.batch_alter_table("crm_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_owners_email"), ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_owners_email"))
    op.drop_table("crm_owners")
    with op.batch_alter_table("crm_sync_state", schema=None) as batch_op:
        batch_op.drop_column("last_ok_at")
        batch_op.drop_column("last_counts")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_merged_into_id_customers"), type_="foreignkey")
        batch_op.drop_column("merged_into_id")
