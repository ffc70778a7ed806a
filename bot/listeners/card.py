"""The employee's expense card: Submit, Edit (and saving the edit form), Discard, picking the
customer, and the customer search behind the form's select."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import approvals, expenses, i18n, identity, projects
from bot.blocks.card import (
    CUSTOMER_SEARCH,
    DISCARD,
    EDIT,
    EDIT_VIEW,
    NO_CUSTOMER,
    PICK_CUSTOMER,
    PICK_DEAL,
    PICK_PROJECT,
    SUBMIT,
    build_expense_modal,
)
from bot.blocks.common import tax_wording
from bot.context import AppContext
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
from bot.views import load_view
from storage.db import DatabaseUnavailable
from workflows.expense_edits import Edit, validate_edit, with_mileage
from workflows.tax import TaxInput


def parse_edit(view: dict[str, Any]) -> Edit:
    """What the person typed into the expense form."""
    values = view_state(view)
    date_text = view_input(values, "date").get("selected_date")
    category = (view_input(values, "category").get("selected_option") or {}).get("value")
    customer_opt = view_input(values, "customer", CUSTOMER_SEARCH).get("selected_option")
    customer_id: int | None = None
    cleared = False
    if customer_opt:
        if customer_opt.get("value") == NO_CUSTOMER:
            cleared = True
        else:
            customer_id = int(customer_opt["value"])
    else:
        cleared = "customer" in values
    return Edit(
        merchant=view_input(values, "merchant").get("value"),
        spent_on=dt.date.fromisoformat(date_text) if date_text else None,
        amount_text=view_input(values, "amount").get("value"),
        currency=view_input(values, "currency").get("value"),
        category=category,
        customer_id=customer_id,
        customer_cleared=cleared,
        note=view_input(values, "note").get("value"),
        distance_text=(view_input(values, "distance").get("value") or "").strip() or None,
        project=(view_input(values, "project").get("value") or "").strip() or None,
        project_pick=(view_input(values, "project_pick").get("selected_option") or {}).get("value"),
        tax=TaxInput(
            net_text=view_input(values, "net").get("value"),
            tax_text=view_input(values, "tax").get("value"),
            rate_text=view_input(values, "tax_rate").get("value"),
        )
        if "net" in values or "tax" in values or "tax_rate" in values
        else None,
    )


async def valid_edit(ctx: AppContext, ack: AsyncAck, view: dict[str, Any], user_id: str) -> Edit | None:
    """The form's values, or None after answering Slack with the fields to fix (in the language
    of the person who filled it in)."""
    policy = ctx.policy
    edit = with_mileage(parse_edit(view), policy)
    mileage = [key for key, rule in policy.categories.items() if rule.rate_per_unit is not None]
    with i18n.use_locale(await identity.locale_for(ctx, user_id)):
        errors = validate_edit(
            edit,
            today=dt.date.today(),
            categories=policy.categories.keys(),
            mileage=mileage,
            wording=tax_wording(),
        )
    if errors:
        await ack(response_action="errors", errors=errors)
        return None
    await ack()
    return edit


async def on_submit(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    expense_id = action_value(body)
    if expense_id is None:
        return
    try:
        error = await approvals.submit(app_context(context), expense_id, body["user"]["id"])
    except DatabaseUnavailable:
        error = await in_their_words(app_context(context), body["user"]["id"], TRY_AGAIN)
    if error:
        await tell(respond, error)


async def on_edit(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    expense_id = action_value(body)
    if expense_id is None:
        return
    ctx = app_context(context)

    def load() -> Any:
        with ctx.db() as session:
            return load_view(session, expense_id)

    with i18n.use_locale(await identity.locale_for(ctx, body["user"]["id"])):
        view = await asyncio.to_thread(load)
        if view is None:
            await tell(respond, _("This expense no longer exists."))
            return
        if view.employee_id != body["user"]["id"]:
            await tell(
                respond,
                _("Only {employee} can edit {ref}.").format(employee=f"<@{view.employee_id}>", ref=view.ref),
            )
            return
        modal = build_expense_modal(
            view,
            default_currency=ctx.settings.company_currency.upper(),
            categories=ctx.policy.category_options(),
        )
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_discard(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    expense_id = action_value(body)
    if expense_id is not None:
        error = await expenses.discard(app_context(context), expense_id, body["user"]["id"])
        if error:
            await tell(respond, error)


async def on_pick(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    action = body["actions"][0]
    selected = (action.get("selected_option") or {}).get("value")
    expense_id = None
    for block in (body.get("message") or {}).get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == SUBMIT:
                expense_id = int(element["value"])
    if selected and expense_id is not None:
        error = await expenses.pick_customer(app_context(context), expense_id, body["user"]["id"], selected)
        if error:
            await tell(respond, error)


def _card_expense_id(body: dict[str, Any]) -> int | None:
    """The expense of the card a select was used on (its Submit button carries the id)."""
    for block in (body.get("message") or {}).get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == SUBMIT:
                return int(element["value"])
    return None


async def on_pick_deal(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    selected = (body["actions"][0].get("selected_option") or {}).get("value")
    expense_id = _card_expense_id(body)
    if selected and expense_id is not None:
        error = await expenses.pick_deal(app_context(context), expense_id, body["user"]["id"], selected)
        if error:
            await tell(respond, error)


async def on_pick_project(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    selected = (body["actions"][0].get("selected_option") or {}).get("value")
    expense_id = _card_expense_id(body)
    if selected and expense_id is not None:
        error = await projects.pick_project(app_context(context), expense_id, body["user"]["id"], selected)
        if error:
            await tell(respond, error)


async def on_customer_search(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    query = (body.get("value") or "").strip()
    ctx = app_context(context)
    index = ctx.customers.index()
    found = index.search(query, limit=20) if query and len(index) else []
    options = [{"text": {"type": "plain_text", "text": c.name[:75]}, "value": str(c.id)} for c in found]
    with i18n.use_locale(await identity.locale_for(ctx, str((body.get("user") or {}).get("id") or ""))):
        no_customer = _("No customer")
    options.append({"text": {"type": "plain_text", "text": no_customer}, "value": NO_CUSTOMER})
    await ack(options=options)


async def on_edit_saved(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    ctx = app_context(context)
    edit = await valid_edit(ctx, ack, view, body["user"]["id"])
    if edit is None:
        return
    expense_id = int(json.loads(view.get("private_metadata") or "{}").get("expense_id", 0))
    user = body["user"]["id"]
    error = await expenses.save_edit(ctx, expense_id, user, edit)
    if error:
        await ctx.slack.chat_postMessage(channel=await identity.dm_channel(ctx, user), text=error)


def register(app: AsyncApp) -> None:
    app.action(SUBMIT)(on_submit)
    app.action(EDIT)(on_edit)
    app.action(DISCARD)(on_discard)
    app.action(PICK_CUSTOMER)(on_pick)
    app.action(PICK_DEAL)(on_pick_deal)
    app.action(PICK_PROJECT)(on_pick_project)
    app.options(CUSTOMER_SEARCH)(on_customer_search)
    app.view(EDIT_VIEW)(on_edit_saved)
