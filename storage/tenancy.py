"""The Slack workspace (team) the current work is for, in multi-workspace mode.

Set at the edge (a Slack request, a job, an outbox row) and read where rows are written and Slack
is called: the outbox records it in each message, so a message goes out with that workspace's
token. ``None`` in single-workspace mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

current_team: ContextVar[str | None] = ContextVar("expensebot_team", default=None)

TEAM_KEY = "_team_id"  # where an outbox payload carries its workspace


@contextlib.contextmanager
def team_scope(team_id: str | None) -> Iterator[None]:
    """Run a block for one workspace (``None``: leave the current one unchanged)."""
    if team_id is None:
        yield
        return
    token = current_team.set(team_id)
    try:
        yield
    finally:
        current_team.reset(token)


def team_default() -> str | None:
    """Column default: a row written while a workspace is in scope belongs to it."""
    return current_team.get()


def install_team_filter(session_class: type[Session], scoped: type[Any]) -> None:
    """While a workspace is in scope, every ORM query of a ``scoped`` class (its subclasses: all
    team-owned tables) sees only that workspace's rows: SELECTs, relationship loads, ``get`` and
    ORM UPDATE/DELETE. A forged id from another workspace finds nothing."""

    @event.listens_for(session_class, "do_orm_execute")
    def _scope(state: ORMExecuteState) -> None:
        team = current_team.get()
        if team is None or state.is_column_load:
            return
        if state.execution_options.get("all_teams"):
            return
        state.statement = state.statement.options(
            with_loader_criteria(scoped, lambda cls: cls.team_id == team, include_aliases=True)
        )


def in_current_team(column: Any) -> Any:
    """A WHERE clause for Core queries (which the ORM filter does not see): the current
    workspace's rows, or every row when no workspace is in scope."""
    team = current_team.get()
    return true() if team is None else column == team
