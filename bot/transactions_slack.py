"""Slack side of card statements: a near match offered in the receipt's thread is answered with
**Confirm** (the charge is linked to the receipt) or **Not this one** (that receipt is never
offered for the charge again). Only the receipt's owner, finance or an admin may answer.

The question itself is queued by ``expensebot transactions match`` (storage.reconcile), as an
outbox message in the thread of the receipt card.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import identity
from bot.context import AppContext
from storage.reconcile import CONFIRM_ACTION, REJECT_ACTION, decide_suggestion


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
                f"{c.get('unmatched', 0)} unmatched, {c.get('matched', 0)} matched\n"
                f"*Bank:* {c.get('reconciled', 0)} transfers reconciled")  # fmt: skip
        if summary.unreconciled_batches:
            text += "\n*Payout batches not seen on a bank statement:* " + ", ".join(
                f"#{b}" for b in summary.unreconciled_batches
            )
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Statements (finance)"}})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks
