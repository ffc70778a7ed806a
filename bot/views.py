"""From stored expenses to what people see (:class:`bot.blocks.common.ExpenseView`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bot import i18n
from bot.blocks.approvals import status_text
from bot.blocks.card import problems_text
from bot.blocks.common import CustomerView, ExpenseView, describe_conversion, format_money, tax_wording
from bot.conversion import kept
from bot.i18n import _
from storage.models import Expense
from workflows.categories import category_label
from workflows.expenses import EDITABLE, Status
from workflows.money import Money, is_currency
from workflows.per_diem import DAY_KIND_LABELS, MEAL_LABELS, DayKind, Meal
from workflows.readiness import Problem, submit_problems
from workflows.tax import TaxFacts, format_rate, mismatch, split_tax


def problems_of(expense: Expense) -> list[str]:
    """What the employee must fix before the expense can be submitted, in their words (and language)."""
    return problems_text(submit_problems_of(expense))


def submit_problems_of(expense: Expense) -> list[Problem]:
    return submit_problems(
        reading_error=expense.ocr_error,
        amount=expense.amount,
        currency=expense.currency,
        spent_on=expense.spent_on,
        split_amounts=[s.amount for s in expense.splits or ()],
    )


def expense_view(
    expense: Expense, *, warnings: list[str] | None = None, detail: str | None = None
) -> ExpenseView:
    ocr: dict[str, Any] = expense.ocr or {}
    candidates = tuple(
        CustomerView(int(c["id"]), str(c["name"]), float(c.get("score") or 0))
        for c in ocr.get("customer_candidates", [])
    )
    deal_options = tuple(CustomerView(int(d["id"]), str(d["name"])) for d in ocr.get("deal_options", []))
    deal = CustomerView(expense.deal.id, expense.deal.name) if expense.deal is not None else None
    customer = None
    if expense.customer is not None:
        customer = CustomerView(expense.customer.id, expense.customer.name, expense.customer_score)
    status = Status(expense.status)
    return ExpenseView(
        id=expense.id,
        status=status,
        employee_id=expense.employee_id,
        merchant=expense.merchant,
        spent_on=expense.spent_on,
        amount=expense.amount,
        currency=expense.currency,
        category=expense.category,
        customer=customer,
        customer_reason=expense.customer_reason,
        customer_confirmed=expense.customer_confirmed,
        candidates=candidates,
        deal=deal,
        deal_reason=expense.deal_reason,
        deal_options=deal_options if expense.customer_id is not None else (),
        note=expense.note,
        confidence={k: float(v) for k, v in (ocr.get("confidence") or {}).items()},
        problems=tuple(problems_of(expense)) if status in EDITABLE and status is not Status.READING else (),
        warnings=tuple(warnings if warnings is not None else ocr.get("warnings", [])) + _tax_warning(expense),
        approved_amount=expense.approved_amount,
        has_receipt=expense.receipt_id is not None,
        status_detail=detail if detail is not None else _status_line(ocr),
        distance=expense.distance,
        project=expense.project_link.project if expense.project_link is not None else None,
        **_projects(expense),
        **_kept_conversion(expense),
        split_lines=_split_lines(expense),
        **_per_diem(ocr),
        **_tax(expense),
    )


def _projects(expense: Expense) -> dict[str, Any]:
    """The CRM project picked, and the customer's open projects offered (storage.projects)."""
    link = expense.project_link
    picked = link.crm_project if link is not None else None
    options = tuple(
        CustomerView(int(p["id"]), str(p["name"])) for p in (expense.ocr or {}).get("project_options", [])
    )
    return {
        "crm_project": CustomerView(picked.id, picked.name) if picked is not None else None,
        "project_options": options if expense.customer_id is not None else (),
    }


def _status_line(ocr: dict[str, Any]) -> str | None:
    """The card's status line: worded from the facts the use cases keep (services/approvals.py,
    services/payouts.py), else the line kept as text (the reconciliation's, older claims)."""
    facts = ocr.get("status_facts")
    if isinstance(facts, dict):
        return status_text(facts) or None
    detail = ocr.get("status_detail")
    return str(detail) if detail else None


def tax_facts_of(expense: Expense) -> TaxFacts:
    return TaxFacts(net=expense.net_amount, tax=expense.tax_amount, rate=expense.tax_rate)


def _tax_warning(expense: Expense) -> tuple[str, ...]:
    """The card's warning when net + tax is not the total (beyond rounding), if it is not."""
    if not is_currency(expense.currency):
        return ()
    problem = mismatch(tax_facts_of(expense), expense.amount, expense.currency, tax_wording())
    return (problem,) if problem else ()


def _tax(expense: Expense) -> dict[str, Any]:
    """The receipt's net, tax and rate, and its item lines, for the card and the edit form."""
    facts = tax_facts_of(expense)
    currency = expense.currency or ""
    known = is_currency(currency)

    def money(value: Decimal) -> str:
        return format_money(value, currency) if known else f"{value:f} {currency}"

    parts = []
    if facts.net is not None:
        parts.append(_("Net {amount}").format(amount=money(facts.net)))
    if facts.tax is not None:
        parts.append(
            _("Tax {amount}").format(amount=money(facts.tax))
            + (f" ({format_rate(facts.rate)})" if facts.rate is not None else "")
        )
    elif facts.rate is not None:
        parts.append(_("Tax rate {rate}").format(rate=format_rate(facts.rate)))
    items = []
    for item in expense.line_items or []:
        try:
            amount = (
                Money(Decimal(str(item.get("amount"))), currency).amount_text
                if known
                else str(item.get("amount"))
            )
        except ArithmeticError:
            continue
        items.append(f"{item.get('text') or 'item'} · {amount}")
    return {
        "net_amount": facts.net,
        "tax_amount": facts.tax,
        "tax_rate": facts.rate,
        "tax_line": " · ".join(parts) or None,
        "item_lines": tuple(items),
    }


def _per_diem(ocr: dict[str, Any]) -> dict[str, Any]:
    """The priced days of a per diem claim, kept on the expense when it was created."""
    priced = ocr.get("per_diem")
    if not isinstance(priced, dict):
        return {}
    days = priced.get("days")
    currency = str(priced.get("currency") or "")
    try:
        lines = tuple(_per_diem_day(day, currency) for day in days) if isinstance(days, list) else None
    except (KeyError, TypeError, ValueError, ArithmeticError):  # kept by hand or damaged: the text kept
        lines = None
    return {
        "per_diem_lines": lines
        if lines is not None
        else tuple(str(line) for line in priced.get("lines") or ()),
        "per_diem_sources": tuple(str(s) for s in priced.get("sources") or ()),
    }


def _per_diem_day(day: dict[str, Any], currency: str) -> str:
    """One priced day in the reader's language and formats: ``Mon 02 Mar: full day 28.00 EUR −
    breakfast 5.60 EUR = 22.40 EUR`` (kept as figures by workflows.per_diem.Quote.to_json)."""
    kind = DayKind(day["kind"])
    text = _("{day}: {kind} {amount}").format(
        day=i18n.format_day(dt.date.fromisoformat(day["day"])),
        kind=_(DAY_KIND_LABELS[kind]),
        amount=format_money(Decimal(day["base"]), currency),
    )
    deductions = [(Meal(meal), Decimal(value)) for meal, value in day.get("deductions") or ()]
    if deductions:
        text += "".join(
            " − "
            + _("{meal} {amount}").format(meal=_(MEAL_LABELS[meal]), amount=format_money(value, currency))
            for meal, value in deductions
        )
        text += " = " + format_money(Decimal(day["amount"]), currency)
    return text


def _split_lines(expense: Expense) -> tuple[str, ...]:
    """One line per part of a split receipt: amount, category, customer, project, and the part's
    share of the receipt's tax (the shares add up to the tax to the cent, as in the exports)."""
    lines = []
    taxes = _split_taxes(expense)
    for index, part in enumerate(expense.splits):
        what = [_(category_label(part.category))] if part.category else []
        if part.customer is not None:
            what.append(part.customer.name)
        if part.project:
            what.append(_("project {project}").format(project=part.project))
        amount = (
            format_money(part.amount, expense.currency) if is_currency(expense.currency) else str(part.amount)
        )
        if taxes:
            what.append(f"tax {taxes[index].amount_text}")
        lines.append(" · ".join([amount, *what]))
    return tuple(lines)


def _split_taxes(expense: Expense) -> list[Money]:
    if expense.tax_amount is None or not is_currency(expense.currency) or not expense.splits:
        return []
    currency = expense.currency or ""
    return split_tax(Money(expense.tax_amount, currency), [Money(p.amount, currency) for p in expense.splits])


def _kept_conversion(expense: Expense) -> dict[str, Any]:
    """The conversion kept at submission (see bot.conversion), for cards and approval requests."""
    conversion = kept(expense)
    if conversion is None:
        return {}
    return {"conversion": describe_conversion(conversion), "paid_in": conversion.converted.currency}


def load_view(session: Session, expense_id: int) -> ExpenseView | None:
    expense = session.get(Expense, expense_id)
    return expense_view(expense) if expense is not None else None
