"""What the Slack listeners share: how a handler finds the app's context, reads a click or a form,
and answers the person privately."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext, AsyncRespond

from bot.context import AppContext

TRY_AGAIN = "I could not reach the database just now; nothing was changed. Try again in a moment."

# The key under which the composition root (bot.listeners.register) puts the AppContext into
# every request's Bolt context.
CONTEXT_KEY = "expensebot"


def app_context(context: AsyncBoltContext) -> AppContext:
    """The AppContext of the running app, as the composition root's middleware provided it."""
    ctx = context.get(CONTEXT_KEY)
    if not isinstance(ctx, AppContext):
        raise RuntimeError(
            "no AppContext in the Bolt context: register listeners with bot.listeners.register"
        )
    return ctx


async def tell(respond: AsyncRespond | None, text: str) -> None:
    """A message only the clicking person sees."""
    if respond is not None:
        await respond(text=text, response_type="ephemeral", replace_original=False)


def action_value(body: dict[str, Any]) -> int | None:
    """The clicked button's value as a number (an expense, task or batch id), None if it is not one."""
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def view_state(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = view.get("state", {}).get("values", {})
    return values


def view_input(values: dict[str, dict[str, Any]], block: str, action: str | None = None) -> dict[str, Any]:
    """One element's state; inputs use their block id as action id."""
    return values.get(block, {}).get(action or block, {}) or {}
