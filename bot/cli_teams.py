"""``--team TEAM_ID`` for the commands that work on one workspace's data (``digest``, ``export``,
``report``): required in multi-workspace mode when more than one workspace has installed the app."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from bot.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def team_option(fn: F) -> F:
    option = click.option(
        "--team", "team", metavar="TEAM_ID",
        help="The Slack workspace (multi-workspace mode); required when more than one is installed.",
    )  # fmt: skip
    return option(fn)


def known_teams(settings: Settings) -> tuple[list[str], set[str]]:
    """Installed workspaces, and every workspace that has rows (installed or not any more)."""
    from sqlalchemy import select

    from storage.db import make_engine, make_sessionmaker, migrate
    from storage.installations import installed_teams
    from storage.models import Expense

    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        installed = installed_teams(engine, settings.slack_client_id or "")
        with make_sessionmaker(engine)() as session:
            with_rows = {t for t in session.scalars(select(Expense.team_id).distinct()) if t}
    finally:
        engine.dispose()
    return installed, with_rows | set(installed)


def choose_team(settings: Settings, team: str | None) -> str | None:
    """The workspace a command works on (None in single-workspace mode), or a clear usage error."""
    if not settings.multi_workspace:
        if team is not None:
            raise click.UsageError("--team is for multi-workspace mode (SLACK_CLIENT_ID is not set): "
                                   "with one workspace, leave it out.")  # fmt: skip
        return None
    installed, known = known_teams(settings)
    if team is not None:
        if team not in known:
            listed = ", ".join(installed) or "none yet"
            raise click.UsageError(f"workspace {team} is not known here (installed: {listed}).")
        return team
    if len(installed) == 1:
        return installed[0]
    if not installed:
        raise click.UsageError("no workspace has installed expensebot yet: open /slack/install on the "
                               "running app, or name a former workspace with --team TEAM_ID.")  # fmt: skip
    raise click.UsageError(f"{len(installed)} workspaces have installed expensebot ({', '.join(installed)}): "
                           "choose one with --team TEAM_ID.")  # fmt: skip
