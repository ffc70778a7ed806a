"""“Use my card's rate” on the receipt card: the form to type the rate the employee's card
statement shows, and saving it (:mod:`services.card_rate` checks, keeps and audits it)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import identity
from bot.blocks.card import CARD_RATE, CARD_RATE_VIEW
from bot.blocks.fx import RATE_BLOCK, build_card_rate_modal, rate_refusal_text
from bot.delivery import deliver_pending
from bot.listeners.common import app_context, tell
from services.card_rate import RateInvalid, RateRefusal, rate_form, set_card_rate
from storage.db import DatabaseUnavailable
from workflows.conversion import rate_text
from workflows.expenses import expense_ref

UNREACHABLE = "I could not reach the database just now. Try again in a moment."


async def on_card_rate(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    raw = str(body["actions"][0].get("value") or "")
    if not raw.isdigit():
        return
    ctx = app_context(context)
    user = body["user"]["id"]
    email = await identity.email_of(ctx, user)
    try:
        form = await asyncio.to_thread(rate_form, ctx.db, ctx.directory, ctx.policy, int(raw), user, email)
    except DatabaseUnavailable:
        await tell(respond, UNREACHABLE)
        return
    if isinstance(form, RateRefusal):
        await tell(respond, rate_refusal_text(form))
        return
    tolerance = rate_text(ctx.policy.card_rate_tolerance_percent)
    modal = build_card_rate_modal(
        form.expense_id, expense_ref(form.expense_id), form.conversion, form.current, tolerance
    )
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_card_rate_saved(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    ctx = app_context(context)
    expense_id = int(json.loads(view.get("private_metadata") or "{}").get("expense_id", 0))
    raw = str(
        ((view.get("state") or {}).get("values") or {}).get(RATE_BLOCK, {}).get(RATE_BLOCK, {}).get("value")
        or ""
    )
    user = body["user"]["id"]
    email = await identity.email_of(ctx, user)
    try:
        outcome = await asyncio.to_thread(
            set_card_rate, ctx.db, ctx.directory, ctx.policy, expense_id, user, email, raw
        )
    except DatabaseUnavailable:
        await ack(response_action="errors", errors={RATE_BLOCK: UNREACHABLE})
        return
    if isinstance(outcome, RateInvalid):
        await ack(response_action="errors", errors={RATE_BLOCK: outcome.detail[:150]})
        return
    await ack()
    if isinstance(outcome, RateRefusal):
        channel = await identity.dm_channel(ctx, user)
        await ctx.slack.chat_postMessage(channel=channel, text=rate_refusal_text(outcome))
        return
    await deliver_pending(ctx)


def register(app: AsyncApp) -> None:
    app.action(CARD_RATE)(on_card_rate)
    app.view(CARD_RATE_VIEW)(on_card_rate_saved)
