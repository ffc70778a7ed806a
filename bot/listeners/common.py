"""What the Slack listeners share: how a handler finds the app's context, reads a click or a form,
and answers the person privately."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext, AsyncRespond

from bot import i18n, identity
from bot.context import AppContext
from bot.i18n import N_, _

# In English here (marked for the catalogues): say it with :func:`in_their_words`.
TRY_AGAIN = N_("I could not reach the database just now; nothing was changed. Try again in a moment.")

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


async def in_their_words(ctx: AppContext, user_id: str | None, message: str) -> str:
    """``message`` (marked with ``N_``) in the language of ``user_id``: their Slack locale, which
    Slack tells when the database cannot (an outage), else the company's language."""
    try:
        locale = await identity.locale_for(ctx, user_id) if user_id else None
    except Exception:  # the message must still go out, in the company's language
        locale = None
    with i18n.use_locale(locale or i18n.choose(None, ctx.settings.default_locale)):
        return _(message)


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
