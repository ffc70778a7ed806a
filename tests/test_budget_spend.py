"""Spend against budgets summed in SQL (one statement), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from storage.budgets import customer_names, rates_for, spent_against
from storage.db import transaction
from storage.fx import rate_lookup
from storage.models import CustomerAlias, ExpenseProject, FxRate
from tests.finance.conftest import add_customer, add_expense
from workflows.budgets import NEAR_BUDGET, OVER_BUDGET, BudgetClaim, evaluate_budgets
from workflows.money import Money
from workflows.policy import load_policy

POLICY = load_policy(
    """company_currency: USD
budgets:
  - department: Sales
    period: month
    amount: 200
  - customer: acme corp
    period: quarter
    amount: 250
  - project: apollo
    period: year
    amount: 1000
""",
    source="policy.yml",
)
SALES = ["emp@example.com", "other@example.com"]
DAY = dt.date(2026, 11, 24)


def test_spend_is_summed_by_scope_period_currency_and_state(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        acme = add_customer(s, "Acme Corporation", "C-100")
        s.add(CustomerAlias(customer_id=acme, alias="Acme Corp"))
        nov = dt.date(2026, 11, 5)
        add_expense(s, amount="100.00", spent_on=nov)
        add_expense(
            s, email="other@example.com", amount="50.00", currency="EUR", spent_on=dt.date(2026, 11, 20)
        )
        add_expense(s, amount="80.00", approved_amount="60.00", spent_on=nov, status="paid")
        add_expense(s, amount="30.00", spent_on=nov, status="pending")
        add_expense(s, amount="999.00", spent_on=nov, status="rejected")
        add_expense(s, amount="70.00", spent_on=dt.date(2026, 10, 31))  # last month
        add_expense(s, email="ops@example.com", amount="500.00", spent_on=nov)  # another department
        add_expense(
            s, email="ops@example.com", amount="200.00", customer_id=acme, spent_on=dt.date(2026, 10, 2)
        )
        apollo = add_expense(s, email="ops@example.com", amount="300.00", spent_on=dt.date(2026, 3, 9))
        s.add(ExpenseProject(expense_id=apollo, project="Apollo"))
        claim_id = add_expense(s, amount="40.00", customer_id=acme, spent_on=DAY, status="pending")
        s.add(ExpenseProject(expense_id=claim_id, project="APOLLO"))
        s.add(FxRate(base="EUR", quote="USD", day=dt.date(2026, 11, 19), rate=Decimal("1.10")))

    with factory() as session:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        names = customer_names(session, acme)
        assert {"Acme Corporation", "C-100", "Acme Corp"} <= names
        claim = BudgetClaim(
            Money(Decimal("40.00"), "USD"), DAY, department="sales", customer_names=names, project="Apollo"
        )
        bind = session.get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            spent = spent_against(
                session,
                POLICY.budgets,
                day=DAY,
                company_currency="USD",
                department_members={"sales": SALES},
                exclude_expense=claim_id,
            )
        finally:
            event.remove(bind, "before_cursor_execute", count)
        assert len(statements) == 1  # one aggregate statement for all three budgets

        pairs = [(item.amount.currency, item.day) for item in spent]
        assert ("EUR", dt.date(2026, 11, 20)) in pairs  # other currencies by day, for the day's rate
        rates = rates_for(session, pairs, "USD")
        for day in (
            dt.date(2026, 11, 19),
            dt.date(2026, 11, 20),
            dt.date(2026, 11, 26),
            dt.date(2026, 11, 27),
        ):
            assert rates("EUR", "USD", day) == rate_lookup(session)("EUR", "USD", day), day  # same answers
        assert rates("EUR", "USD", dt.date(2026, 11, 27)) is None  # more than 7 days old
        findings = evaluate_budgets(POLICY, claim, spent, rates=rates)
    by_scope = {f.budget.scope: f for f in findings}
    sales = by_scope["department"]
    assert sales.rule == OVER_BUDGET
    assert sales.approved == Money(Decimal("215.00"), "USD")  # 100 + 55 (50 EUR at 1.10) + 60 approved of 80
    assert sales.pending == Money(Decimal("30.00"), "USD")
    assert sales.message.startswith(
        "Sales budget for Nov 2026: 215.00 of 200.00 USD approved; this claim (40.00 USD) would take it to "
        "255.00 (128%). 30.00 USD more is waiting for approval."
    )
    acme_budget = by_scope["customer"]
    assert acme_budget.rule == NEAR_BUDGET and acme_budget.approved == Money(Decimal("200.00"), "USD")
    assert "Acme corp budget for Q4 2026" in acme_budget.message
    assert "project" not in by_scope  # 300 + 40 of 1,000: no warning
