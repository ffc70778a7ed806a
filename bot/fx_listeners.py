"""“Use my card's rate” on the receipt card: the rate the employee's card statement shows.

The rate is checked against the reference rate of the claim's date within the policy's
``card_rate_tolerance_percent``; an empty field goes back to the reference rate. The change is
audited and the card is updated.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import identity
from bot.blocks.card import CARD_RATE, CARD_RATE_VIEW
from bot.blocks.common import context, section, text
from bot.context import AppContext
from bot.conversion import reference, reimbursement_currency
from bot.delivery import deliver_pending
from storage import audit, outbox
from storage.db import DatabaseUnavailable, retry_on_conflict, transaction
from storage.models import Expense
from workflows.conversion import CARD_STATEMENT, Conversion, check_card_rate, parse_rate, rate_text
from workflows.expenses import EDITABLE, Status, expense_ref
from workflows.fx import MissingRate
from workflows.money import MoneyError

RATE_BLOCK = "card_rate"


def build_card_rate_modal(expense_id: int, ref: str, conv: Conversion, current: str | None,
                          tolerance: str) -> dict[str, Any]:  # fmt: skip
    pair = f"1 {conv.original.currency} = ? {conv.converted.currency}"
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": RATE_BLOCK, "max_length": 32}
    if current:
        element["initial_value"] = current
    return {
        "type": "modal",
        "callback_id": CARD_RATE_VIEW,
        "private_metadata": json.dumps({"expense_id": expense_id}),
        "title": text(f"Rate for {ref}"[:24]),
        "submit": text("Save"),
        "close": text("Cancel"),
        "blocks": [
            section(f"The {conv.source} rate of {conv.rate_day.isoformat()} is *{conv.rate_text}*: "
                    f"{conv.original.format()} = {conv.converted.format()}."),
            {"type": "input", "block_id": RATE_BLOCK, "optional": True, "label": text(f"Your card statement's rate ({pair})"),
             "element": element,
             "hint": text(f"At most {tolerance}% from the reference rate. Leave empty to use the reference rate.")},
            context("Your card statement shows both amounts: the rate is the amount charged divided by the receipt's total."),
        ],
    }  # fmt: skip


def _missing_facts(expense: Expense, ref: str) -> str | None:
    """What the card must have before a rate means anything: total, currency and date."""
    if expense.amount is None or not expense.currency:
        return f"{ref} has no total yet: click *Edit* and type it first."
    if expense.spent_on is None:
        return f"{ref} has no date yet: click *Edit* and pick it first (the rate is the one of that day)."
    return None


def _rate_target(
    ctx: AppContext, session: Any, expense_id: int, user_id: str, email: str | None
) -> tuple[Expense, str, str] | str:
    """The expense whose rate ``user_id`` may set, its reference and the currency they are paid in,
    or why they may not (a message)."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        return "This expense no longer exists."
    ref = expense_ref(expense.id)
    if expense.employee_id != user_id:
        return f"Only <@{expense.employee_id}> can change the rate of {ref}."
    if Status(expense.status) not in EDITABLE or expense.status == Status.READING:
        return f"{ref} is {expense.status.replace('_', ' ')}: its rate can no longer change."
    return _missing_facts(expense, ref) or (expense, ref, reimbursement_currency(ctx, email))


def _load(ctx: AppContext, expense_id: int, user_id: str, email: str | None) -> dict[str, Any] | str:
    with ctx.db() as session:
        target = _rate_target(ctx, session, expense_id, user_id, email)
        if isinstance(target, str):
            return target
        expense, ref, to = target
        try:
            conv = reference(session, expense, to)
        except (MissingRate, MoneyError) as exc:
            return str(exc)
        if conv is None:
            return f"{ref} is in {to}, the currency you are paid in: there is no rate to enter."
        current = (
            rate_text(expense.fx_rate)
            if expense.fx_rate is not None and expense.fx_rate_source == CARD_STATEMENT
            else None
        )
        return {"ref": ref, "conv": conv, "current": current}


def _save(
    ctx: AppContext, expense_id: int, user_id: str, email: str | None, raw: str
) -> dict[str, str] | str | None:
    """None when saved; ``{"field": message}`` for the modal; a plain message otherwise."""
    with transaction(ctx.db) as session:
        target = _rate_target(ctx, session, expense_id, user_id, email)
        if isinstance(target, str):
            return target
        expense, ref, to = target
        try:
            conv = reference(session, expense, to)
        except (MissingRate, MoneyError) as exc:
            return {RATE_BLOCK: str(exc)[:150]}
        if conv is None:
            return f"{ref} is in {to}: there is no rate to enter."
        before = audit.expense_snapshot(expense)
        if raw.strip():
            try:
                rate = parse_rate(raw)
                check_card_rate(rate, conv, ctx.policy.card_rate_tolerance_percent)
            except MoneyError as exc:
                return {RATE_BLOCK: str(exc)[:150]}
            expense.fx_rate, expense.fx_rate_source, expense.fx_rate_day = (
                rate,
                CARD_STATEMENT,
                expense.spent_on,
            )
            expense.reimburse_currency = to
            expense.reimburse_amount = None  # set for good at submission
            detail = f"card statement rate {rate_text(rate)} (reference {conv.rate_text} of {conv.rate_day})"
        else:
            expense.fx_rate = expense.fx_rate_source = expense.fx_rate_day = None
            expense.reimburse_currency = expense.reimburse_amount = None
            detail = f"back to the reference rate {conv.rate_text} of {conv.rate_day}"
        session.flush()
        audit.record(session, actor=user_id, action="expense.rate_set", entity="expense", entity_id=expense.id,
                     before=before, after=audit.expense_snapshot(expense), detail=detail)  # fmt: skip
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return None


def register_fx(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(CARD_RATE)
    async def on_card_rate(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                           respond: AsyncRespond) -> None:  # fmt: skip
        await ack()
        raw = str(body["actions"][0].get("value") or "")
        if not raw.isdigit():
            return
        user = body["user"]["id"]
        email = await identity.email_of(ctx, user)
        try:
            loaded = await asyncio.to_thread(_load, ctx, int(raw), user, email)
        except DatabaseUnavailable:
            loaded = "I could not reach the database just now. Try again in a moment."
        if isinstance(loaded, str):
            await respond(text=loaded, response_type="ephemeral", replace_original=False)
            return
        tolerance = rate_text(ctx.policy.card_rate_tolerance_percent)
        await client.views_open(trigger_id=body["trigger_id"], view=build_card_rate_modal(
            int(raw), loaded["ref"], loaded["conv"], loaded["current"], tolerance))  # fmt: skip

    @app.view(CARD_RATE_VIEW)
    async def on_card_rate_saved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        expense_id = int(json.loads(view.get("private_metadata") or "{}").get("expense_id", 0))
        raw = str(
            ((view.get("state") or {}).get("values") or {})
            .get(RATE_BLOCK, {})
            .get(RATE_BLOCK, {})
            .get("value")
            or ""
        )
        user = body["user"]["id"]
        email = await identity.email_of(ctx, user)
        try:
            outcome = await asyncio.to_thread(retry_on_conflict, _save, ctx, expense_id, user, email, raw)
        except DatabaseUnavailable:
            outcome = {RATE_BLOCK: "I could not reach the database just now. Try again in a moment."}
        if isinstance(outcome, dict):
            await ack(response_action="errors", errors=outcome)
            return
        await ack()
        if outcome is not None:
            await ctx.slack.chat_postMessage(channel=await identity.dm_channel(ctx, user), text=outcome)
            return
        await deliver_pending(ctx)
