"""the workspace of customers, deals, CRM state, statements and per diem rates

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 14:00:00.000000

Customers (with their aliases and contacts), deals, the CRM sync state and owners, statement
accounts and lines, and the company's per diem rates get a ``team_id`` (storage.models.TeamOwned).
Their natural keys become unique per workspace: ``(team_id, key)`` for a workspace's rows, and the
key alone among rows without a workspace (single-workspace mode), by a partial unique index. The
three tables whose primary key was that natural key (statement accounts, CRM sync state, CRM owners)
get an ``id`` primary key.

Existing rows get the one workspace that already owns the installation's data: the single team id
found on expenses and Slack installations, when there is exactly one and no expense is left without
a workspace. Otherwise (single-workspace mode, or expenses not adopted yet) they stay without one,
and ``expensebot workspaces adopt --team`` gives them to a workspace together with the expenses.
Downgrading merges the workspaces again: it fails if two workspaces use the same key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its natural key (unique per workspace), for the tables that keep their id primary key.
KEYED: dict[str, tuple[str, ...]] = {
    "customers": ("source", "external_id"),
    "contacts": ("source", "external_id"),
    "deals": ("source", "external_id"),
    "statement_lines": ("account", "transaction_id"),
}
OLD_UNIQUE = {
    "customers": "uq_customers_source",
    "contacts": "uq_contacts_source",
    "deals": "uq_deals_source",
    "statement_lines": "uq_statement_lines_account",
}
PLAIN = ("customer_aliases", "per_diem_rates")  # a team_id only (their keys already differ per team)
REKEYED: dict[str, tuple[str, ...]] = {  # their natural key was the primary key
    "statement_accounts": ("name",),
    "crm_sync_state": ("source", "object_type"),
    "crm_owners": ("source", "external_id"),
}


def _rekeyed_columns(table: str) -> list[sa.Column]:  # type: ignore[type-arg]
    when = storage.models.UTCDateTime(timezone=True)
    if table == "statement_accounts":
        return [
            sa.Column("name", sa.String(length=128), nullable=False),
            sa.Column("external_id", sa.String(length=64), nullable=True),
            sa.Column("kind", sa.String(length=8), nullable=True),
            sa.Column("created_at", when, nullable=False),
        ]
    if table == "crm_sync_state":
        return [
            sa.Column("source", sa.String(length=32), nullable=False),
            sa.Column("object_type", sa.String(length=32), nullable=False),
            sa.Column("cursor", sa.String(length=255), nullable=True),
            sa.Column("last_run_at", when, nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("last_counts", sa.JSON(), nullable=True),
            sa.Column("last_ok_at", when, nullable=True),
        ]
    return [
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", when, nullable=True),
    ]


def _owner_team() -> str | None:
    """The one workspace that owns the installation's data, if there is exactly one."""
    conn = op.get_bind()
    teams = {t for (t,) in conn.execute(sa.text("SELECT DISTINCT team_id FROM expenses")) if t}
    teams |= {t for (t,) in conn.execute(sa.text("SELECT DISTINCT team_id FROM slack_installations")) if t}
    unadopted = conn.execute(sa.text("SELECT COUNT(*) FROM expenses WHERE team_id IS NULL")).scalar()
    if len(teams) == 1 and not unadopted:
        return str(teams.pop())
    return None


def _unique(table: str, key: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_unique_constraint(f"uq_{table}_team_id_{'_'.join(key)}", ["team_id", *key])
    op.create_index(f"ux_{table}_{'_'.join(key)}_no_team", table, list(key), unique=True,
                    sqlite_where=sa.text("team_id IS NULL"), postgresql_where=sa.text("team_id IS NULL"))


def _add_team(table: str, team: str | None) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f(f"ix_{table}_team_id"), ["team_id"], unique=False)
    if team is not None:
        op.get_bind().execute(sa.text(f"UPDATE {table} SET team_id = :team"), {"team": team})


def _rebuild(table: str, columns: list[sa.Column], primary: Sequence[str], copy: Sequence[str],  # type: ignore[type-arg]
             team: str | None, *, with_team: bool) -> None:
    """Recreate ``table`` with another primary key, keeping its rows (both databases)."""
    if table == "crm_owners":
        op.drop_index("ix_crm_owners_email", table_name=table)
    if not with_team:
        op.drop_index(f"ix_{table}_team_id", table_name=table)
        op.drop_index(f"ux_{table}_{'_'.join(REKEYED[table])}_no_team", table_name=table)
    op.rename_table(table, f"{table}_old")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table}_old RENAME CONSTRAINT pk_{table} TO pk_{table}_old")
        if not with_team:
            key = "_".join(REKEYED[table])
            op.execute(f"ALTER TABLE {table}_old RENAME CONSTRAINT uq_{table}_team_id_{key} TO uq_{table}_old")
    extra: list[sa.Column] = []  # type: ignore[type-arg]
    if with_team:
        extra = [sa.Column("id", sa.Integer(), nullable=False), sa.Column("team_id", sa.String(length=32))]
    op.create_table(table, *extra, *columns, sa.PrimaryKeyConstraint(*primary, name=f"pk_{table}"))
    names = ", ".join(copy)
    if with_team:
        op.get_bind().execute(
            sa.text(f"INSERT INTO {table} ({names}, team_id) SELECT {names}, :team FROM {table}_old"), {"team": team}
        )
    else:
        op.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {table}_old")
    op.drop_table(f"{table}_old")
    if table == "crm_owners":
        op.create_index("ix_crm_owners_email", table, ["email"], unique=False)
    if with_team:
        op.create_index(f"ix_{table}_team_id", table, ["team_id"], unique=False)
        _unique(table, REKEYED[table])


def upgrade() -> None:
    team = _owner_team()
    for table, key in KEYED.items():
        _add_team(table, team)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(OLD_UNIQUE[table], type_="unique")
        _unique(table, key)
    for table in PLAIN:
        _add_team(table, team)
    for table, key in REKEYED.items():
        columns = _rekeyed_columns(table)
        _rebuild(table, columns, ["id"], [c.name for c in columns], team, with_team=True)


def downgrade() -> None:
    for table, key in REKEYED.items():
        columns = _rekeyed_columns(table)
        _rebuild(table, columns, list(key), [c.name for c in columns], None, with_team=False)
    for table in PLAIN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_team_id"))
            batch_op.drop_column("team_id")
    for table, key in KEYED.items():
        op.drop_index(f"ux_{table}_{'_'.join(key)}_no_team", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_team_id_{'_'.join(key)}", type_="unique")
            batch_op.drop_index(batch_op.f(f"ix_{table}_team_id"))
            batch_op.drop_column("team_id")
            batch_op.create_unique_constraint(OLD_UNIQUE[table], list(key))
