"""“Split” on the receipt card: the form to share the receipt out into parts, the customer search
behind its rows, and saving it (:mod:`services.splits` checks, keeps and audits the parts)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import i18n, identity
from bot.blocks.card import NO_CUSTOMER, SPLIT, SPLIT_VIEW
from bot.blocks.split import (
    CUSTOMER_ROW,
    ROWS,
    build_split_modal,
    option,
    row_errors,
    split_refusal_text,
    unknown_category_text,
)
from bot.context import AppContext
from bot.delivery import deliver_pending
from bot.i18n import _
from bot.listeners.common import app_context, tell
from services.splits import PartsInvalid, SplitRefusal, UnknownCategory, save_split, split_refusal
from storage.db import DatabaseUnavailable
from storage.models import Expense
from workflows.money import MoneyError, parse_amount
from workflows.splits import PartSpec

UNREACHABLE = "I could not reach the database just now. Try again in a moment."


def parse_rows(values: dict[str, Any]) -> tuple[list[tuple[int, PartSpec]], dict[str, str]]:
    """The filled rows as ``(row, PartSpec)``, and errors by block id for the modal."""
    rows: list[tuple[int, PartSpec]] = []
    errors: dict[str, str] = {}

    def get(block: str, action: str) -> dict[str, Any]:
        return dict((values.get(block) or {}).get(action) or {})

    for row in range(1, ROWS + 1):
        share = (get(f"share_{row}", f"share_{row}").get("value") or "").strip()
        category = (get(f"category_{row}", f"category_{row}").get("selected_option") or {}).get("value")
        customer = (get(f"customer_{row}", f"{CUSTOMER_ROW}{row}").get("selected_option") or {}).get("value")
        customer = None if customer in (None, NO_CUSTOMER) else str(customer)
        project = (get(f"project_{row}", f"project_{row}").get("value") or "").strip() or None
        if not (share or category or customer or project):
            continue
        amount = percent = None
        try:
            if share.endswith("%"):
                percent = parse_amount(share[:-1])
            elif share:
                amount = parse_amount(share)
        except MoneyError as exc:
            errors[f"share_{row}"] = str(exc)
            continue
        if customer is not None and not customer.isdigit():
            errors[f"customer_{row}"] = _("Pick a customer from the list.")
            continue
        rows.append(
            (
                row,
                PartSpec(
                    amount=amount, percent=percent, category=category, customer=customer, project=project
                ),
            )
        )
    return rows, errors


def split_form(ctx: AppContext, expense_id: int, user_id: str) -> dict[str, Any] | str:
    """The split form of ``expense_id`` for ``user_id``, or why they may not split it."""
    with ctx.db() as session:
        expense = session.get(Expense, expense_id)
        refusal = split_refusal(expense, expense_id, user_id)
        if refusal is not None:
            return split_refusal_text(refusal)
        assert expense is not None
        return build_split_modal(expense, ctx.policy.category_options())


def save(
    ctx: AppContext, expense_id: int, user_id: str, values: dict[str, Any]
) -> dict[str, str] | str | None:
    """None when saved; ``{"block": message}`` for the form; a plain message otherwise."""
    rows, errors = parse_rows(values)
    if errors:
        return errors
    outcome = save_split(ctx.db, ctx.policy.categories, expense_id, user_id, [spec for _row, spec in rows])
    if isinstance(outcome, SplitRefusal):
        return split_refusal_text(outcome)
    if isinstance(outcome, PartsInvalid):
        return row_errors(outcome.message, [row for row, _spec in rows])
    if isinstance(outcome, UnknownCategory):
        return {"share_1": unknown_category_text(outcome.category)}
    return None


async def on_split(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    action = body["actions"][0]
    raw = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
    if not raw.isdigit():
        return
    ctx = app_context(context)
    try:
        with i18n.use_locale(await identity.locale_for(ctx, body["user"]["id"])):
            loaded = await asyncio.to_thread(split_form, ctx, int(raw), body["user"]["id"])
    except DatabaseUnavailable:
        loaded = UNREACHABLE
    if isinstance(loaded, str):
        await tell(respond, loaded)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=loaded)


async def on_customer_search(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    ctx = app_context(context)
    query = (body.get("value") or "").strip()
    index = ctx.customers.index()
    found = index.search(query, limit=20) if query and len(index) else []
    options = [option(str(c.id), c.name) for c in found]
    with i18n.use_locale(await identity.locale_for(ctx, str((body.get("user") or {}).get("id") or ""))):
        options.append(option(NO_CUSTOMER, _("No customer")))
    await ack(options=options)


async def on_split_saved(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    ctx = app_context(context)
    expense_id = int(json.loads(view.get("private_metadata") or "{}").get("expense_id", 0))
    values = (view.get("state") or {}).get("values") or {}
    user = body["user"]["id"]
    try:
        with i18n.use_locale(await identity.locale_for(ctx, user)):
            outcome = await asyncio.to_thread(save, ctx, expense_id, user, values)
    except DatabaseUnavailable:
        outcome = {"share_1": UNREACHABLE}
    if isinstance(outcome, dict):
        await ack(response_action="errors", errors=outcome)
        return
    await ack()
    if outcome is not None:
        await ctx.slack.chat_postMessage(channel=await identity.dm_channel(ctx, user), text=outcome)
        return
    await deliver_pending(ctx)


def register(app: AsyncApp) -> None:
    app.action(SPLIT)(on_split)
    app.options(re.compile(f"^{CUSTOMER_ROW}[0-9]+$"))(on_customer_search)
    app.view(SPLIT_VIEW)(on_split_saved)
