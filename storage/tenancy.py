"""The Slack workspace (team) the current work is for, in multi-workspace mode.

Set at the edge (a Slack request, a job, an outbox row) and read where rows are written and Slack
is called: the outbox records it in each message, so a message goes out with that workspace's
token. ``None`` in single-workspace mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

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
