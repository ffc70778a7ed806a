"""“Split” on the receipt card: one receipt across categories, customers and projects.

The modal has a few rows; each row is a part with its share (an amount such as ``25.00``, a
percentage such as ``40%``, or blank for the rest), and optionally its category, customer and
project. The shares are checked by :func:`workflows.splits.split` (they add up to the cent);
saving with no rows filled removes the split. Every change is audited and the card is updated.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import i18n, identity
from bot.blocks.card import NO_CUSTOMER, SPLIT, SPLIT_VIEW
from bot.blocks.common import context, format_money, section, text
from bot.context import AppContext
from bot.delivery import deliver_pending
from bot.i18n import _
from storage import audit, outbox
from storage.db import DatabaseUnavailable, retry_on_conflict, transaction
from storage.models import Expense
from storage.splits import replace_parts, snapshot
from workflows.expenses import EDITABLE, LABELS, Status, expense_ref
from workflows.money import Money, MoneyError, parse_amount
from workflows.splits import PartSpec, SplitError, split

ROWS = 4
CUSTOMER_ROW = "split_customer_"  # action ids are unique within a view: one per row


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": text(label[:75]), "value": value[:150]}


def build_split_modal(expense: Expense, categories: list[tuple[str, str]]) -> dict[str, Any]:
    assert expense.amount is not None and expense.currency
    total = Money(expense.amount, expense.currency)
    labels = dict(categories)
    blocks: list[dict[str, Any]] = [
        section(_("Split the total of *{total}* into parts. Give each part an amount (`25.00`), "
                  "a percentage (`40%`) or leave one share blank for the rest.").format(
                      total=format_money(total.amount, total.currency))),
    ]  # fmt: skip
    current = list(expense.splits)
    for row in range(1, ROWS + 1):
        part = current[row - 1] if row <= len(current) else None
        share: dict[str, Any] = {"type": "plain_text_input", "action_id": f"share_{row}", "max_length": 20}
        if part is not None:
            share["initial_value"] = Money(part.amount, total.currency).amount_text
        category: dict[str, Any] = {"type": "static_select", "action_id": f"category_{row}",
                                    "placeholder": text(_("Category")),
                                    "options": [_option(k, _(v)) for k, v in categories][:100]}  # fmt: skip
        if part is not None and part.category in labels:
            category["initial_option"] = _option(part.category, _(labels[part.category]))
        customer: dict[str, Any] = {"type": "external_select", "action_id": f"{CUSTOMER_ROW}{row}", "min_query_length": 1,
                                    "placeholder": text(_("Type to search customers"))}  # fmt: skip
        if part is not None and part.customer is not None:
            customer["initial_option"] = _option(str(part.customer.id), part.customer.name)
        project: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": f"project_{row}",
            "max_length": 128,
        }
        if part is not None and part.project:
            project["initial_value"] = part.project
        blocks += [
            {"type": "input", "block_id": f"share_{row}", "optional": True, "label": text(_("Part {row}: share").format(row=row)),
             "element": share},
            {"type": "input", "block_id": f"category_{row}", "optional": True, "label": text(_("Part {row}: category").format(row=row)),
             "element": category},
            {"type": "input", "block_id": f"customer_{row}", "optional": True, "label": text(_("Part {row}: customer").format(row=row)),
             "element": customer},
            {"type": "input", "block_id": f"project_{row}", "optional": True, "label": text(_("Part {row}: project").format(row=row)),
             "element": project},
        ]  # fmt: skip
    blocks.append(context(_("Leave every row empty and save to undo the split.")))
    return {
        "type": "modal",
        "callback_id": SPLIT_VIEW,
        "private_metadata": json.dumps({"expense_id": expense.id}),
        "title": text(_("Split {ref}").format(ref=expense_ref(expense.id))[:24]),
        "submit": text(_("Save")[:24]),
        "close": text(_("Cancel")[:24]),
        "blocks": blocks,
    }


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
        rows.append((row, PartSpec(amount=amount, percent=percent, category=category, customer=customer,
                                   project=project)))  # fmt: skip
    return rows, errors


def _refusal(expense: Expense | None, user_id: str) -> str | None:
    if expense is None:
        return _("This expense no longer exists.")
    ref = expense_ref(expense.id)
    if expense.employee_id != user_id:
        return _("Only {employee} can split {ref}.").format(employee=f"<@{expense.employee_id}>", ref=ref)
    if Status(expense.status) not in EDITABLE or expense.status == Status.READING:
        return _("{ref} can no longer be split (status: {status}).").format(
            ref=ref, status=_(LABELS[Status(expense.status)])
        )
    if expense.amount is None or not expense.currency:
        return _("{ref} has no total yet: click *Edit* and type it first.").format(ref=ref)
    return None


def _load(ctx: AppContext, expense_id: int, user_id: str) -> dict[str, Any] | str:
    with ctx.db() as session:
        expense = session.get(Expense, expense_id)
        refusal = _refusal(expense, user_id)
        if refusal is not None:
            return refusal
        assert expense is not None
        return build_split_modal(expense, ctx.policy.category_options())


def _save(
    ctx: AppContext, expense_id: int, user_id: str, values: dict[str, Any]
) -> dict[str, str] | str | None:
    rows, errors = parse_rows(values)
    if errors:
        return errors
    with transaction(ctx.db) as session:
        expense = session.get(Expense, expense_id)
        refusal = _refusal(expense, user_id)
        if refusal is not None:
            return refusal
        assert expense is not None and expense.amount is not None and expense.currency
        total = Money(expense.amount, expense.currency)
        parts = []
        if rows:
            try:
                parts = split(total, [spec for _row, spec in rows])
            except SplitError as exc:
                return _errors_for(str(exc), [row for row, _spec in rows])
        for part in parts:
            if part.category and part.category not in ctx.policy.categories:
                return {
                    "share_1": _("“{category}” is not a category of the policy.").format(
                        category=part.category
                    )
                }
        before = {"splits": snapshot(expense)}
        replace_parts(session, expense, parts)
        audit.record(session, actor=user_id, action="expense.split", entity="expense", entity_id=expense.id,
                     before=before, after={"splits": snapshot(expense)},
                     detail=f"{len(parts)} parts" if parts else "split removed")  # fmt: skip
        outbox.add(session, "card", {"expense_id": expense.id},
                   dedup_key=f"card:{expense.id}:split:{audit_count(session, expense.id)}")  # fmt: skip
    return None


def _errors_for(message: str, rows: list[int]) -> dict[str, str]:
    """The split's complaint under the row it is about (the modal numbers rows, not parts)."""
    block = f"share_{rows[0]}"
    for index, row in enumerate(rows, start=1):
        for form in (f"Part {index}:", f"Part {index} "):
            if form in message:
                message = message.replace(form, form.replace(f"Part {index}", f"Row {row}"))
                block = f"share_{row}"
    return {block: message[:150]}


def audit_count(session: Any, expense_id: int) -> int:
    """A number that grows with every change of the split, for the card message's dedup key."""
    from sqlalchemy import func, select

    from storage.models import AuditEvent

    return int(session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.entity == "expense", AuditEvent.entity_id == str(expense_id),
                                     AuditEvent.action == "expense.split")) or 0)  # fmt: skip


def register_split(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(SPLIT)
    async def on_split(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        action = body["actions"][0]
        raw = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
        if not raw.isdigit():
            return
        try:
            with i18n.use_locale(await identity.locale_for(ctx, body["user"]["id"])):
                loaded = await asyncio.to_thread(_load, ctx, int(raw), body["user"]["id"])
        except DatabaseUnavailable:
            loaded = "I could not reach the database just now. Try again in a moment."
        if isinstance(loaded, str):
            await respond(text=loaded, response_type="ephemeral", replace_original=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=loaded)

    @app.options(re.compile(f"^{CUSTOMER_ROW}[0-9]+$"))
    async def on_customer_search(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = (body.get("value") or "").strip()
        index = ctx.customers.index()
        found = index.search(query, limit=20) if query and len(index) else []
        options = [_option(str(c.id), c.name) for c in found]
        with i18n.use_locale(await identity.locale_for(ctx, str((body.get("user") or {}).get("id") or ""))):
            options.append(_option(NO_CUSTOMER, _("No customer")))
        await ack(options=options)

    @app.view(SPLIT_VIEW)
    async def on_split_saved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        expense_id = int(json.loads(view.get("private_metadata") or "{}").get("expense_id", 0))
        values = (view.get("state") or {}).get("values") or {}
        user = body["user"]["id"]
        try:
            with i18n.use_locale(await identity.locale_for(ctx, user)):
                outcome = await asyncio.to_thread(retry_on_conflict, _save, ctx, expense_id, user, values)
        except DatabaseUnavailable:
            outcome = {"share_1": "I could not reach the database just now. Try again in a moment."}
        if isinstance(outcome, dict):
            await ack(response_action="errors", errors=outcome)
            return
        await ack()
        if outcome is not None:
            await ctx.slack.chat_postMessage(channel=await identity.dm_channel(ctx, user), text=outcome)
            return
        await deliver_pending(ctx)
