"""The ``/expense`` slash command (help, ``delegate``, ``policy``, ``perdiem``, or the form to type an expense in)
and saving that form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import delegation, expenses, i18n, identity, per_diem, policy_admin
from bot.blocks.card import NEW_VIEW, build_expense_modal
from bot.context import AppContext
from bot.i18n import N_, _
from bot.listeners.card import valid_edit
from bot.listeners.common import app_context, view_input, view_state
from workflows.per_diem import is_per_diem_command

HELP = N_(
    "Send me a receipt photo or PDF in a direct message, or use `/expense` to type one in. "
    "`/expense perdiem <destination> <first day> <last day>` claims per diem for a trip (no receipt). "
    "Your expenses and approvals are on my Home tab. `/expense policy` shows the expense policy."
)


async def on_command(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """``/expense`` and its subcommands, answered in the language of the person who typed it.

    Acknowledged first (Slack waits three seconds), before the person's language is looked up."""
    await ack()
    ctx = app_context(context)
    with i18n.use_locale(await identity.locale_for(ctx, body["user_id"])):
        await _command(ctx, body, client)


async def _command(ctx: AppContext, body: dict[str, Any], client: AsyncWebClient) -> None:
    text = (body.get("text") or "").strip()
    if text.lower().startswith("delegate"):
        answer = await delegation.handle_command(ctx, body["user_id"], text, dt.date.today())
        await client.chat_postEphemeral(channel=body["channel_id"], user=body["user_id"], text=answer.text)
        return
    if is_per_diem_command(text):
        claimed = await per_diem.handle_command(
            ctx, body["user_id"], body.get("channel_id"), text, dt.date.today()
        )
        await client.chat_postEphemeral(channel=body["channel_id"], user=body["user_id"], text=claimed)
        return
    if policy_admin.is_policy_command(text):
        reply = await policy_admin.handle_command(ctx, body["user_id"], text)
        await client.chat_postEphemeral(channel=body["channel_id"], user=body["user_id"], text=reply.text)
        return
    if text.lower() in {"help", "?"}:
        await client.chat_postEphemeral(channel=body["channel_id"], user=body["user_id"], text=_(HELP))
        return
    modal = build_expense_modal(
        None,
        callback_id=NEW_VIEW,
        with_file=True,
        default_currency=ctx.settings.company_currency.upper(),
        metadata={"channel_id": body.get("channel_id")},
        categories=ctx.policy.category_options(),
    )
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_new_saved(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    ctx = app_context(context)
    edit = await valid_edit(ctx, ack, view, body["user"]["id"])
    if edit is None:
        return
    files = view_input(view_state(view), "receipt").get("files") or []
    await expenses.create_typed(ctx, body["user"]["id"], edit, "command", files[0] if files else None)


def register(app: AsyncApp) -> None:
    app.command("/expense")(on_command)  # a literal: tests/test_manifest.py checks it against manifest.yml
    app.view(NEW_VIEW)(on_new_saved)
