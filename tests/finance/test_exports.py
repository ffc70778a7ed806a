"""Payout batch exports: layouts, totals to the cent, reproducibility, SEPA schema validity."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_finance import export
from services.payouts import claim_batch
from storage.db import transaction
from storage.exports import Debtor, build_export, record_export
from storage.models import AuditEvent, Expense, PayoutBatch, PayoutExport
from tests.finance.conftest import add_expense
from workflows.exports import ExportError

FIXTURES = Path(__file__).parent / "fixtures"
IBANS = {"emp@example.com": "DE89 3704 0044 0532 0130 00", "other@example.com": "FR1420041010050500013M02606"}
DEBTOR = Debtor("Example Company GmbH", "NL91ABNA0417164300", "ABNANL2A")
ORG = """email,manager_email,department,role,iban
emp@example.com,mgr@example.com,sales,employee,DE89370400440532013000
other@example.com,mgr@example.com,sales,employee,FR1420041010050500013M02606
solo@example.com,,sales,employee,
mgr@example.com,,sales,manager,
"""


def _batch(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        return batch.id


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _sum(rows: list[dict[str, str]], amount: str, currency: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        out[row[currency]] += Decimal(row[amount])
    return dict(out)


def _recorded_totals(factory: sessionmaker[Session], batch_id: int) -> dict[str, Decimal]:
    with factory() as s:
        batch = s.get(PayoutBatch, batch_id)
        assert batch is not None
        return {c: Decimal(v) for c, v in batch.totals.items()}


EXPECTED = {"EUR": Decimal("95.83"), "USD": Decimal("100.10"), "JPY": Decimal("1500")}


@pytest.mark.parametrize("fmt", ["csv", "quickbooks", "xero"])
def test_csv_layouts_add_up_and_repeat(seeded: sessionmaker[Session], fmt: str) -> None:
    batch_id = _batch(seeded)
    assert _recorded_totals(seeded, batch_id) == EXPECTED
    with seeded() as s:
        first = build_export(s, batch_id, fmt)
        again = build_export(s, batch_id, fmt)
    assert first.content == again.content  # reproducible, byte for byte
    text = first.content.decode("utf-8")
    rows = _rows(text)
    assert len(rows) == 6  # the pending expense is not in the batch
    header = next(csv.reader(io.StringIO(text)))
    columns = {
        "csv": ("amount", "currency"),
        "quickbooks": ("Line Amount", "Currency"),
        "xero": ("*UnitAmount", "Currency"),
    }[fmt]
    assert _sum(rows, *columns) == EXPECTED == first.totals
    if fmt != "csv":
        fixture_header, example = list(csv.reader(io.StringIO((FIXTURES / f"{fmt}_bills.csv").read_text())))
        assert header == fixture_header
        for row in rows:  # each value of the kind the vendor's layout has in that column
            for column, value in zip(fixture_header, example, strict=True):
                if _kind(value) != "text":
                    assert _kind(row[column]) == _kind(value), (column, row[column], value)


def _kind(value: str) -> str:
    if not value:
        return "empty"
    if re.fullmatch(r"\d\d/\d\d/\d{4}", value):
        return "date"
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return "number"
    return "text"


def test_quickbooks_one_bill_per_employee_and_currency(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with seeded() as s:
        rows = _rows(build_export(s, batch_id, "quickbooks").content.decode())
    bills: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in rows:
        bills[row["Bill No"]].add((row["Vendor"], row["Currency"]))
        assert row["Bill Date"] == dt.date.today().strftime("%m/%d/%Y") or re.fullmatch(
            r"\d\d/\d\d/\d{4}", row["Bill Date"]
        )
        assert row["Account"] and row["Vendor"]
        assert len(row["Bill No"]) <= 21
    assert all(len(keys) == 1 for keys in bills.values())
    assert sorted(k for keys in bills.values() for k in keys) == sorted(
        [
            ("Émilie Dupré", "EUR"),
            ("Émilie Dupré", "USD"),
            ("Otto Other", "EUR"),
            ("Otto Other", "JPY"),
            ("solo@example.com", "EUR"),
        ]
    )
    jpy = next(r for r in rows if r["Currency"] == "JPY")
    assert jpy["Line Amount"] == "1500"  # no decimals for yen
    usd = next(r for r in rows if r["Currency"] == "USD")
    assert usd["Line Amount"] == "100.10"  # the approved amount, not the claimed 120.00


def test_xero_required_columns_filled(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with seeded() as s:
        rows = _rows(build_export(s, batch_id, "xero").content.decode())
    for row in rows:
        for column, value in row.items():
            if column.startswith("*"):
                assert value, column
        assert row["*Quantity"] == "1"
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", row["*InvoiceDate"])
        assert row["Total"] == "" and row["TaxAmount"] == ""  # Xero computes them
        assert row["*TaxType"] == "Tax Exempt" and row["*AccountCode"] == "429"
        assert Decimal(row["*UnitAmount"]) > 0  # a bill, not a credit note
    acme = [r for r in rows if r["TrackingOption1"] == "Acme Corporation"]
    assert len(acme) == 1 and acme[0]["TrackingName1"] == "Customer"
    assert any('Taxi "Rapid"' in r["Description"] for r in rows)  # quotes survive CSV quoting
    bills = {(r["*InvoiceNumber"], r["*ContactName"], r["Currency"]) for r in rows}
    assert len({number for number, _, _ in bills}) == len(bills) == 5  # a bill number names one bill


def test_accounting_layouts_have_one_line_per_row(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        add_expense(s, merchant="Taxi\nRapid\r\nNord", amount="12.00")
        add_expense(s, merchant="Café", amount="3.10")
    batch_id = _batch(factory)
    with factory() as s:
        for fmt in ("csv", "quickbooks", "xero"):
            text = build_export(s, batch_id, fmt).content.decode()
            lines = text.split("\r\n")
            assert lines[-1] == "" and len(lines) == 4, fmt  # the header, two rows, the final break
            assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", ""), fmt
            assert "Taxi Rapid Nord" in text, fmt


def test_generic_csv_columns(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with seeded() as s:
        rows = _rows(build_export(s, batch_id, "csv").content.decode())
    globex = next(r for r in rows if r["customer"] == "Globex, Inc")
    assert globex["amount"] == "100.10" and globex["category"] == "Meals"
    assert {r["batch_id"] for r in rows} == {str(batch_id)}
    assert len({r["expense_id"] for r in rows}) == 6


def test_sepa_file_is_valid_pain_001_and_adds_up(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with seeded() as s:
        first = build_export(s, batch_id, "sepa", ibans=IBANS, debtor=DEBTOR)
        again = build_export(s, batch_id, "sepa", ibans=IBANS, debtor=DEBTOR)
    assert first.content == again.content
    import sepaxml

    xsd = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
    schema = xmlschema.XMLSchema(str(xsd))
    schema.validate(first.content.decode())
    doc = schema.to_dict(first.content.decode())
    header = doc["CstmrCdtTrfInitn"]["GrpHdr"]
    assert header["MsgId"] == f"EXPENSEBOT-BATCH-{batch_id}"
    txs = [tx for info in doc["CstmrCdtTrfInitn"]["PmtInf"] for tx in info["CdtTrfTxInf"]]
    by_iban = {tx["CdtrAcct"]["Id"]["IBAN"]: Decimal(str(tx["Amt"]["InstdAmt"]["$"])) for tx in txs}
    # emp: 42.50 + 19.99; other: 0.01; solo has no IBAN; USD and JPY are not SEPA.
    assert by_iban == {
        "DE89370400440532013000": Decimal("62.49"),
        "FR1420041010050500013M02606": Decimal("0.01"),
    }
    assert Decimal(str(header["CtrlSum"])) == sum(by_iban.values()) == first.totals["EUR"]
    assert int(header["NbOfTxs"]) == 2
    # What the file pays plus what it leaves out (by currency) is the whole batch, to the cent.
    assert first.left_out == {"EUR": Decimal("33.33"), "USD": Decimal("100.10"), "JPY": Decimal("1500")}
    assert first.left_out["EUR"] + first.totals["EUR"] == EXPECTED["EUR"]
    assert any("solo@example.com" in n and "no IBAN" in n for n in first.notes)
    assert any("JPY" in n for n in first.notes) and any("USD" in n for n in first.notes)


def test_sepa_refuses_bad_accounts(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with seeded() as s:
        with pytest.raises(ExportError, match="check digits"):
            build_export(
                s, batch_id, "sepa", ibans={"emp@example.com": "DE89370400440532013001"}, debtor=DEBTOR
            )
        with pytest.raises(ExportError, match="paying account"):
            build_export(s, batch_id, "sepa", ibans=IBANS, debtor=Debtor("X", "NL00ABNA0417164300"))
        with pytest.raises(ExportError, match=r"did not pass the pain\.001\.001\.03 schema"):
            build_export(s, batch_id, "sepa", ibans=IBANS, debtor=Debtor("X", DEBTOR.iban, "NOT A BIC"))
        with pytest.raises(ExportError, match="nothing to pay"):
            build_export(s, batch_id, "sepa", ibans={}, debtor=DEBTOR)


def test_an_expense_is_never_in_two_batches(seeded: sessionmaker[Session]) -> None:
    first = _batch(seeded)
    with transaction(seeded) as s:
        assert claim_batch(s, "test") is None  # nothing new waits
        add_expense(s, amount="7.77", currency="EUR")
    second = _batch(seeded)
    with seeded() as s:
        one = {r["expense_id"] for r in _rows(build_export(s, first, "csv").content.decode())}
        two = {r["expense_id"] for r in _rows(build_export(s, second, "csv").content.decode())}
        assert len(one) == 6 and len(two) == 1 and not one & two
        batched = s.scalars(select(Expense.id).where(Expense.payout_batch_id.is_not(None))).all()
        assert len(batched) == 7


def test_totals_mismatch_is_refused(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with transaction(seeded) as s:
        batch = s.get(PayoutBatch, batch_id)
        assert batch is not None
        batch.totals = {**batch.totals, "EUR": "95.84"}
    with seeded() as s, pytest.raises(ExportError, match="add up to"):
        build_export(s, batch_id, "csv")


def test_export_is_recorded_and_audited(seeded: sessionmaker[Session]) -> None:
    batch_id = _batch(seeded)
    with transaction(seeded) as s:
        record_export(s, build_export(s, batch_id, "xero"), actor="U_FIN")
    with seeded() as s:
        row = s.scalars(select(PayoutExport)).one()
        assert row.format == "xero" and row.expense_count == 6 and row.totals["EUR"] == "95.83"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "payout.exported")).one()
        assert event.actor == "U_FIN" and event.entity_id == str(batch_id)


def test_cli_export(seeded: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    batch_id = _batch(seeded)
    org = tmp_path / "org.csv"
    org.write_text(ORG)
    out = tmp_path / "pay.xml"
    env = {"DATABASE_URL": db_url, "EXPENSEBOT_ORG_FILE": str(org)}
    runner = CliRunner()
    result = runner.invoke(
        export,
        [
            "--batch",
            str(batch_id),
            "--format",
            "sepa",
            "--out",
            str(out),
            "--debtor-name",
            DEBTOR.name,
            "--debtor-iban",
            DEBTOR.iban,
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert b"<CtrlSum>62.50</CtrlSum>" in out.read_bytes()  # emp 62.49 + other 0.01
    assert "no IBAN" in result.output
    result = runner.invoke(export, ["--batch", str(batch_id), "--format", "csv"], env=env)
    assert result.exit_code == 0
    assert "95.83" not in result.output.splitlines()[0]
    xero = runner.invoke(
        export,
        ["--batch", str(batch_id), "--format", "xero", "--account", "493", "--tax-type", "No VAT"],
        env=env,
    )
    assert xero.exit_code == 0, xero.output
    xero_rows = _rows(xero.stdout)
    assert {(r["*AccountCode"], r["*TaxType"]) for r in xero_rows} == {("493", "No VAT")}
    missing = runner.invoke(export, ["--batch", "999", "--format", "csv"], env=env)
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert os.path.exists(out)


def test_every_export_adds_up_to_the_batch_total_to_the_cent(factory: sessionmaker[Session]) -> None:
    """Odd cents in four currencies (two, zero and three decimals), several people each."""
    people = [("U_A", "a@example.com"), ("U_B", "b@example.com"), ("U_C", "c@example.com")]
    with transaction(factory) as s:
        for employee, email in people:
            for amount, currency in (
                ("0.01", "EUR"),
                ("33.33", "EUR"),
                ("0.01", "USD"),
                ("33.33", "USD"),
                ("1", "JPY"),
                ("333", "JPY"),
                ("0.001", "KWD"),
                ("33.333", "KWD"),
            ):
                add_expense(s, employee=employee, email=email, amount=amount, currency=currency)
        add_expense(
            s, employee="U_A", email="a@example.com", amount="100.00", approved_amount="66.67", currency="EUR"
        )
    batch_id = _batch(factory)
    expected = {
        "EUR": Decimal("166.69"),
        "USD": Decimal("100.02"),
        "JPY": Decimal("1002"),
        "KWD": Decimal("100.002"),
    }
    assert _recorded_totals(factory, batch_id) == expected
    columns = {
        "csv": ("amount", "currency"),
        "quickbooks": ("Line Amount", "Currency"),
        "xero": ("*UnitAmount", "Currency"),
    }
    ibans = {"a@example.com": "DE89370400440532013000", "b@example.com": "FR1420041010050500013M02606"}
    with factory() as s:
        for fmt, (amount, currency) in columns.items():
            export_file = build_export(s, batch_id, fmt)
            rows = _rows(export_file.content.decode())
            assert len(rows) == 25, fmt
            assert _sum(rows, amount, currency) == expected == export_file.totals, fmt
            kwd = {row[amount] for row in rows if row[currency] == "KWD"}
            assert kwd == {"0.001", "33.333"}, fmt  # three decimals, as written
        sepa = build_export(s, batch_id, "sepa", ibans=ibans, debtor=DEBTOR)
    import sepaxml

    xsd = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
    doc = xmlschema.XMLSchema(str(xsd)).to_dict(sepa.content.decode())
    paid = sum(
        (
            Decimal(str(tx["Amt"]["InstdAmt"]["$"]))
            for info in doc["CstmrCdtTrfInitn"]["PmtInf"]
            for tx in info["CdtTrfTxInf"]
        ),
        Decimal(0),
    )
    # a: 0.01 + 33.33 + 66.67; b: 0.01 + 33.33; c has no IBAN (33.34 left out, with the other currencies)
    assert paid == sepa.totals["EUR"] == Decimal("133.35")
    assert Decimal(str(doc["CstmrCdtTrfInitn"]["GrpHdr"]["CtrlSum"])) == paid
    assert sepa.left_out == {"EUR": Decimal("33.34"), **{c: a for c, a in expected.items() if c != "EUR"}}
    assert sepa.totals["EUR"] + sepa.left_out["EUR"] == expected["EUR"]
