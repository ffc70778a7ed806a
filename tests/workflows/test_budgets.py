"""Budgets: what a claim does to its department's, customer's or project's budget (pure, table-driven)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from workflows.budgets import (
    NEAR_BUDGET,
    OVER_BUDGET,
    OVER_WITH_PENDING,
    BudgetClaim,
    Spent,
    evaluate_budgets,
    period_of,
)
from workflows.fx import MissingRate, fixed_rates
from workflows.money import Money
from workflows.policy import PolicyError, load_policy

POLICY = load_policy(
    """company_currency: USD
budgets:
  - department: sales
    period: month
    amount: 20000
  - customer: "Acme Corp"
    period: quarter
    amount: 5000
  - project: Apollo
    period: year
    amount: 100000
    label: Project Apollo
""",
    source="policy.yml",
)
RATES = fixed_rates({("EUR", "USD"): Decimal("1.10")})
DAY = date(2026, 11, 20)


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def sales(amount: str, day: date = DAY, *, currency: str = "USD", pending: bool = False) -> Spent:
    return Spent("department", "Sales", day, Money(Decimal(amount), currency), pending=pending)


CLAIM = BudgetClaim(amount=usd("2100.00"), day=DAY, department="Sales")

# (situation, claim, spent already, expected rules, expected message or fragment)
CASES = [
    ("under", CLAIM, [sales("10000.00")], [], None),
    ("no spend yet", CLAIM, [], [], None),
    (
        "over",
        CLAIM,
        [sales("18400.00")],
        [OVER_BUDGET],
        "Sales budget for Nov 2026: 18,400.00 of 20,000.00 USD approved; this claim (2,100.00 USD) "
        "would take it to 20,500.00 (103%).",
    ),
    (
        "at 90%",
        CLAIM,
        [sales("16900.00")],
        [NEAR_BUDGET],
        "Sales budget for Nov 2026: 16,900.00 of 20,000.00 USD approved; this claim (2,100.00 USD) "
        "would use 95% of it (19,000.00).",
    ),
    ("just under 90%", CLAIM, [sales("15799.99")], [], None),
    ("exactly the budget", CLAIM, [sales("17900.00")], [NEAR_BUDGET], "would use 100% of it (20,000.00)"),
    (
        "other period",
        CLAIM,
        [sales("18400.00", date(2026, 10, 31)), sales("9000.00", date(2026, 12, 1))],
        [],
        None,
    ),
    (
        "other department",
        CLAIM,
        [Spent("department", "Engineering", DAY, usd("19000.00"))],
        [],
        None,
    ),
    (
        "other currency converted",
        CLAIM,
        [sales("15000.00", currency="EUR")],  # 16,500.00 USD at 1.10
        [NEAR_BUDGET],
        "16,500.00 of 20,000.00 USD approved; this claim (2,100.00 USD) would use 93% of it (18,600.00)",
    ),
    (
        "claim in another currency",
        BudgetClaim(amount=Money(Decimal("2000.00"), "EUR"), day=DAY, department="sales"),
        [sales("18400.00")],
        [OVER_BUDGET],
        "this claim (2,200.00 USD) would take it to 20,600.00 (103%)",
    ),
    (
        "pending shown separately",
        CLAIM,
        [sales("16900.00"), sales("1200.00", pending=True)],
        [NEAR_BUDGET],
        "would use 95% of it (19,000.00). 1,200.00 USD more is waiting for approval.",
    ),
    (
        "over only with pending claims",
        CLAIM,
        [sales("10000.00"), sales("9000.00", pending=True)],
        [OVER_WITH_PENDING],
        "would take it to 12,100.00 (61%), but with the 9,000.00 USD waiting for approval it would reach "
        "21,100.00 (106%).",
    ),
    (
        "no budget",
        BudgetClaim(amount=usd("2100.00"), day=DAY, department="Engineering"),
        [sales("19000.00")],
        [],
        None,
    ),
    (
        "customer budget by alias, quarter",
        BudgetClaim(
            amount=usd("600.00"),
            day=DAY,
            customer_names=frozenset({"C-100", "ACME CORP", "Acme Corporation"}),
        ),
        [Spent("customer", "Acme Corp", date(2026, 10, 2), usd("4500.00"))],
        [OVER_BUDGET],
        "Acme Corp budget for Q4 2026: 4,500.00 of 5,000.00 USD approved; this claim (600.00 USD) would take it "
        "to 5,100.00 (102%).",
    ),
    (
        "project budget with a label",
        BudgetClaim(amount=usd("5000.00"), day=DAY, project="apollo"),
        [Spent("project", "Apollo", date(2026, 1, 5), usd("90000.00"))],
        [NEAR_BUDGET],
        "Project Apollo budget for 2026: 90,000.00 of 100,000.00 USD approved",
    ),
]


@pytest.mark.parametrize(
    ("situation", "claim", "spent", "rules", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_budget_findings(
    situation: str, claim: BudgetClaim, spent: list[Spent], rules: list[str], message: str | None
) -> None:
    findings = evaluate_budgets(POLICY, claim, spent, rates=RATES)
    assert [f.rule for f in findings] == rules, situation
    if message is not None:
        assert message in findings[0].message


def test_a_missing_rate_is_an_error_never_a_1_to_1_guess() -> None:
    with pytest.raises(MissingRate, match="No GBP→USD rate for 2026-11-03"):
        evaluate_budgets(POLICY, CLAIM, [sales("100.00", date(2026, 11, 3), currency="GBP")], rates=RATES)


@pytest.mark.parametrize(
    ("kind", "day", "start", "end", "label"),
    [
        ("month", date(2026, 2, 14), date(2026, 2, 1), date(2026, 2, 28), "Feb 2026"),
        ("month", date(2026, 12, 31), date(2026, 12, 1), date(2026, 12, 31), "Dec 2026"),
        ("quarter", date(2026, 11, 20), date(2026, 10, 1), date(2026, 12, 31), "Q4 2026"),
        ("quarter", date(2027, 3, 31), date(2027, 1, 1), date(2027, 3, 31), "Q1 2027"),
        ("year", date(2026, 6, 1), date(2026, 1, 1), date(2026, 12, 31), "2026"),
    ],
)
def test_periods(kind: str, day: date, start: date, end: date, label: str) -> None:
    period = period_of(kind, day)
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            "  - department: sales\n    period: week\n    amount: 10",
            "line 3: budgets[0].period: 'week' is not one of",
        ),
        (
            "  - department: sales\n    period: month\n    amout: 10",
            "line 4: budgets[0].amout: unknown setting 'amout'; did you mean 'amount'?",
        ),
        (
            "  - department: sales\n    customer: Acme\n    period: month\n    amount: 10",
            "line 2: budgets[0]: a budget needs exactly one of department, customer or project (found department and customer)",
        ),
        (
            "  - period: month\n    amount: 10",
            "line 2: budgets[0]: a budget needs exactly one of department, customer or project",
        ),
        (
            "  - project: Apollo\n    period: year\n    amount: 0",
            "line 2: budgets[0]: the budget amount must be more than zero",
        ),
        (
            "  - project: Apollo\n    period: year\n    amount: 12.5.0",
            "line 4: budgets[0].amount: '12.5.0' is not an amount",
        ),
        (
            "  - department: sales\n    period: month\n    amount: 10\n  - department: Sales\n    period: month\n    amount: 20",
            "line 1: budgets: entry 2 repeats entry 1: two monthly budgets for department 'Sales'",
        ),
    ],
)
def test_bad_budget_entries_name_the_line(entry: str, error: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(f"budgets:\n{entry}\ncompany_currency: USD\n", source="policy.yml")
    assert f"policy.yml {error}" in str(caught.value)


def test_the_policy_summary_lists_the_budgets() -> None:
    from bot.policy_admin import overview
    from workflows.policy import summary

    assert overview(POLICY)[-1] == (
        "Budgets (approvers are warned from 90%): Sales (department) 20,000.00 USD a month; "
        "Acme Corp (customer) 5,000.00 USD a quarter; Project Apollo (project) 100,000.00 USD a year."
    )
    assert summary(POLICY).endswith("3 budgets")
