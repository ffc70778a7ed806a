"""Approvers' buttons on an approval request: Approve, Reject and Send back (with the reason form),
and "More" → approve a lower amount (with its form)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import approvals, i18n, identity
from bot.blocks.approvals import (
    APPROVE,
    MORE,
    PARTIAL_VIEW,
    REASON_VIEW,
    REJECT,
    SEND_BACK,
    build_partial_modal,
    build_reason_modal,
)
from bot.i18n import _
from bot.listeners.common import (
    TRY_AGAIN,
    action_value,
    app_context,
    in_their_words,
    tell,
    view_input,
    view_state,
)
from storage.db import DatabaseUnavailable


async def on_approve(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    task_id = action_value(body)
    if task_id is None:
        return
    try:
        outcome = await approvals.decide(app_context(context), task_id, body["user"]["id"], approvals.APPROVE)
    except DatabaseUnavailable:
        await tell(respond, await in_their_words(app_context(context), body["user"]["id"], TRY_AGAIN))
        return
    if not outcome.ok:
        await tell(respond, outcome.message)


async def open_reason(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    kind: str,
) -> None:
    """Open the form asking why (``kind``: reject or send_back), unless the person may not decide."""
    await ack()
    task_id = action_value(body)
    if task_id is None:
        return
    ctx = app_context(context)
    user = body["user"]["id"]
    email = await identity.email_of(ctx, user)
    # In the approver's language: the threads below keep it.
    with i18n.use_locale(await identity.locale_for(ctx, user)):
        refusal = await asyncio.to_thread(approvals.precheck, ctx, task_id, user, email)
        if refusal:
            await tell(respond, refusal)
            return
        ref = await asyncio.to_thread(approvals.task_ref, ctx, task_id)
        container = body.get("container") or {}
        modal = build_reason_modal(
            task_id=task_id,
            kind=kind,
            ref=ref,
            channel=container.get("channel_id"),
            ts=container.get("message_ts"),
        )
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_reject(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await open_reason(ack, body, respond, client, context, "reject")


async def on_send_back(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await open_reason(ack, body, respond, client, context, "send_back")


async def on_reason(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    reason = (view_input(view_state(view), "reason").get("value") or "").strip()
    ctx = app_context(context)
    if not reason:
        with i18n.use_locale(await identity.locale_for(ctx, body["user"]["id"])):
            required = _("A reason is required; the employee will see it.")
        await ack(response_action="errors", errors={"reason": required})
        return
    await ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    user = body["user"]["id"]
    decision = approvals.REJECT if meta.get("kind") == "reject" else approvals.SEND_BACK
    outcome = await approvals.decide(ctx, int(meta["task_id"]), user, decision, reason)
    if not outcome.ok:
        channel = meta.get("channel") or await identity.dm_channel(ctx, user)
        await ctx.slack.chat_postEphemeral(channel=channel, user=user, text=outcome.message)


async def on_more(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    selected = (body["actions"][0].get("selected_option") or {}).get("value", "")
    kind, _sep, raw_id = selected.partition(":")
    if kind != "partial" or not raw_id.isdigit():
        return
    ctx = app_context(context)
    task_id = int(raw_id)
    user = body["user"]["id"]
    email = await identity.email_of(ctx, user)
    # In the approver's language: the threads below keep it.
    with i18n.use_locale(await identity.locale_for(ctx, user)):
        refusal = await asyncio.to_thread(approvals.precheck, ctx, task_id, user, email)
        claim = await asyncio.to_thread(approvals.task_claim, ctx, task_id)
        if refusal or claim is None:
            await tell(respond, refusal or _("This approval request no longer exists."))
            return
        ref, total, currency = claim
        modal = build_partial_modal(task_id=task_id, ref=ref, total=total, currency=currency)
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_partial(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    values = view_state(view)
    amount = (view_input(values, "amount").get("value") or "").strip()
    reason = (view_input(values, "reason").get("value") or "").strip()
    errors = {}
    ctx = app_context(context)
    if not amount or len(reason) < 3:
        with i18n.use_locale(await identity.locale_for(ctx, body["user"]["id"])):
            if not amount:
                errors["amount"] = _("Type the amount you approve, e.g. 30.00.")
            if len(reason) < 3:
                errors["reason"] = _("Say why; the employee will see it.")
        await ack(response_action="errors", errors=errors)
        return
    meta = json.loads(view.get("private_metadata") or "{}")
    task_id = int(meta["task_id"])
    problem = await asyncio.to_thread(approvals.check_lower_amount, ctx, task_id, amount, reason)
    if problem:
        await ack(response_action="errors", errors={"amount": problem[:150]})
        return
    await ack()
    user = body["user"]["id"]
    outcome = await approvals.decide(ctx, task_id, user, approvals.APPROVE, reason, lower_amount=amount)
    if not outcome.ok:
        channel = await identity.dm_channel(ctx, user)
        await ctx.slack.chat_postEphemeral(channel=channel, user=user, text=outcome.message)


def register(app: AsyncApp) -> None:
    app.action(APPROVE)(on_approve)
    app.action(MORE)(on_more)
    app.view(PARTIAL_VIEW)(on_partial)
    app.action(REJECT)(on_reject)
    app.action(SEND_BACK)(on_send_back)
    app.view(REASON_VIEW)(on_reason)
