"""Spend reports: grouping in SQL, conversion with the month's rates, month-over-month, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_finance import report
from storage.db import transaction
from storage.models import ExpenseProject, FxRate
from storage.reports import ReportError, report_csv, report_png, spend_report
from tests.finance.conftest import add_customer, add_expense

OCT1, NOV30 = dt.date(2026, 10, 1), dt.date(2026, 11, 30)
DEPARTMENTS = {"emp@example.com": "sales", "other@example.com": "support"}


@pytest.fixture
def spend(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(factory) as s:
        acme = add_customer(s, "Acme Corporation", "C-100")
        globex = add_customer(s, "Globex", "C-200")
        a = add_expense(
            s,
            amount="100.00",
            currency="USD",
            customer_id=acme,
            merchant="Cafe A",
            spent_on=dt.date(2026, 10, 5),
        )
        add_expense(
            s,
            amount="50.00",
            currency="EUR",
            customer_id=acme,
            category="travel",
            merchant="Taxi",
            spent_on=dt.date(2026, 10, 20),
        )
        add_expense(
            s,
            employee="U_OTHER",
            email="other@example.com",
            amount="20.00",
            currency="EUR",
            customer_id=acme,
            merchant="Cafe A",
            spent_on=dt.date(2026, 11, 3),
            status="paid",
        )
        add_expense(
            s,
            employee="U_OTHER",
            email="other@example.com",
            amount="200.00",
            approved_amount="150.00",
            currency="USD",
            customer_id=globex,
            category="lodging",
            spent_on=dt.date(2026, 11, 10),
        )
        add_expense(s, amount="10.00", currency="USD", spent_on=dt.date(2026, 11, 11))
        add_expense(
            s,
            amount="999.00",
            currency="USD",
            customer_id=acme,
            status="pending",
            spent_on=dt.date(2026, 11, 12),
        )
        add_expense(s, amount="1.00", currency="USD", customer_id=acme, spent_on=dt.date(2026, 12, 1))
        s.add(ExpenseProject(expense_id=a, project="Apollo"))
        s.add_all(
            [
                FxRate(base="EUR", quote="USD", day=dt.date(2026, 10, 1), rate=Decimal("1.10")),
                FxRate(base="EUR", quote="USD", day=dt.date(2026, 10, 15), rate=Decimal("1.20")),
                FxRate(base="USD", quote="EUR", day=dt.date(2026, 11, 2), rate=Decimal("0.80")),
            ]
        )
    return factory


def test_by_customer(spend: sessionmaker[Session]) -> None:
    with spend() as s:
        result = spend_report(s, "customer", OCT1, NOV30, "USD")
    rows = {r.key: r for r in result.rows}
    assert list(rows) == ["Acme Corporation", "Globex", "(no customer)"]  # largest first
    acme = rows["Acme Corporation"]
    # 100 USD + 50 EUR at October's average 1.15 + 20 EUR at November's 1/0.80
    assert acme.count == 3 and acme.total == Decimal("182.50")
    assert acme.by_month == {"2026-10": Decimal("157.50"), "2026-11": Decimal("25.00")}
    assert acme.per_currency == {"EUR": Decimal("70.00"), "USD": Decimal("100.00")}
    assert acme.top_merchants == [("Cafe A", 2), ("Taxi", 1)]
    change = acme.change("2026-11", "2026-10")
    assert change is not None and round(change, 1) == Decimal("-84.1")
    assert rows["Globex"].total == Decimal("150.00")  # the approved amount
    assert result.count == 5 and result.total == Decimal("342.50")
    assert result.per_currency == {"EUR": Decimal("70.00"), "USD": Decimal("260.00")}
    assert result.rates_used == {("EUR", "2026-10"): Decimal("1.15"), ("EUR", "2026-11"): Decimal("1.25")}


def test_by_department_project_category_employee(spend: sessionmaker[Session]) -> None:
    with spend() as s:
        dep = spend_report(s, "department", OCT1, NOV30, "USD", department_of=DEPARTMENTS.get)
        proj = spend_report(s, "project", OCT1, NOV30, "USD")
        cat = spend_report(s, "category", OCT1, NOV30, "USD")
        emp = spend_report(s, "employee", OCT1, NOV30, "USD")
    assert {r.key: r.total for r in dep.rows} == {"sales": Decimal("167.50"), "support": Decimal("175.00")}
    assert {r.key: r.total for r in proj.rows} == {
        "Apollo": Decimal("100.00"),
        "(no project)": Decimal("242.50"),
    }
    assert {r.key: r.count for r in cat.rows} == {"Meals": 3, "Travel": 1, "Lodging": 1}
    assert {r.key: r.total for r in emp.rows} == {
        "emp@example.com": Decimal("167.50"),
        "other@example.com": Decimal("175.00"),
    }
    for result in (dep, proj, cat, emp):
        assert result.total == Decimal("342.50")


def test_report_in_another_currency_uses_inverse_rates(spend: sessionmaker[Session]) -> None:
    with spend() as s:
        result = spend_report(s, "category", dt.date(2026, 11, 1), NOV30, "EUR")
    # November: 20 EUR + (150 + 10) USD at 0.80
    assert result.total == Decimal("148.00")


def test_missing_rate_is_an_error_not_one_to_one(spend: sessionmaker[Session]) -> None:
    with transaction(spend) as s:
        add_expense(s, amount="1500", currency="JPY", spent_on=dt.date(2026, 11, 20))
    with spend() as s, pytest.raises(ReportError, match=r"No exchange rate JPY→USD for 2026-11"):
        spend_report(s, "customer", OCT1, NOV30, "USD")


def test_csv_and_png(spend: sessionmaker[Session]) -> None:
    with spend() as s:
        result = spend_report(s, "customer", OCT1, NOV30, "USD")
    rows = list(csv.DictReader(io.StringIO(report_csv(result))))
    assert sum(Decimal(r["total_USD"]) for r in rows) == Decimal("342.50")
    acme = rows[0]
    assert acme["customer"] == "Acme Corporation" and acme["mom_change_pct"] == "-84.1%"
    assert acme["2026-10_USD"] == "157.50" and acme["amount_EUR"] == "70.00"
    assert acme["top_merchants"] == "Cafe A (2); Taxi (1)"
    assert report_png(result).startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_report(spend: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text(
        "email,manager_email,department,role\nemp@example.com,,sales,employee\n"
        "other@example.com,,support,employee\n"
    )
    env = {"DATABASE_URL": db_url, "EXPENSEBOT_ORG_FILE": str(org), "EXPENSEBOT_CURRENCY": "USD"}
    out_csv, out_png = tmp_path / "r.csv", tmp_path / "r.png"
    result = CliRunner().invoke(
        report,
        [
            "--by",
            "department",
            "--from",
            "2026-10-01",
            "--to",
            "2026-11-30",
            "--csv",
            str(out_csv),
            "--png",
            str(out_png),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "support" in result.output and "175.00 USD" in result.output and "342.50 USD" in result.output
    assert out_csv.read_text().startswith("department,count,total_USD")
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(
        report,
        ["--by", "customer", "--from", "2026-10-01", "--to", "2026-11-30", "--currency", "GBP"],
        env=env,
    )
    assert (
        bad.exit_code == 1 and "EUR→GBP for 2026-10, EUR→GBP for 2026-11, USD→GBP for 2026-10" in bad.output
    )


def test_rates_apply_with_twelve_decimals_on_every_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        add_expense(s, amount="7000000.00", currency="EUR", spent_on=dt.date(2026, 11, 5))
        add_expense(s, amount="0.07", currency="EUR", spent_on=dt.date(2026, 11, 6))
        s.add(FxRate(base="USD", quote="EUR", day=dt.date(2026, 11, 2), rate=Decimal("0.7")))
    with factory() as s:
        result = spend_report(s, "category", dt.date(2026, 11, 1), NOV30, "USD")
    # 1 / 0.7 = 1.428571428571428…, applied as 1.428571428571 (the rate the report lists)
    assert result.rates_used == {("EUR", "2026-11"): Decimal("1.428571428571")}
    # 7,000,000.07 × 1.428571428571 = 10,000,000.099997…
    assert result.total == Decimal("10000000.10")
    assert result.rows[0].per_currency == {"EUR": Decimal("7000000.07")}


def test_top_merchants_ties_by_name_in_code_point_order(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        acme = add_customer(s, "Acme Corporation", "C-100")
        for merchant in ("apple store", "Zebra Cafe", "Ältere Bäckerei", "Zebra Cafe", "Bistro"):
            add_expense(s, customer_id=acme, merchant=merchant, spent_on=dt.date(2026, 11, 4))
    with factory() as s:
        result = spend_report(s, "customer", dt.date(2026, 11, 1), NOV30, "USD")
    # Most expenses first; equal counts by the name's code points (upper case before lower case,
    # accented letters last), the same on PostgreSQL whatever its collation, and on SQLite.
    assert result.rows[0].top_merchants == [("Zebra Cafe", 2), ("Bistro", 1), ("apple store", 1)]


def test_small_rates_keep_their_decimals(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        add_expense(s, amount="100000", currency="JPY", spent_on=dt.date(2026, 11, 5))
        s.add(FxRate(base="JPY", quote="USD", day=dt.date(2026, 11, 2), rate=Decimal("0.006683")))
    with factory() as s:
        result = spend_report(s, "category", dt.date(2026, 11, 1), NOV30, "USD")
    assert result.rates_used == {("JPY", "2026-11"): Decimal("0.006683")}
    assert result.total == Decimal("668.30")  # not 670.00, at a rate cut to four decimals


def test_by_deal(spend: sessionmaker[Session], db_url: str) -> None:
    from sqlalchemy import select

    from storage.models import Customer, Deal, Expense

    with transaction(spend) as s:
        acme = s.scalar(select(Customer.id).where(Customer.external_id == "C-100"))
        pilot = Deal(source="hubspot", external_id="D1", name="Pilot", customer_id=acme, is_closed=True)
        s.add(pilot)
        s.flush()
        for expense in s.scalars(
            select(Expense).where(Expense.customer_id == acme, Expense.currency == "USD")
        ):
            expense.deal_id = pilot.id
    with spend() as s:
        result = spend_report(s, "deal", OCT1, NOV30, "USD")
    rows = {r.key: r for r in result.rows}
    # A closed deal keeps its history: 100 USD approved in October (the 999 USD is pending).
    assert rows["Pilot (Acme Corporation)"].total == Decimal("100.00")
    assert rows["(no deal)"].count == 4
    env = {"DATABASE_URL": db_url, "EXPENSEBOT_CURRENCY": "USD"}
    cli = CliRunner().invoke(report, ["--by", "deal", "--from", "2026-10-01", "--to", "2026-11-30"], env=env)
    assert cli.exit_code == 0, cli.output
    assert "Pilot (Acme Corporation)" in cli.output and "(no deal)" in cli.output
