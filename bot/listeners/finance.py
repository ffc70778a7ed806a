"""Finance on the payout digest: the Export menu (the file goes into the digest's thread) and Mark paid."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot import identity, payouts
from bot.blocks.digest import EXPORT, MARK_PAID
from bot.context import AppContext
from bot.i18n import N_
from bot.listeners.common import action_value, app_context, in_their_words, tell
from services.payouts import may_pay
from storage.db import DatabaseUnavailable
from workflows.exports import EXPORT_FORMATS, ExportError

log = logging.getLogger(__name__)
NOT_EXPORTED = N_("I could not reach the database just now; nothing was exported. Try again in a moment.")


def parse_export_choice(value: str) -> tuple[int, str] | None:
    raw_id, _, fmt = value.partition(":")
    if not raw_id.isdigit() or fmt not in EXPORT_FORMATS:
        return None
    return int(raw_id), fmt


async def export_from_digest(ctx: AppContext, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Make the chosen export of the digest's batch and upload it into the digest's thread."""
    action = body["actions"][0]
    choice = parse_export_choice(str((action.get("selected_option") or {}).get("value", "")))
    if choice is None:
        return
    batch_id, fmt = choice
    user = body["user"]["id"]
    email = await identity.email_of(ctx, user)
    if not may_pay(ctx.directory, email):
        await tell(respond, await in_their_words(ctx, user, N_("Only finance can export payout batches.")))
        return
    try:
        export = await asyncio.to_thread(payouts.make_export, ctx, batch_id, fmt, user)
    except ExportError as exc:
        await tell(respond, str(exc))
        return
    except DatabaseUnavailable:
        await tell(respond, await in_their_words(ctx, user, NOT_EXPORTED))
        return
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    thread = container.get("message_ts")
    comment = (
        f"{EXPORT_FORMATS[fmt].label} of batch #{batch_id} for <@{user}>: {export.expense_count} expenses."
    )
    if export.notes:
        comment += "\nNot in this file:\n" + "\n".join(f"• {n}" for n in export.notes[:20])
        if len(export.notes) > 20:
            comment += f"\n…and {len(export.notes) - 20} more."
    try:
        await ctx.slack.files_upload_v2(
            channel=channel,
            thread_ts=thread,
            content=export.content,
            filename=export.filename,
            title=f"Payout batch #{batch_id} ({fmt})",
            initial_comment=comment,
        )
    except SlackApiError as exc:
        log.warning("could not upload export of batch %s: %s", batch_id, exc.response.get("error"))
        await tell(
            respond,
            f"The export is ready but Slack refused the upload ({exc.response.get('error')}); "
            f"use `expensebot export --batch {batch_id} --format {fmt}`.",
        )


async def on_export(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    await export_from_digest(app_context(context), body, respond)


async def on_mark_paid(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    batch_id = action_value(body)
    if batch_id is None:
        return
    message = await payouts.mark_paid(app_context(context), batch_id, body["user"]["id"])
    await tell(respond, message)


def register(app: AsyncApp) -> None:
    app.action(EXPORT)(on_export)
    app.action(MARK_PAID)(on_mark_paid)
