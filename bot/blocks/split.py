"""“Split” on the receipt card: the form with a few rows, one per part (its share: an amount such
as ``25.00``, a percentage such as ``40%`` or blank for the rest; optionally its category, customer
and project), and what the employee reads when a split is refused. (The card's menu item and the
form's callback id, ``SPLIT`` and ``SPLIT_VIEW``, are in :mod:`bot.blocks.card`.)"""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.card import SPLIT_VIEW
from bot.blocks.common import context, format_money, section, text
from bot.i18n import _
from services.splits import SplitRefusal, SplitRefusalKind
from storage.models import Expense
from workflows.expenses import LABELS, expense_ref
from workflows.money import Money

ROWS = 4
CUSTOMER_ROW = "split_customer_"  # action ids are unique within a view: one per row


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": text(label[:75]), "value": value[:150]}


def build_split_modal(expense: Expense, categories: list[tuple[str, str]]) -> dict[str, Any]:
    assert expense.amount is not None and expense.currency
    total = Money(expense.amount, expense.currency)
    labels = dict(categories)
    blocks: list[dict[str, Any]] = [
        section(
            _(
                "Split the total of *{total}* into parts. Give each part an amount (`25.00`), "
                "a percentage (`40%`) or leave one share blank for the rest."
            ).format(total=format_money(total.amount, total.currency))
        ),
    ]
    current = list(expense.splits)
    for row in range(1, ROWS + 1):
        part = current[row - 1] if row <= len(current) else None
        share: dict[str, Any] = {"type": "plain_text_input", "action_id": f"share_{row}", "max_length": 20}
        if part is not None:
            share["initial_value"] = Money(part.amount, total.currency).amount_text
        category: dict[str, Any] = {
            "type": "static_select",
            "action_id": f"category_{row}",
            "placeholder": text(_("Category")),
            "options": [option(k, _(v)) for k, v in categories][:100],
        }
        if part is not None and part.category in labels:
            category["initial_option"] = option(part.category, _(labels[part.category]))
        customer: dict[str, Any] = {
            "type": "external_select",
            "action_id": f"{CUSTOMER_ROW}{row}",
            "min_query_length": 1,
            "placeholder": text(_("Type to search customers")),
        }
        if part is not None and part.customer is not None:
            customer["initial_option"] = option(str(part.customer.id), part.customer.name)
        project: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": f"project_{row}",
            "max_length": 128,
        }
        if part is not None and part.project:
            project["initial_value"] = part.project
        blocks += [
            {
                "type": "input",
                "block_id": f"share_{row}",
                "optional": True,
                "label": text(_("Part {row}: share").format(row=row)),
                "element": share,
            },
            {
                "type": "input",
                "block_id": f"category_{row}",
                "optional": True,
                "label": text(_("Part {row}: category").format(row=row)),
                "element": category,
            },
            {
                "type": "input",
                "block_id": f"customer_{row}",
                "optional": True,
                "label": text(_("Part {row}: customer").format(row=row)),
                "element": customer,
            },
            {
                "type": "input",
                "block_id": f"project_{row}",
                "optional": True,
                "label": text(_("Part {row}: project").format(row=row)),
                "element": project,
            },
        ]
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


def split_refusal_text(refusal: SplitRefusal) -> str:
    """Why the receipt cannot be split, in the reader's language."""
    ref = expense_ref(refusal.expense_id)
    match refusal.kind:
        case SplitRefusalKind.GONE:
            return _("This expense no longer exists.")
        case SplitRefusalKind.NOT_OWNER:
            return _("Only {employee} can split {ref}.").format(employee=f"<@{refusal.owner}>", ref=ref)
        case SplitRefusalKind.NOT_NOW:
            assert refusal.status is not None
            return _("{ref} can no longer be split (status: {status}).").format(
                ref=ref, status=_(LABELS[refusal.status])
            )
        case SplitRefusalKind.NO_TOTAL:
            return _("{ref} has no total yet: click *Edit* and type it first.").format(ref=ref)


def unknown_category_text(category: str) -> str:
    return _("“{category}” is not a category of the policy.").format(category=category)


def row_errors(message: str, rows: list[int]) -> dict[str, str]:
    """The split's complaint under the row it is about (the form numbers rows, not parts):
    ``rows`` are the form's filled rows, in the order of the parts."""
    block = f"share_{rows[0]}"
    for index, row in enumerate(rows, start=1):
        for form in (f"Part {index}:", f"Part {index} "):
            if form in message:
                message = message.replace(form, form.replace(f"Part {index}", f"Row {row}"))
                block = f"share_{row}"
    return {block: message[:150]}
