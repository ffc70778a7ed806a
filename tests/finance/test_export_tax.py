"""Tax kept on expenses reaches the exports: the CSV's net/tax/tax_rate, QuickBooks' Line Tax
columns, Xero's TaxType/TaxAmount; prorated over a lower approved amount and over split parts."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.views import expense_view
from services.payouts import claim_batch
from storage.db import transaction
from storage.exports import build_export
from storage.models import Expense, ExpenseSplit
from tests.finance.conftest import add_expense, add_user

D = Decimal


def _tax(session: Session, expense_id: int, net: str, tax: str, rate: str | None) -> None:
    expense = session.get(Expense, expense_id)
    assert expense is not None
    expense.net_amount, expense.tax_amount = D(net), D(tax)
    expense.tax_rate = D(rate) if rate is not None else None


@pytest.fixture
def batch_id(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        add_user(s, "U_EMP", "emp@example.com", "Emma Employee")
        hotel = add_expense(s, amount="119.00", currency="EUR", merchant="Hotel Adlon", category="lodging")
        _tax(s, hotel, "100.00", "19.00", "19")
        lower = add_expense(s, amount="106.00", approved_amount="53.00", currency="MYR", merchant="Kedai")
        _tax(s, lower, "100.00", "6.00", "6")
        split = add_expense(s, amount="100.00", currency="GBP", merchant="Dinner")
        _tax(s, split, "83.33", "16.67", "20")
        s.add_all(
            [
                ExpenseSplit(expense_id=split, position=n, amount=D("33.33") if n < 3 else D("33.34"))
                for n in (1, 2, 3)
            ]
        )
        add_expense(s, amount="1100", currency="JPY", merchant="Ramen")  # no tax known
    with transaction(factory) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        return batch.id


def _rows(factory: sessionmaker[Session], batch_id: int, fmt: str, **options: str) -> list[dict[str, str]]:
    with factory() as s:
        text = build_export(s, batch_id, fmt, **options).content.decode("utf-8")  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_carries_net_tax_and_rate(factory: sessionmaker[Session], batch_id: int) -> None:
    rows = _rows(factory, batch_id, "csv")
    header = list(rows[0])
    assert header[-3:] == ["net", "tax", "tax_rate"] and header[:3] == [
        "batch_id",
        "expense_ref",
        "expense_id",
    ]
    by_merchant: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_merchant.setdefault(row["merchant"], []).append(row)
    (hotel,) = by_merchant["Hotel Adlon"]
    assert (hotel["amount"], hotel["net"], hotel["tax"], hotel["tax_rate"]) == (
        "119.00",
        "100.00",
        "19.00",
        "19",
    )
    (lower,) = by_merchant["Kedai"]  # half approved: half the tax
    assert (lower["amount"], lower["net"], lower["tax"], lower["tax_rate"]) == ("53.00", "50.00", "3.00", "6")
    parts = by_merchant["Dinner"]
    assert [p["amount"] for p in parts] == ["33.33", "33.33", "33.34"]
    assert sum(D(p["tax"]) for p in parts) == D("16.67")  # the parts' tax is the receipt's, to the penny
    assert all(D(p["net"]) + D(p["tax"]) == D(p["amount"]) for p in parts)
    (ramen,) = by_merchant["Ramen"]
    assert (ramen["net"], ramen["tax"], ramen["tax_rate"]) == ("", "", "")


def test_quickbooks_and_xero_carry_the_tax(factory: sessionmaker[Session], batch_id: int) -> None:
    qb = _rows(factory, batch_id, "quickbooks", input_tax="20.0% S")
    taxed = [r for r in qb if r["Line Tax Amount"]]
    assert {r["Line Tax Code"] for r in taxed} == {"20.0% S"}
    assert sum(D(r["Line Tax Amount"]) for r in taxed) == D("19.00") + D("3.00") + D("16.67")
    assert next(r for r in qb if "Ramen" in r["Line Description"])["Line Tax Code"] == ""
    xero = _rows(factory, batch_id, "xero")
    taxed = [r for r in xero if r["TaxAmount"]]
    assert {r["*TaxType"] for r in taxed} == {"Tax on Purchases"}
    assert len(taxed) == 5 and sum(D(r["TaxAmount"]) for r in taxed) == D("38.67")
    assert {r["*TaxType"] for r in xero if not r["TaxAmount"]} == {"Tax Exempt"}
    # UnitAmount stays what is paid (the file is imported as tax inclusive)
    assert sorted(D(r["*UnitAmount"]) for r in xero if "Hotel" in r["Description"]) == [D("119.00")]


def test_the_card_shows_each_part_s_share_of_the_tax(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        dinner = add_expense(s, amount="100.00", currency="GBP", merchant="Dinner", status="draft")
        _tax(s, dinner, "83.33", "16.67", "20")
        s.add_all(
            [
                ExpenseSplit(expense_id=dinner, position=n, amount=D("33.33") if n < 3 else D("33.34"))
                for n in (1, 2, 3)
            ]
        )
    with factory() as s:
        expense = s.get(Expense, dinner)
        assert expense is not None
        view = expense_view(expense)
    assert [line.split(" · ")[-1] for line in view.split_lines] == ["tax 5.56", "tax 5.55", "tax 5.56"]
    assert view.tax_line == "Net 83.33 GBP · Tax 16.67 GBP (20%)"
