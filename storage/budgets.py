"""What was already spent against budgets: one aggregate query, summed in SQL.

For each budget that covers a claim, the claims of the same department, customer or project in
the budget's period (from the expense date) are summed by currency, by day for currencies other
than the company's (so each is converted with its day's rate, as limits are), and by state:
approved or paid, and still pending approval. The claim itself is left out. The budgets' selects
are put together with ``UNION ALL`` and run as one statement; Python only reads the grouped sums.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Integer, Select, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from storage.fx import MAX_AGE_DAYS, looking_up_for, visible_to
from storage.models import Customer, CustomerAlias, Expense, ExpenseProject, FxRate
from workflows.budgets import Spent, period_of
from workflows.expenses import Status
from workflows.fx import PIVOT, RateLookup
from workflows.money import Money
from workflows.policy import Budget

COUNTED = (Status.APPROVED.value, Status.PAID.value)
PENDING = Status.PENDING.value
AMOUNT = func.coalesce(Expense.approved_amount, Expense.amount)


def spent_against(
    session: Session,
    budgets: Sequence[Budget],
    *,
    day: dt.date,
    company_currency: str,
    department_members: Mapping[str, Sequence[str]],
    exclude_expense: int | None = None,
) -> list[Spent]:
    """Already-summed spend for ``budgets`` in their period around ``day``.

    ``department_members`` gives, for each department budget's key, the emails of the people
    the directory puts in that department.
    """
    parts: list[Select[Any]] = []
    for index, budget in enumerate(budgets):
        scope = _scope(budget, department_members)
        if scope is None:
            continue
        period = period_of(budget.period, day)
        bucket = case((Expense.status == PENDING, 1), else_=0)
        group_day = case(
            (Expense.currency == company_currency, literal(period.start, Date)), else_=Expense.spent_on
        )
        stmt = (
            select(
                literal(index, Integer).label("budget"),
                Expense.currency.label("currency"),
                group_day.label("day"),
                bucket.label("pending"),
                func.sum(AMOUNT).label("total"),
            )
            .where(
                Expense.status.in_((*COUNTED, PENDING)),
                Expense.spent_on >= period.start,
                Expense.spent_on <= period.end,
                Expense.currency.is_not(None),
                Expense.amount.is_not(None),
                scope,
            )
            .group_by(Expense.currency, group_day, bucket)
        )
        if budget.scope == "project":
            stmt = stmt.join(ExpenseProject, ExpenseProject.expense_id == Expense.id)
        if exclude_expense is not None:
            stmt = stmt.where(Expense.id != exclude_expense)
        parts.append(stmt)
    if not parts:
        return []
    statement = union_all(*parts) if len(parts) > 1 else parts[0]
    spent: list[Spent] = []
    for index, currency, group_day, pending, total in session.execute(statement):
        budget = budgets[int(index)]
        when = group_day if isinstance(group_day, dt.date) else dt.date.fromisoformat(str(group_day)[:10])
        amount = total if isinstance(total, Decimal) else Decimal(str(total))
        spent.append(Spent(budget.scope, budget.name, when, Money(amount, currency), pending=bool(pending)))
    return spent


def _scope(budget: Budget, department_members: Mapping[str, Sequence[str]]) -> Any:
    """The WHERE condition selecting the budget's claims; None when nothing can match."""
    key = budget.key
    if budget.scope == "department":
        emails = [email.lower() for email in department_members.get(key, ())]
        return Expense.employee_email.in_(emails) if emails else None
    if budget.scope == "customer":
        by_name = select(Customer.id).where(
            or_(func.lower(Customer.name) == key, func.lower(Customer.external_id) == key)
        )
        by_alias = select(CustomerAlias.customer_id).where(func.lower(CustomerAlias.alias) == key)
        return Expense.customer_id.in_(by_name.union(by_alias))
    return func.lower(ExpenseProject.project) == key


def customer_names(session: Session, customer_id: int | None) -> frozenset[str]:
    """Every name a customer goes by (name, CRM id, aliases), for matching customer budgets."""
    if customer_id is None:
        return frozenset()
    customer = session.get(Customer, customer_id)
    if customer is None:
        return frozenset()
    return frozenset({customer.name, customer.external_id, *(alias.alias for alias in customer.aliases)})


def rates_for(
    session: Session,
    amounts: Iterable[tuple[str, dt.date]],
    to: str,
    max_age_days: int = MAX_AGE_DAYS,
    team: str | None = None,
) -> RateLookup:
    """A rate lookup for converting ``(currency, day)`` pairs into ``to``, loaded in one query.

    It answers as :func:`storage.fx.rate_lookup` does (the newest rate on or before the day, at
    most ``max_age_days`` old; the workspace's own before the shared), without a query per day: a year of spend in four currencies is
    about a thousand days to convert.
    """
    wanted = [(currency.upper(), day) for currency, day in amounts if currency.upper() != to.upper()]
    if not wanted:
        return lambda base, quote, day: None
    # With the euro and the target: cross rates go through the euro (the ECB's reference rates).
    currencies = sorted({currency for currency, _ in wanted} | {PIVOT, to.upper()})
    first = min(day for _, day in wanted) - dt.timedelta(days=max_age_days)
    last = max(day for _, day in wanted)
    rows = session.execute(
        select(FxRate.base, FxRate.quote, FxRate.day, FxRate.rate, FxRate.team_id)
        .where(
            or_(FxRate.base.in_(currencies), FxRate.quote.in_(currencies)),
            FxRate.day >= first,
            FxRate.day <= last,
            visible_to(looking_up_for(team)),
        )
        .order_by(FxRate.day)
    ).all()
    # (own?, base, quote): the workspace's own rates (True) apart from the shared ones (False)
    days: dict[tuple[bool, str, str], list[dt.date]] = defaultdict(list)
    values: dict[tuple[bool, str, str], list[Decimal]] = defaultdict(list)
    for base, quote, day, rate, owner in rows:
        days[(owner is not None, base, quote)].append(day)
        values[(owner is not None, base, quote)].append(rate)

    def newest(key: tuple[bool, str, str], day: dt.date) -> Decimal | None:
        index = bisect.bisect_right(days.get(key, []), day) - 1
        if index < 0 or days[key][index] < day - dt.timedelta(days=max_age_days):
            return None
        return values[key][index]

    def lookup(base: str, quote: str, day: dt.date) -> Decimal | None:
        own = newest((True, base.upper(), quote.upper()), day)
        return own if own is not None else newest((False, base.upper(), quote.upper()), day)

    return lookup
