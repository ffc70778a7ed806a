"""Anomaly flags: unusual claims that approvers should look at twice.

Flags never block a claim nor route it differently; they are shown to approvers and prevent
auto-approval. Thresholds come from the policy's ``anomalies`` section.
"""

from __future__ import annotations

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
