"""``--team TEAM_ID`` for the commands that work on one workspace's data (``digest``, ``export``,
``report``, ``customers``, ``transactions``, ``perdiem``, ``fx import``, ``fx list``): required in multi-workspace mode when more
than one workspace has installed the app."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.cli_actor import ADMIN_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_settings import settings_from_env as _settings

if TYPE_CHECKING:
    from bot.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def team_option(fn: F) -> F:
    option = click.option(
        "--team",
        "team",
        metavar="TEAM_ID",
        help="The Slack workspace (multi-workspace mode); required when more than one is installed.",
    )
    return option(fn)


def in_team(fn: F) -> F:
    """``--team`` on a command, whose body then runs in that workspace's scope
    (``storage.tenancy.team_scope``): every query of team-owned rows sees only its rows, and every
    row written belongs to it. Put it under the other options (it is applied first)."""

    @functools.wraps(fn)
    def run(*args: Any, team: str | None = None, **kwargs: Any) -> Any:
        from bot.cli_settings import settings_from_env as _settings
        from storage.tenancy import team_scope

        with team_scope(choose_team(_settings(), team)):
            return fn(*args, **kwargs)

    return team_option(run)  # type: ignore[return-value]


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
            raise click.UsageError(
                "--team is for multi-workspace mode (SLACK_CLIENT_ID is not set): "
                "with one workspace, leave it out."
            )
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
        raise click.UsageError(
            "no workspace has installed expensebot yet: open /slack/install on the "
            "running app, or name a former workspace with --team TEAM_ID."
        )
    raise click.UsageError(
        f"{len(installed)} workspaces have installed expensebot ({', '.join(installed)}): "
        "choose one with --team TEAM_ID."
    )


@click.group(name="workspaces")
def workspaces() -> None:
    """Multi-workspace mode: the Slack workspaces that installed the app, and their data."""


@workspaces.command(name="list")
def workspaces_list() -> None:
    """Installed workspaces (team ids), and workspaces that still have data here."""

    settings = _settings()
    if not settings.multi_workspace:
        raise click.UsageError("single-workspace mode (SLACK_CLIENT_ID is not set): there is one workspace.")
    installed, known = known_teams(settings)
    for team in sorted(known):
        click.echo(f"{team}\t{'installed' if team in installed else 'not installed (data kept)'}")
    if not known:
        click.echo(
            "no workspace has installed expensebot yet: open /slack/install on the running app", err=True
        )


@workspaces.command(name="adopt")
@click.option("--team", "team", metavar="TEAM_ID", required=True, help="The workspace that gets the rows.")
@as_option(ADMIN_ROLES)
def workspaces_adopt(team: str, as_email: str | None) -> None:
    """Give the rows of single-workspace mode (no workspace yet) to TEAM_ID, after switching to
    multi-workspace mode: until then that workspace does not see them."""
    from sqlalchemy import inspect, or_, update

    from storage import audit
    from storage.db import make_engine, make_sessionmaker, migrate, transaction
    from storage.fx_feed import SOURCE as FEED
    from storage.models import FxRate, TeamOwned

    actor = resolve_actor(as_email, ADMIN_ROLES)
    settings = _settings()
    if not settings.multi_workspace:
        raise click.UsageError("adopt is for multi-workspace mode (SLACK_CLIENT_ID is not set).")
    installed, _known = known_teams(settings)
    if team not in installed:
        raise click.UsageError(
            f"workspace {team} has not installed expensebot (installed: "
            f"{', '.join(installed) or 'none yet'})."
        )
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    counts: dict[str, int] = {}
    with transaction(make_sessionmaker(engine)) as session:
        for model in TeamOwned.__subclasses__():
            result = session.execute(
                update(model)
                .where(model.team_id.is_(None))
                .values(team_id=team)
                .execution_options(synchronize_session=False)
            )
            counts[inspect(model).local_table.name] = int(getattr(result, "rowcount", 0) or 0)
        # The exchange rates the company imported (the feed's stay shared by every workspace).
        result = session.execute(
            update(FxRate)
            .where(FxRate.team_id.is_(None), or_(FxRate.source.is_(None), FxRate.source != FEED))
            .values(team_id=team)
            .execution_options(synchronize_session=False)
        )
        counts["fx_rates"] = int(getattr(result, "rowcount", 0) or 0)
        audit.record(
            session,
            actor=actor.name,
            action="workspace.adopted",
            entity="workspace",
            entity_id=team,
            after=counts,
            detail=actor.via,
        )
    engine.dispose()
    click.echo(", ".join(f"{n} {table}" for table, n in counts.items()) + f" now belong to {team}")
