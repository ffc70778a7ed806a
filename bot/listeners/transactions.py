"""Card statements in Slack: a near match offered in the receipt's thread is answered with
**Confirm** (the charge is linked to the receipt) or **Not this one** (that receipt is never
offered for the charge again). Only the receipt's owner, finance or an admin may answer.

The missing-receipt reminder (a DM) has a **No receipt…** button: the card holder says why there
is none in a form; the policy's ``no_receipt_allowed_up_to`` (default: its receipt threshold)
decides whether that is allowed (finance and admins may for any amount), and a refusal says why.

The question and the reminder are queued by ``expensebot transactions match`` (storage.reconcile),
as outbox messages.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import identity
from bot.blocks.transactions import NO_RECEIPT_VIEW, no_receipt_modal
from bot.context import AppContext
from bot.listeners.common import app_context, tell
from storage.reconcile import (
    CONFIRM_ACTION,
    NO_RECEIPT_ACTION,
    REJECT_ACTION,
    decide_suggestion,
    declare_no_receipt,
    no_receipt_precheck,
)


def _pair(body: dict[str, Any]) -> tuple[int, int] | None:
    try:
        line_id, expense_id = str(body["actions"][0]["value"]).split(":")
        return int(line_id), int(expense_id)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


async def _who(ctx: AppContext, user: str) -> tuple[str | None, bool]:
    """The person's email, and whether they are finance or an admin."""
    email = await identity.email_of(ctx, user)
    directory = ctx.directory
    return email, bool(email) and (directory.is_finance(email or "") or directory.is_admin(email or ""))


async def _answer(ctx: AppContext, body: dict[str, Any], respond: AsyncRespond, *, confirm: bool) -> None:
    pair = _pair(body)
    if pair is None:
        return
    user = body["user"]["id"]
    _email, privileged = await _who(ctx, user)
    done, message = await asyncio.to_thread(
        decide_suggestion,
        ctx.db,
        pair[0],
        pair[1],
        confirm=confirm,
        user_id=user,
        may_decide_for_others=privileged,
    )
    if done:  # the question is answered: no button is left on it
        await respond(
            text=message,
            replace_original=True,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": message}}],
        )
    else:
        await tell(respond, message)


async def on_confirm(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    await _answer(app_context(context), body, respond, confirm=True)


async def on_reject(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    await _answer(app_context(context), body, respond, confirm=False)


async def on_no_receipt(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    try:
        line_id = int(str(body["actions"][0]["value"]))
    except (KeyError, IndexError, ValueError, TypeError):
        return
    ctx = app_context(context)
    email, privileged = await _who(ctx, body["user"]["id"])
    problem = await asyncio.to_thread(
        no_receipt_precheck, ctx.db, line_id, email=email, privileged=privileged, policy=ctx.policy
    )
    if problem is not None:
        await tell(respond, problem)
        return
    container = body.get("container") or {}
    modal = no_receipt_modal(line_id, container.get("channel_id"), container.get("message_ts"))
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_no_receipt_reason(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    values = view.get("state", {}).get("values", {})
    reason = str((values.get("reason", {}).get("reason") or {}).get("value") or "")
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        line_id = int(meta["line_id"])
    except (ValueError, KeyError, TypeError):
        await ack()
        return
    ctx = app_context(context)
    user = body["user"]["id"]
    email, privileged = await _who(ctx, user)
    outcome = await asyncio.to_thread(
        declare_no_receipt,
        ctx.db,
        line_id,
        reason,
        actor=user,
        email=email,
        privileged=privileged,
        policy=ctx.policy,
        via="slack",
    )
    if not outcome.done:
        await ack(response_action="errors", errors={"reason": outcome.message})
        return
    await ack()
    if meta.get("channel") and meta.get("ts"):  # the reminder keeps no button
        await client.chat_update(
            channel=meta["channel"],
            ts=meta["ts"],
            text=outcome.message,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": outcome.message}}],
        )


def register(app: AsyncApp) -> None:
    app.action(CONFIRM_ACTION)(on_confirm)
    app.action(REJECT_ACTION)(on_reject)
    app.action(NO_RECEIPT_ACTION)(on_no_receipt)
    app.view(NO_RECEIPT_VIEW)(on_no_receipt_reason)
