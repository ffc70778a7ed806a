"""Slack listeners, one module per surface, each with top-level handlers and a ``register(app)``
(the layout of Slack's Bolt starter template). Listeners are thin: they ack first and hand the
work to the service modules.

``register`` here is the one place that wires them: it puts the ``AppContext`` into every
request's Bolt context (handlers read it with ``bot.listeners.common.app_context``), drops Slack's
redeliveries, and registers each surface. A new listener goes into the module of its surface; a
new surface is a module with ``register(app)`` added to ``SURFACES``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.context import AppContext
from bot.listeners import approvals, card, commands, files, finance, fx, home, split, transactions
from bot.listeners.common import CONTEXT_KEY, TRY_AGAIN, app_context

__all__ = ["SURFACES", "TRY_AGAIN", "register"]

log = logging.getLogger(__name__)

SURFACES = (files, home, card, commands, approvals, finance, fx, split, transactions)


async def drop_retries(
    body: dict[str, Any], next: Callable[[], Awaitable[Any]], context: AsyncBoltContext
) -> Any:
    """Slack redelivers events it thinks were lost; each event_id is handled once."""
    event_id = body.get("event_id")
    if event_id and not await app_context(context).kv.first_time_async(f"event:{event_id}"):
        log.info("duplicate delivery of %s dropped", event_id)
        return BoltResponse(status=200, body="")
    return await next()


def register(app: AsyncApp, ctx: AppContext) -> None:
    """Wire every Slack listener of the app to ``ctx``."""

    async def provide_context(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context[CONTEXT_KEY] = ctx
        return await next()

    app.middleware(provide_context)
    app.middleware(drop_retries)
    for surface in SURFACES:
        surface.register(app)
