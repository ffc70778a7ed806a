"""Receipts arriving as files: shared in the bot's DM or an expenses channel, or picked with the
"Create expense" message shortcut. Plain DM messages get a short hint."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import expenses
from bot.context import AppContext
from bot.listeners.common import TRY_AGAIN, app_context, in_their_words
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

CREATE_EXPENSE_SHORTCUT = "create_expense"


def accepts_channel(ctx: AppContext, channel: str | None, channel_type: str | None) -> bool:
    """Receipts are taken from the bot's DMs and the configured expenses channels."""
    return (
        channel_type == "im"
        or (channel or "").startswith("D")
        or channel in ctx.settings.expenses_channel_ids
    )


async def start_from_files(
    ctx: AppContext,
    user: str,
    channel: str,
    files: list[dict[str, Any]],
    ts: str | None,
    note: str,
    source: str,
) -> None:
    for file in files:
        if file.get("mode") == "tombstone" or not file.get("id"):
            continue
        try:
            await expenses.intake_file(
                ctx,
                expenses.Intake(
                    user_id=user, channel_id=channel, file=file, thread_ts=ts, note=note, source=source
                ),
            )
        except DatabaseUnavailable:
            # Slack sends two events for one upload (message/file_share and file_shared): one reply.
            if await ctx.kv.first_time_async(f"try-again:{file['id']}", ttl_seconds=3600):
                await ctx.slack.chat_postMessage(
                    channel=channel, thread_ts=ts, text=await in_their_words(ctx, user, TRY_AGAIN)
                )


async def take_file_share(ctx: AppContext, event: dict[str, Any]) -> None:
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel or event.get("bot_id") or user == ctx.bot_user_id:
        return
    if not accepts_channel(ctx, channel, event.get("channel_type")):
        return
    source = "dm" if event.get("channel_type") == "im" or channel.startswith("D") else "channel"
    await start_from_files(
        ctx, user, channel, event.get("files") or [], event.get("ts"), event.get("text") or "", source
    )


async def on_file_share(event: dict[str, Any], context: AsyncBoltContext) -> None:
    await take_file_share(app_context(context), event)


async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """Plain messages: a short hint in the DM, nothing in channels."""
    if event.get("subtype") or event.get("bot_id") or event.get("channel_type") != "im":
        return
    ctx = app_context(context)
    if event.get("files"):
        await take_file_share(ctx, event)
        return
    text = (event.get("text") or "").strip().lower()
    if text in {"help", "hi", "hello", "?"}:
        await ctx.slack.chat_postMessage(
            channel=event["channel"],
            text="Send me a photo or PDF of a receipt (add a note such as “client lunch with Acme”), "
            "or use /expense to type an expense in. Your expenses are on my Home tab.",
        )


async def on_file_shared(event: dict[str, Any], context: AsyncBoltContext) -> None:
    ctx = app_context(context)
    user, channel, file_id = event.get("user_id"), event.get("channel_id"), event.get("file_id")
    if not user or not channel or not file_id or user == ctx.bot_user_id:
        return
    if not accepts_channel(ctx, channel, None):
        return
    try:
        info = await ctx.slack.files_info(file=file_id)
    except SlackApiError as exc:
        log.warning("files.info %s: %s", file_id, exc.response.get("error"))
        return
    file = dict(info.get("file") or {"id": file_id})
    shares = (file.get("shares") or {}).get("private", {}) | (file.get("shares") or {}).get("public", {})
    ts = None
    for share in shares.get(channel, [])[:1]:
        ts = share.get("ts")
    source = "dm" if channel.startswith("D") else "channel"
    await start_from_files(ctx, user, channel, [file], ts, "", source)


async def on_create_expense(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    message = body.get("message") or {}
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id", "")
    files = message.get("files") or []
    if not files:
        await client.chat_postEphemeral(
            channel=channel,
            user=user,
            text="That message has no file. Use it on a message with a receipt photo or PDF, "
            "or use /expense to type an expense in.",
        )
        return
    owner = message.get("user") or user
    if owner != user:
        await client.chat_postEphemeral(
            channel=channel, user=user, text="You can only create expenses from your own messages."
        )
        return
    await start_from_files(
        app_context(context), user, channel, files, message.get("ts"), message.get("text") or "", "shortcut"
    )


def register(app: AsyncApp) -> None:
    app.event({"type": "message", "subtype": "file_share"})(on_file_share)
    app.event("message")(on_message)
    app.event("file_shared")(on_file_shared)
    app.shortcut(CREATE_EXPENSE_SHORTCUT)(on_create_expense)
