"""Budgets per department, customer or project and period: warnings for approvers, never a refusal.

The caller sums what was already spent (in SQL, see ``storage.budgets``) into :class:`Spent`
totals, one per scope, currency, day and state; :func:`evaluate_budgets` keeps the totals of the
claim's budgets in the claim's period, converts them to the company currency with the rate of
their day (as limits are), and says what this claim would do to each budget::

    Sales budget for Nov 2026: 18,400.00 of 20,000.00 USD approved; this claim (2,100.00 USD)
    would take it to 20,500.00 (103%).

A claim that takes a budget to 90% or more gets a warning too ("would use 95% of it").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from workflows.fx import RateLookup, convert, no_rates
from workflows.money import Money, minor_units
from workflows.policy import Budget, Policy, budget_key

NEAR_SHARE = Decimal("0.90")
"""From this share of a budget on, approvers are warned."""

OVER_BUDGET = "over_budget"
NEAR_BUDGET = "near_budget"
OVER_WITH_PENDING = "over_budget_with_pending"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str  # "Nov 2026", "Q4 2026", "2026"


def period_of(kind: str, day: date) -> Period:
    """The calendar month, quarter or year that contains ``day``."""
    if kind == "month":
        start = day.replace(day=1)
        label = f"{day:%b %Y}"
        end = _before(_month_start(day.year, day.month + 1))
    elif kind == "quarter":
        first = (day.month - 1) // 3 * 3 + 1
        start = date(day.year, first, 1)
        end = _before(_month_start(day.year, first + 3))
        label = f"Q{(first - 1) // 3 + 1} {day.year}"
    elif kind == "year":
        start, end, label = date(day.year, 1, 1), date(day.year, 12, 31), str(day.year)
    else:
        raise ValueError(f"'{kind}' is not a budget period (month, quarter or year)")
    return Period(start, end, label)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


@dataclass(frozen=True)
class Spent:
    """Already-summed spend of one scope (``department``/``customer``/``project`` + name) on one day,
    in one currency, either approved (approved or paid) or still pending approval."""

    scope: str
    name: str
    day: date
    amount: Money
    pending: bool = False


@dataclass(frozen=True)
class BudgetClaim:
    """What budgets need to know about the claim being approved."""

    amount: Money
    """The claim (its approved amount if lowered), in any currency."""
    day: date
    """The date of the expense: it picks the period."""
    department: str | None = None
    customer_names: frozenset[str] = frozenset()
    """Every name the claim's customer goes by (name, CRM id, aliases)."""
    project: str | None = None


@dataclass(frozen=True)
class BudgetFinding:
    rule: str
    budget: Budget
    period: Period
    approved: Money
    pending: Money
    claim: Money
    share: Decimal
    """(approved + claim) / budget amount."""
    message: str


def applies(budget: Budget, claim: BudgetClaim) -> bool:
    """Whether ``budget`` covers ``claim`` (its department, customer or project)."""
    if budget.scope == "department":
        return claim.department is not None and budget_key(claim.department) == budget.key
    if budget.scope == "customer":
        return budget.key in {budget_key(name) for name in claim.customer_names}
    return claim.project is not None and budget_key(claim.project) == budget.key


def budgets_for(policy: Policy, claim: BudgetClaim) -> list[Budget]:
    return [budget for budget in policy.budgets if applies(budget, claim)]


def evaluate_budgets(
    policy: Policy,
    claim: BudgetClaim,
    spent: Iterable[Spent],
    *,
    rates: RateLookup | None = None,
    budgets: Sequence[Budget] | None = None,
) -> list[BudgetFinding]:
    """The warnings ``claim`` earns against its budgets (``budgets``: default every one that covers it).

    ``spent`` must not include the claim itself. Totals of other scopes or other periods are
    ignored. Raises :class:`workflows.fx.MissingRate` when an amount cannot be converted.
    """
    lookup = rates or no_rates
    currency = policy.company_currency
    totals = list(spent)
    this = convert(claim.amount, currency, claim.day, lookup)
    findings: list[BudgetFinding] = []
    for budget in budgets if budgets is not None else budgets_for(policy, claim):
        period = period_of(budget.period, claim.day)
        approved = pending = Money(Decimal(0), currency)
        for item in totals:
            if item.scope != budget.scope or budget_key(item.name) != budget.key:
                continue
            if not period.start <= item.day <= period.end:
                continue
            value = convert(item.amount, currency, item.day, lookup)
            if item.pending:
                pending = pending + value
            else:
                approved = approved + value
        finding = _finding(budget, period, approved, pending, this)
        if finding is not None:
            findings.append(finding)
    return findings


def _finding(
    budget: Budget, period: Period, approved: Money, pending: Money, claim: Money
) -> BudgetFinding | None:
    limit = Money(budget.amount, claim.currency)
    after = approved + claim
    share = after.amount / budget.amount
    percent = _percent(share)
    head = (
        f"{budget.display} budget for {period.label}: {_number(approved)} of {limit.format()} approved; "
        f"this claim ({claim.format()})"
    )
    waiting = f" {pending.format()} more is waiting for approval." if pending.amount > 0 else ""
    if after.amount > budget.amount:
        message = f"{head} would take it to {_number(after)} ({percent}%).{waiting}"
        return BudgetFinding(OVER_BUDGET, budget, period, approved, pending, claim, share, message)
    if share >= NEAR_SHARE:
        message = f"{head} would use {percent}% of it ({_number(after)}).{waiting}"
        return BudgetFinding(NEAR_BUDGET, budget, period, approved, pending, claim, share, message)
    with_pending = after + pending
    if with_pending.amount > budget.amount:
        message = (
            f"{head} would take it to {_number(after)} ({percent}%), but with the {pending.format()} "
            f"waiting for approval it would reach {_number(with_pending)} "
            f"({_percent(with_pending.amount / budget.amount)}%)."
        )
        return BudgetFinding(OVER_WITH_PENDING, budget, period, approved, pending, claim, share, message)
    return None


def _number(money: Money) -> str:
    """``18,400.00``: the amount without its currency (named once in the message)."""
    return f"{money.amount:,.{minor_units(money.currency)}f}"


def _percent(share: Decimal) -> int:
    return int((share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
