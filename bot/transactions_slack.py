"""Slack side of card statements: a near match offered in the receipt's thread is answered with
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

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import identity
from bot.context import AppContext
from storage.reconcile import (
    CONFIRM_ACTION,
    NO_RECEIPT_ACTION,
    REJECT_ACTION,
    decide_suggestion,
    declare_no_receipt,
    no_receipt_precheck,
)

NO_RECEIPT_VIEW = "txn_no_receipt_reason"


def no_receipt_modal(line_id: int, channel: str | None, ts: str | None) -> dict[str, Any]:
    """The form asking why a card charge has no receipt."""
    return {
        "type": "modal",
        "callback_id": NO_RECEIPT_VIEW,
        "private_metadata": json.dumps({"line_id": line_id, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": "No receipt"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "reason",
             "label": {"type": "plain_text", "text": "Why is there no receipt?"},
             "hint": {"type": "plain_text", "text": "Finance reads this, e.g. \"parking meter, no slip\"."},
             "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True,
                         "min_length": 1, "max_length": 500}},
        ],
    }  # fmt: skip


def _pair(body: dict[str, Any]) -> tuple[int, int] | None:
    try:
        line_id, expense_id = str(body["actions"][0]["value"]).split(":")
        return int(line_id), int(expense_id)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def register(app: AsyncApp, ctx: AppContext) -> None:
    """Add the Confirm / Not this one listeners to ``app``."""

    async def answer(body: dict[str, Any], respond: AsyncRespond, *, confirm: bool) -> None:
        pair = _pair(body)
        if pair is None:
            return
        user = body["user"]["id"]
        email = await identity.email_of(ctx, user)
        directory = ctx.directory
        privileged = bool(email) and (directory.is_finance(email or "") or directory.is_admin(email or ""))
        done, message = await asyncio.to_thread(decide_suggestion, ctx.db, pair[0], pair[1], confirm=confirm,
                                                user_id=user, may_decide_for_others=privileged)  # fmt: skip
        if done:  # the question is answered: no button is left on it
            await respond(text=message, replace_original=True,
                          blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": message}}])  # fmt: skip
        else:
            await respond(text=message, response_type="ephemeral", replace_original=False)

    async def who(user: str) -> tuple[str | None, bool]:
        email = await identity.email_of(ctx, user)
        directory = ctx.directory
        return email, bool(email) and (directory.is_finance(email or "") or directory.is_admin(email or ""))

    @app.action(NO_RECEIPT_ACTION)
    async def on_no_receipt(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                            client: AsyncWebClient) -> None:  # fmt: skip
        await ack()
        try:
            line_id = int(str(body["actions"][0]["value"]))
        except (KeyError, IndexError, ValueError, TypeError):
            return
        email, privileged = await who(body["user"]["id"])
        problem = await asyncio.to_thread(no_receipt_precheck, ctx.db, line_id, email=email, privileged=privileged,
                                          policy=ctx.policy)  # fmt: skip
        if problem is not None:
            await respond(text=problem, response_type="ephemeral", replace_original=False)
            return
        container = body.get("container") or {}
        modal = no_receipt_modal(line_id, container.get("channel_id"), container.get("message_ts"))
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view(NO_RECEIPT_VIEW)
    async def on_no_receipt_reason(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                   client: AsyncWebClient) -> None:  # fmt: skip
        values = view.get("state", {}).get("values", {})
        reason = str((values.get("reason", {}).get("reason") or {}).get("value") or "")
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            line_id = int(meta["line_id"])
        except (ValueError, KeyError, TypeError):
            await ack()
            return
        user = body["user"]["id"]
        email, privileged = await who(user)
        outcome = await asyncio.to_thread(declare_no_receipt, ctx.db, line_id, reason, actor=user, email=email,
                                          privileged=privileged, policy=ctx.policy, via="slack")  # fmt: skip
        if not outcome.done:
            await ack(response_action="errors", errors={"reason": outcome.message})
            return
        await ack()
        if meta.get("channel") and meta.get("ts"):  # the reminder keeps no button
            await client.chat_update(channel=meta["channel"], ts=meta["ts"], text=outcome.message,
                                     blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": outcome.message}}])  # fmt: skip

    @app.action(CONFIRM_ACTION)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await answer(body, respond, confirm=True)

    @app.action(REJECT_ACTION)
    async def on_reject(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await answer(body, respond, confirm=False)


def home_blocks(ctx: AppContext, email: str | None, *, finance: bool) -> list[dict[str, Any]]:
    """The App Home section: my card charges without a receipt; for finance, what is still open."""
    from storage.reconcile import home_summary

    with ctx.db() as session:
        summary = home_summary(session, email, finance=finance)
    blocks: list[dict[str, Any]] = []
    if summary.mine:
        lines = []
        for item in summary.mine:
            what = (
                f"is it {item.expense}?"
                if item.status == "suggested"
                else "no receipt yet: send me the photo"
            )
            lines.append(f"{item.date} · {item.description} · {item.amount} {item.currency} · _{what}_")
        blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": "My card charges without a receipt"}}
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if finance and (summary.counts or summary.unreconciled_batches):
        c = summary.counts
        text = (f"*Card charges:* {c.get('missing_receipt', 0)} missing a receipt, {c.get('suggested', 0)} offered, "
                f"{c.get('unmatched', 0)} unmatched, {c.get('matched', 0)} matched, "
                f"{c.get('no_receipt', 0)} without a receipt (reason given)\n"
                f"*Bank:* {c.get('reconciled', 0)} transfers reconciled")  # fmt: skip
        if summary.unreconciled_batches:
            text += "\n*Payout batches not seen on a bank statement:* " + ", ".join(
                f"#{b}" for b in summary.unreconciled_batches
            )
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Statements (finance)"}})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks
