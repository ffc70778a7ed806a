"""projects (HubSpot projects, a Salesforce custom object, CSV) and the CRM project of an expense

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = storage.models.UTCDateTime(timezone=True)
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("stage", sa.String(length=128), nullable=True),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("remote_modified_at", when, nullable=True),
        sa.Column("synced_at", when, nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_projects_customer_id_customers"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_projects_deal_id_deals"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("team_id", "source", "external_id", name="uq_projects_team_id_source_external_id"),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_team_id"), ["team_id"], unique=False)
    op.create_index("ux_projects_source_external_id_no_team", "projects", ["source", "external_id"], unique=True,
                    sqlite_where=sa.text("team_id IS NULL"), postgresql_where=sa.text("team_id IS NULL"))
    with op.batch_alter_table("expense_projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_expense_projects_project_id"), ["project_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_expense_projects_project_id_projects"), "projects",
                                    ["project_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("expense_projects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_expense_projects_project_id_projects"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_expense_projects_project_id"))
        batch_op.drop_column("project_id")
    op.drop_index("ux_projects_source_external_id_no_team", table_name="projects")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_team_id"))
        batch_op.drop_index(batch_op.f("ix_projects_deal_id"))
        batch_op.drop_index(batch_op.f("ix_projects_customer_id"))
    op.drop_table("projects")
