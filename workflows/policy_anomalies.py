"""Anomaly flags: unusual claims that approvers should look at twice.

Flags never block a claim nor route it differently; they are shown to approvers and prevent
auto-approval. Thresholds come from the policy's ``anomalies`` section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from workflows.fx import RateLookup, convert, no_rates
from workflows.money import Money
from workflows.policy import ExpenseFacts, Policy

UNUSUAL_AMOUNT = "unusual_amount"
WEEKEND = "weekend"
HOLIDAY = "holiday"
POSSIBLE_DUPLICATE = "possible_duplicate"

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Flag:
    rule: str
    message: str


def amount_flag(
    amount: Money,
    history: Sequence[Money],
    policy: Policy,
    *,
    on: date,
    category_label: str = "",
    rates: RateLookup | None = None,
) -> Flag | None:
    """Flag ``amount`` when it is ``history_factor`` times the median of the employee's past
    amounts in the category (needs ``min_history`` past claims).

    All amounts are compared in the company currency: those in another currency are converted
    with ``rates`` on day ``on`` (a missing rate raises :class:`workflows.fx.MissingRate`).
    """
    rules = policy.anomalies
    if len(history) < rules.min_history:
        return None
    lookup = rates or no_rates
    currency = policy.company_currency
    current = convert(amount, currency, on, lookup)
    past = [convert(item, currency, on, lookup).amount for item in history]
    typical = Money(Decimal(median(past)), currency)
    if typical.amount <= 0:
        return None
    ratio = current.amount / typical.amount
    if ratio < rules.history_factor:
        return None
    times = ratio.quantize(Decimal("0.1"), ROUND_HALF_UP)
    what = f"{category_label.lower()} expense" if category_label else "expense"
    shown = current.format() if amount.currency == currency else f"{current} ({amount})"
    return Flag(
        UNUSUAL_AMOUNT,
        f"{shown} is {times}× this person's usual {what} (median {typical} over the last "
        f"{len(history)} claims; flagged at {rules.history_factor.normalize():f}×).",
    )


def weekend_flag(spent_on: date | None, policy: Policy) -> Flag | None:
    """Flag spending on a Saturday or Sunday, when the policy asks for it."""
    if spent_on is None or not policy.anomalies.flag_weekends or spent_on.weekday() < 5:
        return None
    return Flag(WEEKEND, f"Spent on a {_WEEKDAYS[spent_on.weekday()]} ({spent_on.isoformat()}).")


def holiday_flag(spent_on: date | None, policy: Policy) -> Flag | None:
    """Flag spending on one of the policy's holidays (``reminders.holidays``), when asked for."""
    if spent_on is None or not policy.anomalies.flag_holidays or spent_on not in policy.reminders.holidays:
        return None
    return Flag(HOLIDAY, f"Spent on a holiday ({_WEEKDAYS[spent_on.weekday()]} {spent_on.isoformat()}).")


def anomaly_flags(
    expense: ExpenseFacts,
    policy: Policy,
    *,
    history: Sequence[Money] = (),
    today: date,
    rates: RateLookup | None = None,
) -> list[Flag]:
    """All flags for one expense; ``history`` is the submitter's past amounts in its category."""
    flags: list[Flag] = []
    unusual = amount_flag(
        expense.amount,
        history,
        policy,
        category_label=policy.label_of(expense.category),
        on=expense.spent_on or today,
        rates=rates,
    )
    if unusual is not None:
        flags.append(unusual)
    weekend = weekend_flag(expense.spent_on, policy)
    if weekend is not None:
        flags.append(weekend)
    holiday = holiday_flag(expense.spent_on, policy)
    if holiday is not None:
        flags.append(holiday)
    return flags


def merchant_key(merchant: str | None) -> str | None:
    """A merchant name folded for comparison: case, punctuation and spacing ignored."""
    if not merchant:
        return None
    return re.sub(r"[^0-9A-Z]+", " ", merchant.upper()).strip() or None


@dataclass(frozen=True)
class OtherClaim:
    """A claim already made (by the submitter or a colleague), compared with the one routed."""

    ref: str
    """``EXP-12``, for people."""
    submitter_email: str
    amount: Money
    category: str
    spent_on: date | None
    merchant: str | None
    counts: bool = True
    """Whether it counts for daily limits and the usual amount (submitted, approved or paid);
    drafts and refused claims only count as possible duplicates."""


def duplicate_flags(expense: ExpenseFacts, others: Sequence[OtherClaim]) -> list[Flag]:
    """A claim with the same merchant, date and total as another one, the submitter's own or a
    colleague's (one shared bill claimed twice), is flagged as a possible duplicate."""
    key = merchant_key(expense.merchant)
    if key is None or expense.spent_on is None:
        return []
    submitter = expense.submitter_email.strip().lower()
    own_first = sorted(others, key=lambda other: other.submitter_email.strip().lower() != submitter)
    for other in own_first:
        if (
            other.amount != expense.amount
            or other.spent_on != expense.spent_on
            or merchant_key(other.merchant) != key
        ):
            continue
        who = other.submitter_email.strip().lower()
        if who == submitter:
            text = f"Possible duplicate of {other.ref} (same merchant, date and total)."
        else:
            text = f"Possibly the same bill as {other.ref} claimed by {who} (same merchant, date and total)."
        return [Flag(POSSIBLE_DUPLICATE, text)]
    return []
