from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from workflows.directory import Directory
from workflows.fx import MissingRate, fixed_rates
from workflows.money import Money
from workflows.policy import ExpenseFacts, default_policy, load_policy
from workflows.policy_anomalies import Flag, amount_flag, anomaly_flags, holiday_flag, weekend_flag
from workflows.routing import plan_route

POLICY = default_policy()  # flags at 3× the median, from 3 past claims; weekends flagged
MONDAY = date(2026, 11, 23)


def usd(*amounts: str) -> list[Money]:
    return [Money(Decimal(a), "USD") for a in amounts]


@pytest.mark.parametrize(
    ("amount", "history", "message"),
    [
        (
            "90.00",
            usd("20.00", "30.00", "25.00"),
            "90.00 USD is 3.6× this person's usual meals expense "
            "(median 25.00 USD over the last 3 claims; flagged at 3×).",
        ),
        (
            "75.00",
            usd("20.00", "30.00", "25.00"),
            "75.00 USD is 3.0× this person's usual meals expense "
            "(median 25.00 USD over the last 3 claims; flagged at 3×).",
        ),
        ("74.99", usd("20.00", "30.00", "25.00"), None),
        ("500.00", usd("20.00", "30.00"), None),  # not enough history
        ("500.00", usd("0.00", "0.00", "0.00"), None),  # no meaningful median
        (
            "90.00",
            usd("10", "20", "30", "40"),
            "90.00 USD is 3.6× this person's usual meals expense "
            "(median 25.00 USD over the last 4 claims; flagged at 3×).",
        ),
    ],
)
def test_amount_flag(amount: str, history: list[Money], message: str | None) -> None:
    flag = amount_flag(Money(Decimal(amount), "USD"), history, POLICY, category_label="Meals", on=MONDAY)
    assert (flag.message if flag else None) == message
    if flag:
        assert flag.rule == "unusual_amount"


def test_amount_flag_converts_every_currency_first() -> None:
    rates = fixed_rates({("MYR", "USD"): Decimal("0.25"), ("EUR", "USD"): Decimal("1.10")})
    history = [Money(Decimal("80.00"), "MYR"), Money(Decimal("20.00"), "USD"), Money(Decimal("20.00"), "EUR")]
    flag = amount_flag(Money(Decimal("300.00"), "MYR"), history, POLICY, on=MONDAY, rates=rates)
    assert flag == Flag(
        "unusual_amount",
        "75.00 USD (300.00 MYR) is 3.8× this person's usual expense "
        "(median 20.00 USD over the last 3 claims; flagged at 3×).",
    )
    with pytest.raises(MissingRate):
        amount_flag(Money(Decimal("300.00"), "MYR"), history, POLICY, on=MONDAY)


def test_history_settings_come_from_the_policy() -> None:
    policy = load_policy("company_currency: USD\nanomalies:\n  history_factor: 1.5\n  min_history: 1\n")
    flag = amount_flag(Money(Decimal("15"), "USD"), usd("10"), policy, on=MONDAY)
    assert flag is not None and "flagged at 1.5×" in flag.message


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(2026, 11, 21), "Spent on a Saturday (2026-11-21)."),
        (date(2026, 11, 22), "Spent on a Sunday (2026-11-22)."),
        (date(2026, 11, 20), None),
        (None, None),
    ],
)
def test_weekend_flag(day: date | None, message: str | None) -> None:
    flag = weekend_flag(day, POLICY)
    assert (flag.message if flag else None) == message


def test_weekend_flag_can_be_switched_off() -> None:
    policy = load_policy("company_currency: USD\nanomalies:\n  flag_weekends: false\n")
    assert weekend_flag(date(2026, 11, 21), policy) is None


HOLIDAYS = "company_currency: USD\nreminders:\n  holidays: [2026-12-25, 2026-12-26]\n"


@pytest.mark.parametrize(
    ("extra", "day", "message"),
    [
        ("", date(2026, 12, 25), "Spent on a holiday (Friday 2026-12-25)."),
        ("", date(2026, 12, 26), "Spent on a holiday (Saturday 2026-12-26)."),
        ("", date(2026, 12, 24), None),
        ("", None, None),
        ("anomalies:\n  flag_holidays: false\n", date(2026, 12, 25), None),
    ],
)
def test_holiday_flag(extra: str, day: date | None, message: str | None) -> None:
    flag = holiday_flag(day, load_policy(HOLIDAYS + extra))
    assert (flag.message if flag else None) == message


def test_a_holiday_on_a_weekend_gets_both_flags() -> None:
    expense = ExpenseFacts(Money(Decimal("30.00"), "USD"), "meals", "Cafe", date(2026, 12, 26), True)
    flags = anomaly_flags(expense, load_policy(HOLIDAYS), today=date(2026, 12, 28))
    assert [f.rule for f in flags] == ["weekend", "holiday"]


def test_flags_prevent_auto_approval() -> None:
    policy = load_policy("company_currency: USD\nauto_approve_below: 50\n")
    directory = Directory.from_csv_text(
        "email,manager_email,department,role\nboss@x.test,,Ops,finance\nana@x.test,boss@x.test,Ops,employee\n"
        "it@x.test,boss@x.test,Ops,admin\n"
    )
    expense = ExpenseFacts(
        Money(Decimal("30.00"), "USD"),
        "meals",
        "Cafe",
        date(2026, 11, 21),
        True,
        submitter_email="ana@x.test",
    )
    flags = anomaly_flags(expense, policy, history=usd("5", "6", "7"), today=MONDAY)
    assert [f.rule for f in flags] == ["unusual_amount", "weekend"]
    route = plan_route(expense, directory, policy, today=MONDAY, flags=flags)
    assert route.auto_approved_rule is None
    assert "no auto-approval: flagged (unusual_amount, weekend)" in route.trace
    assert route.flags == tuple(flags)
    assert (
        plan_route(expense, directory, policy, today=MONDAY).auto_approved_rule
        == "auto_approve_below 50.00 USD"
    )
