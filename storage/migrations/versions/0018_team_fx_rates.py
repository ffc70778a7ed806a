"""exchange rates a workspace imported belong to that workspace

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 10:00:00.000000

``fx_rates`` gets a ``team_id``: a rate a workspace imported (``expensebot fx import --team``) is
seen by that workspace only; the feed's reference rates (source ``ECB``) stay shared (no team).
The key ``(base, quote, day)`` becomes unique per workspace, and alone among the shared rates.

Existing imported rates get the one workspace that already owns the installation's data, as the
other company data did in 0016 (one team id on expenses and installations, no expense without
one); otherwise they stay shared, and ``expensebot workspaces adopt --team`` gives them to a
workspace. Downgrading merges them again: it fails if a workspace and the shared rates (or two
workspaces) have a rate for the same pair and day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEED_SOURCE = "ECB"  # storage.fx_feed.SOURCE (a migration does not import the app's modules)
KEY = ("base", "quote", "day")


def _owner_team() -> str | None:
    """The one workspace that owns the installation's data, if there is exactly one."""
    conn = op.get_bind()
    teams = {t for (t,) in conn.execute(sa.text("SELECT DISTINCT team_id FROM expenses")) if t}
    teams |= {t for (t,) in conn.execute(sa.text("SELECT DISTINCT team_id FROM slack_installations")) if t}
    unadopted = conn.execute(sa.text("SELECT COUNT(*) FROM expenses WHERE team_id IS NULL")).scalar()
    if len(teams) == 1 and not unadopted:
        return str(teams.pop())
    return None


def upgrade() -> None:
    team = _owner_team()
    with op.batch_alter_table("fx_rates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_fx_rates_team_id"), ["team_id"], unique=False)
        batch_op.drop_constraint("uq_fx_rates_base", type_="unique")
        batch_op.create_unique_constraint("uq_fx_rates_team_id_base_quote_day", ["team_id", *KEY])
    op.create_index("ux_fx_rates_base_quote_day_no_team", "fx_rates", list(KEY), unique=True,
                    sqlite_where=sa.text("team_id IS NULL"), postgresql_where=sa.text("team_id IS NULL"))
    if team is not None:
        op.get_bind().execute(
            sa.text("UPDATE fx_rates SET team_id = :team WHERE source IS NULL OR source <> :feed"),
            {"team": team, "feed": FEED_SOURCE},
        )


def downgrade() -> None:
    op.drop_index("ux_fx_rates_base_quote_day_no_team", table_name="fx_rates")
    with op.batch_alter_table("fx_rates", schema=None) as batch_op:
        batch_op.drop_constraint("uq_fx_rates_team_id_base_quote_day", type_="unique")
        batch_op.drop_index(batch_op.f("ix_fx_rates_team_id"))
        batch_op.drop_column("team_id")
        batch_op.create_unique_constraint("uq_fx_rates_base", list(KEY))
