"""The receipt card the employee sees in their DM, and the edit modal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bot import i18n
from bot.blocks.common import (
    Block,
    ExpenseView,
    button,
    confirm_dialog,
    context,
    escape,
    field_label,
    format_money,
    header,
    mrkdwn,
    section,
    text,
)
from bot.i18n import N_, _
from workflows.categories import CATEGORIES
from workflows.expenses import EDITABLE, Status
from workflows.money import Money, is_currency
from workflows.readiness import Problem, ProblemKind

SUBMIT = "expense_submit"
EDIT = "expense_edit"
DISCARD = "expense_discard"
PICK_CUSTOMER = "expense_pick_customer"
PICK_DEAL = "expense_pick_deal"
PICK_PROJECT = "expense_pick_project"
NO_PROJECT = "none"
EDIT_VIEW = "expense_edit_view"
NEW_VIEW = "expense_new_view"
CUSTOMER_SEARCH = "customer_search"
CARD_RATE = "expense_card_rate"
SPLIT = "expense_split"
SPLIT_VIEW = "expense_split_view"
CARD_RATE_VIEW = "expense_card_rate_view"
NO_CUSTOMER = "none"


# A field read with less confidence than this is marked "please check" and must be confirmed
# before Submit; at or above it the reader is right at least 99 times in 100 (ocr.ranker).
CONFIDENT = 0.9
_CHECKED_FIELDS = {
    "merchant": N_("merchant"),
    "date": N_("date"),
    "total": N_("total"),
    "currency": N_("currency"),
}


def fields_to_check(view: ExpenseView) -> list[str]:
    """The fields the reader was not sure of, which the employee has not confirmed yet."""
    return [
        _(label)
        for name, label in _CHECKED_FIELDS.items()
        if name in view.confidence and view.confidence[name] < CONFIDENT
    ]


def _confidence_mark(view: ExpenseView, field_name: str) -> str:
    score = view.confidence.get(field_name)
    if score is None or score >= CONFIDENT:
        return ""
    return " :warning: _" + _("please check") + "_"


def _customer_text(view: ExpenseView) -> str:
    if view.customer is None:
        return "_" + _("none") + "_"
    name = escape(view.customer.name)
    if view.customer_confirmed or view.customer.score is None:
        return name
    return _("{name} ({score}% match)").format(name=name, score=f"{view.customer.score:.0f}")


def build_receipt_card(view: ExpenseView) -> list[Block]:
    """The card: what was read, what is missing, and the buttons that fit the expense's state."""
    date_text = i18n.format_date(view.spent_on) if view.spent_on else _("_not read: add it_")
    blocks: list[Block] = [
        header(_("Expense {ref}").format(ref=view.ref)),
        {
            "type": "section",
            "fields": [
                mrkdwn(
                    field_label(_("Merchant"))
                    + (escape(view.merchant) if view.merchant else _("_not read_"))
                    + _confidence_mark(view, "merchant")
                ),
                mrkdwn(field_label(_("Date")) + f"{date_text}{_confidence_mark(view, 'date')}"),
                mrkdwn(
                    field_label(_("Total")) + f"{view.total_text}"
                    f"{_confidence_mark(view, 'total') or _confidence_mark(view, 'currency')}"
                ),
                mrkdwn(field_label(_("Category")) + f"{view.category_text}"),
                mrkdwn(field_label(_("Customer")) + f"{_customer_text(view)}"),
                mrkdwn(field_label(_("Status")) + f"{view.status_text}"),
            ],
        },
    ]
    blocks.extend(conversion_blocks(view))
    if view.split_lines:
        blocks.append(
            section(field_label(_("Split:")) + "\n".join(f"• {escape(line)}" for line in view.split_lines))
        )
    blocks.extend(per_diem_blocks(view))
    blocks.extend(tax_blocks(view))
    if view.note:
        blocks.append(context(_("Note: {note}").format(note=escape(view.note))))
    if view.project:
        blocks.append(context(_("Project: {project}").format(project=escape(view.project))))
    if view.distance is not None:
        blocks.append(context(_("Distance: {distance}").format(distance=f"{view.distance.normalize():f}")))
    if view.customer_reason and view.customer is not None and not view.customer_confirmed:
        blocks.append(context(_("Customer matched by {reason}").format(reason=escape(view.customer_reason))))
    if view.deal is not None:
        why = f" ({escape(view.deal_reason)})" if view.deal_reason and view.deal_reason != "picked" else ""
        blocks.append(context(_("Deal: {deal}").format(deal=escape(view.deal.name)) + why))
    for problem in view.problems:
        blocks.append(section(f":pencil2: {problem}"))
    for warning in view.warnings:
        blocks.append(section(f":warning: {warning}"))
    if view.status_detail:
        blocks.append(context(view.status_detail))
    if view.status in EDITABLE and view.status is not Status.READING:
        if view.candidates and not view.customer_confirmed:
            options = [{"text": text(c.name[:70]), "value": str(c.id)} for c in view.candidates[:8]] + [
                {"text": text(_("No customer")), "value": NO_CUSTOMER}
            ]
            blocks.append(
                {
                    "type": "section",
                    "block_id": "customer_pick",
                    "text": mrkdwn(_("Is this for a customer?")),
                    "accessory": {
                        "type": "static_select",
                        "action_id": PICK_CUSTOMER,
                        "placeholder": text(_("Pick the customer")),
                        "options": options,
                    },
                }
            )
        if view.customer is not None and len(view.deal_options) > 1:
            deal_choices = [{"text": text(d.name[:70]), "value": str(d.id)} for d in view.deal_options] + [
                {"text": text(_("No deal")), "value": NO_CUSTOMER}
            ]
            deal_pick: dict[str, Any] = {
                "type": "static_select",
                "action_id": PICK_DEAL,
                "placeholder": text(_("Pick the deal")),
                "options": deal_choices,
            }
            if view.deal is not None:
                deal_pick["initial_option"] = next(
                    (o for o in deal_choices if o["value"] == str(view.deal.id)), deal_choices[0]
                )
            blocks.append(
                {
                    "type": "section",
                    "block_id": "deal_pick",
                    "text": mrkdwn(_("Which deal is it for?") if view.deal is None else _("Another deal?")),
                    "accessory": deal_pick,
                }
            )
        if view.customer is not None and view.project_options:
            blocks.append(_project_pick(view))
        value = str(view.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": "expense_actions",
                "elements": [
                    button(_("Submit"), SUBMIT, value, style="primary", confirm=_submit_check(view)),
                    button(_("Edit"), EDIT, value),
                    button(
                        _("Discard"),
                        DISCARD,
                        value,
                        style="danger",
                        confirm=confirm_dialog(
                            _("Discard this expense?"),
                            _("{ref} will be discarded.").format(ref=view.ref),
                            _("Discard"),
                            _("Cancel"),
                        ),
                    ),
                    {
                        "type": "overflow",
                        "action_id": SPLIT,
                        "options": [
                            {
                                "text": text(_("Split across categories, customers or projects…")[:75]),
                                "value": value,
                            }
                        ],
                    },
                ],
            }
        )
    return blocks


def _submit_check(view: ExpenseView) -> dict[str, Any] | None:
    """Submit asks the employee to confirm the fields the reader was not sure of."""
    unsure = fields_to_check(view)
    if not unsure:
        return None
    return confirm_dialog(
        _("Please check before submitting"),
        _("The {fields} may be misread. Are they right on the card? If not, choose Edit.").format(
            fields=", ".join(unsure)
        ),
        _("They are right, submit"),
        _("Let me check"),
    )


def conversion_blocks(view: ExpenseView) -> list[Block]:
    """The conversion into the currency the employee is paid in, with "Use my card's rate"."""
    if view.conversion is None and view.conversion_note is None:
        return []
    if view.conversion is None:
        block: Block = section(f":currency_exchange: {view.conversion_note}")
    else:
        paid_in = _("Paid in {currency}:").format(currency=view.paid_in)
        block = section(f":currency_exchange: *{paid_in}* {view.conversion}")
    if view.status in EDITABLE and view.status is not Status.READING:
        block["accessory"] = button(_("Use my card's rate"), CARD_RATE, str(view.id))
    return [block]


def tax_blocks(view: ExpenseView) -> list[Block]:
    """The receipt's net, tax and rate, and its item lines (the first ten)."""
    blocks: list[Block] = []
    if view.tax_line:
        blocks.append(context(escape(view.tax_line)))
    if view.item_lines:
        shown = [f"• {escape(line)}" for line in view.item_lines[:10]]
        if len(view.item_lines) > 10:
            shown.append(_("… and {count} more").format(count=len(view.item_lines) - 10))
        blocks.append(section(field_label(_("Items:")) + "\n".join(shown)))
    return blocks


def card_fallback_text(view: ExpenseView) -> str:
    merchant = view.merchant or _("receipt")
    return _("Expense {ref}: {merchant}, {total}").format(
        ref=view.ref, merchant=merchant, total=view.total_text
    )


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": text(label[:75]), "value": value[:150]}


def build_expense_modal(
    view: ExpenseView | None,
    *,
    callback_id: str = EDIT_VIEW,
    metadata: dict[str, Any] | None = None,
    with_file: bool = False,
    default_currency: str = "USD",
    categories: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The edit modal, prefilled with what was read (or empty for a new expense).

    ``categories`` are the ``(key, label)`` pairs the installed policy allows.
    """
    choices = {key: _(label) for key, label in (categories or list(CATEGORIES.items()))}

    def text_input(
        block_id: str,
        label: str,
        initial: str | None,
        *,
        optional: bool = False,
        multiline: bool = False,
        hint: str | None = None,
    ) -> Block:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": block_id, "multiline": multiline}
        if initial:
            element["initial_value"] = initial
        block: Block = {
            "type": "input",
            "block_id": block_id,
            "label": text(label),
            "element": element,
            "optional": optional,
        }
        if hint:
            block["hint"] = text(hint)
        return block

    date_element: dict[str, Any] = {"type": "datepicker", "action_id": "date"}
    if view and view.spent_on:
        date_element["initial_date"] = view.spent_on.isoformat()
    category_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "category",
        "options": [_option(k, v) for k, v in choices.items()][:100],
    }
    if view and view.category in choices:
        category_element["initial_option"] = _option(view.category, choices[view.category])
    customer_element: dict[str, Any] = {
        "type": "external_select",
        "action_id": CUSTOMER_SEARCH,
        "min_query_length": 1,
        "placeholder": text(_("Type to search customers")),
    }
    if view and view.customer:
        customer_element["initial_option"] = _option(str(view.customer.id), view.customer.name)
    amount_initial = None
    if view and view.amount is not None:
        currency = view.currency or ""
        amount_initial = (
            Money(view.amount, currency).amount_text if is_currency(currency) else f"{view.amount:f}"
        )
    blocks: list[Block] = [
        text_input("merchant", _("Merchant"), view.merchant if view else None),
        {"type": "input", "block_id": "date", "label": text(_("Date")), "element": date_element},
        text_input("amount", _("Total"), amount_initial, hint=_("Digits with decimals, e.g. 42.50")),
        text_input(
            "currency",
            _("Currency"),
            (view.currency if view and view.currency else default_currency),
            hint=_("ISO code such as USD, EUR, MYR"),
        ),
        *_tax_inputs(view, text_input),
        {"type": "input", "block_id": "category", "label": text(_("Category")), "element": category_element},
        {
            "type": "input",
            "block_id": "customer",
            "label": text(_("Customer")),
            "element": customer_element,
            "optional": True,
            "hint": text(_("Leave empty when the expense is for no customer")),
        },
        text_input("note", _("Note"), view.note if view else None, optional=True, multiline=True),
        text_input(
            "project",
            _("Project"),
            view.project if view else None,
            optional=True,
            hint=_("Optional: the project this expense is booked to"),
        ),
        *([_project_input(view)] if view and view.customer and view.project_options else []),
        text_input(
            "distance",
            _("Distance (mileage claims)"),
            f"{view.distance.normalize():f}" if view and view.distance is not None else None,
            optional=True,
            hint=_("Only for mileage: the distance driven; the total comes from the policy's rate"),
        ),
    ]
    if with_file:
        blocks.append(
            {
                "type": "input",
                "block_id": "receipt",
                "optional": True,
                "label": text(_("Receipt (photo or PDF)")),
                "element": {
                    "type": "file_input",
                    "action_id": "receipt",
                    "max_files": 1,
                    "filetypes": ["jpg", "jpeg", "png", "heic", "pdf", "webp"],
                },
            }
        )
    title = _("Edit {ref}").format(ref=view.ref) if view else _("New expense")
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata or ({"expense_id": view.id} if view else {})),
        "title": text(title[:24]),
        "submit": text(_("Save")[:24]),
        "close": text(_("Cancel")[:24]),
        "blocks": blocks,
    }


def _tax_inputs(view: ExpenseView | None, text_input: Any) -> list[Block]:
    """The receipt's tax in the expense forms: net, tax and rate, each optional (workflows.tax);
    prefilled with what is kept on the expense, empty in the ``/expense`` form."""

    def amount(value: Any) -> str | None:
        if value is None or view is None:
            return None
        return Money(value, view.currency or "").amount_text if is_currency(view.currency) else f"{value:f}"

    rate = f"{view.tax_rate.normalize():f}" if view is not None and view.tax_rate is not None else None
    return [
        text_input(
            "net",
            _("Net (before tax)"),
            amount(view.net_amount if view else None),
            optional=True,
            hint=_("The subtotal before tax, as printed"),
        ),
        text_input(
            "tax",
            _("Tax (VAT, GST)"),
            amount(view.tax_amount if view else None),
            optional=True,
            hint=_(
                "The tax amount; net + tax make the total. Give one of net, tax or rate and the rest "
                "is worked out"
            ),
        ),
        text_input("tax_rate", _("Tax rate (%)"), rate, optional=True, hint=_("e.g. 19 or 7.7")),
    ]


def per_diem_blocks(view: ExpenseView) -> list[Block]:
    """A per diem claim's days, rates and deductions, and where the rates come from."""
    if not view.per_diem_lines:
        return []
    days = "\n".join(f"• {escape(line)}" for line in view.per_diem_lines)
    blocks: list[Block] = [section(_("*Per diem* (no receipt needed):") + f"\n{days}")]
    if view.per_diem_sources:
        blocks.append(context(_("Rates: {sources}").format(sources=escape("; ".join(view.per_diem_sources)))))
    return blocks


def _project_choices(view: ExpenseView) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The customer's open CRM projects as select options (and "no CRM project"), and the one
    picked among them."""
    choices = [{"text": text(p.name[:70]), "value": str(p.id)} for p in view.project_options]
    picked = next((o for o in choices if view.crm_project and o["value"] == str(view.crm_project.id)), None)
    return [*choices, {"text": text(_("No CRM project")), "value": NO_PROJECT}], picked


def _project_pick(view: ExpenseView) -> Block:
    """The card's project picker: the matched customer's open projects."""
    choices, picked = _project_choices(view)
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK_PROJECT,
        "placeholder": text(_("Pick the project")),
        "options": choices,
    }
    if picked is not None:
        element["initial_option"] = picked
    return {
        "type": "section",
        "block_id": "project_pick",
        "text": mrkdwn(_("Which project is it for?") if picked is None else _("Another project?")),
        "accessory": element,
    }


def _project_input(view: ExpenseView) -> Block:
    """The edit form's CRM project select (the free-text project above keeps working)."""
    choices, picked = _project_choices(view)
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "project_pick",
        "options": choices,
        "placeholder": text("Pick one of the customer's projects"),
    }
    if picked is not None:
        element["initial_option"] = picked
    return {
        "type": "input",
        "block_id": "project_pick",
        "label": text("CRM project"),
        "element": element,
        "optional": True,
        "hint": text("Picking one books the expense to it; the name goes in Project"),
    }


def problems_text(problems: list[Problem]) -> list[str]:
    """The employee's words (in the current locale) for what keeps a claim from being submitted."""
    return [_problem_text(p) for p in problems]


def _problem_text(problem: Problem) -> str:
    match problem.kind:
        case ProblemKind.UNREAD:
            return problem.detail
        case ProblemKind.NO_TOTAL:
            return _("I could not read the total: click *Edit* and type it.")
        case ProblemKind.UNKNOWN_CURRENCY:
            return _(
                "“{currency}” is not a currency I know: click *Edit* and pick one such as USD, EUR or MYR."
            ).format(currency=problem.currency or _("no currency"))
        case ProblemKind.NOT_CLAIMABLE:
            return f"{problem.detail} " + _("Click *Edit* to correct it.")
        case ProblemKind.NO_DATE:
            return _("I could not read the date: click *Edit* and pick it.")
        case ProblemKind.SPLIT_MISMATCH:
            return _(
                "The split adds up to {parts}, not the total {total}: click *Split* and split it again."
            ).format(
                parts=format_money(problem.parts or Decimal(0), problem.currency),
                total=format_money(problem.total or Decimal(0), problem.currency),
            )
