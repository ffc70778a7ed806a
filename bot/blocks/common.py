"""Shared pieces for Block Kit builders, and the data the builders render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot import i18n
from bot.i18n import _
from workflows.categories import category_label
from workflows.conversion import CARD_STATEMENT, Conversion
from workflows.expenses import LABELS, Status, expense_ref
from workflows.money import is_currency
from workflows.tax import Wording

Block = dict[str, Any]


def text(value: str, *, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": value[:3000], "emoji": emoji}


def mrkdwn(value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": value[:3000]}


def field_label(label: str) -> str:
    """The bold label line of a section field (its value follows)."""
    return f"*{label}*\n"


def section(value: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(value), **extra}


def context(*parts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(p) for p in parts if p][:10]}


def header(value: str) -> Block:
    return {"type": "header", "text": text(value[:150])}


def button(
    label: str, action_id: str, value: str, *, style: str | None = None, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": text(label), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, body: str, yes: str, no: str | None = None) -> dict[str, Any]:
    return {"title": text(title), "text": mrkdwn(body), "confirm": text(yes), "deny": text(no or _("Cancel"))}


def escape(value: str) -> str:
    """Escape user text for mrkdwn (Slack's three control characters)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tax_wording() -> Wording:
    """The expense forms' tax messages (workflows.tax.parse_tax) in the current locale."""
    return Wording(
        translate=_,
        money=lambda money: i18n.format_money(money.amount, money.currency),
        rate=percent,
    )


def percent(rate: Decimal) -> str:
    """A tax rate for people: ``19%`` (English, Chinese), ``19 %`` (German)."""
    return _("{rate}%").format(rate=i18n.format_rate(rate))


def format_money(amount: Decimal | None, currency: str | None) -> str:
    """For people, in the current locale (bot/i18n.py): ``1,234.50 USD`` in English."""
    if amount is None:
        return _("_not read: add it_")
    if currency and is_currency(currency):
        return i18n.format_money(amount, currency)
    return f"{amount:,.2f} " + (currency or _("(currency?)"))


def describe_conversion(conversion: Conversion) -> str:
    """``42.50 USD × 0.9341 (ECB rate of 2026-12-04) = 39.70 EUR``, in the current locale."""
    if conversion.source == CARD_STATEMENT:
        what = _("your card statement's rate")
    else:
        what = _("{source} rate").format(source=conversion.source)
    return _("{original} × {rate} ({what} of {day}) = {converted}").format(
        original=format_money(conversion.original.amount, conversion.original.currency),
        rate=i18n.format_rate(conversion.rate),
        what=what,
        day=i18n.format_date(conversion.rate_day),
        converted=format_money(conversion.converted.amount, conversion.converted.currency),
    )


def format_when(moment: dt.datetime, tz: dt.tzinfo | None = None) -> str:
    local = moment.astimezone(tz) if tz else moment
    return local.strftime("%d %b %Y %H:%M").lstrip("0")


def format_time(moment: dt.datetime) -> str:
    """A time Slack renders in each reader's own time zone, with a UTC fallback."""
    epoch = int(moment.timestamp())
    fallback = moment.astimezone(dt.UTC).strftime("%H:%M UTC")
    return f"<!date^{epoch}^{{date_short}} {{time}}|{fallback}>"


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    score: float | None = None


@dataclass(frozen=True)
class ExpenseView:
    """What people see of one expense; built from the stored expense by the service layer."""

    id: int
    status: Status
    employee_id: str
    merchant: str | None
    spent_on: dt.date | None
    amount: Decimal | None
    currency: str | None
    category: str | None
    customer: CustomerView | None = None
    customer_reason: str | None = None
    customer_confirmed: bool = False
    candidates: tuple[CustomerView, ...] = ()
    deal: CustomerView | None = None  # the CRM deal (opportunity) of the customer the expense is for
    deal_reason: str | None = None
    deal_options: tuple[CustomerView, ...] = ()  # the customer's open deals, for a picker
    note: str | None = None
    confidence: dict[str, float] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # things the employee must fix before submitting
    warnings: tuple[str, ...] = ()  # duplicates, policy notes
    approved_amount: Decimal | None = None
    has_receipt: bool = False
    status_detail: str | None = None
    distance: Decimal | None = None  # mileage claims
    project: str | None = None
    crm_project: CustomerView | None = None  # the CRM project picked (its name is ``project``)
    project_options: tuple[CustomerView, ...] = ()  # the customer's open CRM projects, for a picker
    # A claim in another currency than the one the employee is paid in (docs/currency.md):
    # "42.50 USD × 0.9341 (ECB rate of 2026-12-04) = 39.70 EUR", or why it cannot be converted yet.
    conversion: str | None = None
    conversion_note: str | None = None
    paid_in: str | None = None  # the reimbursement currency, when it is not the claim's
    split_lines: tuple[str, ...] = ()  # a receipt split across categories, customers, projects
    # A per diem claim (workflows/per_diem.py): one line per day (rate, meals deducted), then the
    # rates' sources; no receipt is needed.
    per_diem_lines: tuple[str, ...] = ()
    per_diem_sources: tuple[str, ...] = ()
    # The receipt's tax (workflows/tax.py), in ``currency``: net, tax amount, rate in percent;
    # ``tax_line`` says them for the card ("Net 11.00 MYR · Tax 0.66 MYR (6%)"); ``item_lines``
    # are the receipt's item lines as read ("Teh tarik · 2.50").
    net_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    tax_rate: Decimal | None = None
    tax_line: str | None = None
    item_lines: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return expense_ref(self.id)

    @property
    def total_text(self) -> str:
        return format_money(self.amount, self.currency)

    @property
    def category_text(self) -> str:
        return _(category_label(self.category))

    @property
    def status_text(self) -> str:
        return _(LABELS[self.status])

    def one_line(self) -> str:
        merchant = escape(self.merchant) if self.merchant else _("unknown merchant")
        when = i18n.format_date(self.spent_on, "%d %b %Y").lstrip("0") if self.spent_on else _("no date")
        return f"*{self.ref}* · {merchant} · {when} · {self.total_text}"
