"""Statement parsers: each format read from sample files written from the published specifications."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from workflows.statements import (
    StatementError,
    detect_format,
    parse,
    parse_decimal,
    parse_map,
    transaction_ids,
)

FIXTURES = Path(__file__).parent / "fixtures"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("card.ofx", "ofx"),
        ("card_v2.qfx", "ofx"),
        ("company.camt053.xml", "camt053"),
        ("card.camt054.xml", "camt054"),
        ("company.mt940", "mt940"),
        ("chase.csv", "csv"),
        ("mapped.csv", "csv"),
    ],
)
def test_format_is_detected_from_the_content(name: str, fmt: str) -> None:
    assert detect_format(read(name)) == fmt


def test_ofx_sgml_credit_card_statement() -> None:
    statement = parse(read("card.ofx"))
    assert (statement.format, statement.account, statement.kind) == ("ofx", "4111111111111234", "card")
    charge, refund = statement.lines
    assert charge.amount == Decimal("-12.50") and isinstance(charge.amount, Decimal)
    assert charge.booked_on == dt.date(2026, 11, 3)
    assert charge.description == "SQ *BLUE BOTTLE 0423 OAKLAND CA"
    assert (charge.bank_id, charge.card_last4, charge.currency) == ("2026110301", "1234", "USD")
    # the booking date is the bank's own day, not moved by the time zone
    assert refund.amount == Decimal("4.00") and refund.booked_on == dt.date(2026, 11, 5)


def test_ofx_v2_xml_with_original_currency() -> None:
    statement = parse(read("card_v2.qfx"))
    hotel = statement.lines[1]
    assert hotel.amount == Decimal("-113.40")
    assert (hotel.original_amount, hotel.original_currency) == (Decimal("-98.00"), "EUR")
    assert statement.lines[0].card_last4 == "5678"


def test_camt053_entries_with_end_to_end_ids_and_pending_entries_skipped() -> None:
    statement = parse(read("company.camt053.xml"))
    assert statement.account == "DE89370400440532013000" and statement.kind == "bank"
    assert len(statement.lines) == 2  # the PDNG entry is not booked yet
    transfer, income = statement.lines
    assert transfer.amount == Decimal("-150.00") and transfer.currency == "EUR"
    assert transfer.bank_id == "2026110500001"  # AcctSvcrRef before NtryRef
    assert transfer.end_to_end_id == "EB1-0001"
    assert transfer.counterparty == "Ana Lopez"
    assert transfer.counterparty_iban == "DE02120300000000202051"
    assert income.amount == Decimal("2500.00")


def test_camt054_card_notification() -> None:
    statement = parse(read("card.camt054.xml"))
    (line,) = statement.lines
    assert line.card_last4 == "4321" and line.amount == Decimal("-23.80")
    assert line.description == "CAFE DE FLORE PARIS" and line.bank_id == "C20261109-01"
    assert statement.kind == "card"


def test_camt_batch_booking_is_split_into_its_transfers() -> None:
    xml = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId>
<CreDtTm>2026-11-05T00:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id><CreDtTm>2026-11-05T00:00:00</CreDtTm>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-05</Dt></BookgDt>
<AcctSvcrRef>B1</AcctSvcrRef><NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
<TxDtls><Refs><EndToEndId>EB2-0001</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">10.00</Amt></TxAmt></AmtDtls></TxDtls>
<TxDtls><Refs><EndToEndId>EB2-0002</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">20.00</Amt></TxAmt></AmtDtls></TxDtls>
</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"""
    lines = parse(xml).lines
    assert [(ln.amount, ln.end_to_end_id, ln.bank_id) for ln in lines] == [
        (Decimal("-10.00"), "EB2-0001", "B1/EB2-0001"),
        (Decimal("-20.00"), "EB2-0002", "B1/EB2-0002"),
    ]


def test_mt940_with_structured_details() -> None:
    statement = parse(read("company.mt940"))
    assert statement.account == "DE89370400440532013000"
    out, back = statement.lines
    assert out.amount == Decimal("-50.00") and out.end_to_end_id == "EB7-0001" and out.bank_id == "BANKREF1"
    assert out.counterparty == "Ana Lopez" and out.where == "line 5"
    assert back.amount == Decimal("25.50") and back.bank_id is None  # NONREF is no id


def test_csv_preset_recognised_by_its_header() -> None:
    statement = parse(read("chase.csv"))
    assert [ln.amount for ln in statement.lines] == [
        Decimal(x) for x in ("-12.50", "-12.50", "-23.17", "-412.30", "23.17")
    ]
    assert statement.lines[0].booked_on == dt.date(2026, 11, 4)  # Post Date: the booking date


def test_csv_with_a_mapping() -> None:
    spec = "date=Posted Date,amount=Amount,description=Payee,card=Card,date_format=%d.%m.%Y"
    lines = parse(read("mapped.csv"), mapping=spec, default_currency="EUR").lines
    assert [(ln.booked_on, ln.amount, ln.card_last4, ln.currency) for ln in lines] == [
        (dt.date(2026, 11, 3), Decimal("-12.50"), "1234", "EUR"),
        (dt.date(2026, 11, 5), Decimal("-1234.56"), "1234", "EUR"),
    ]


def test_csv_debit_credit_columns_and_positive_is_debit() -> None:
    data = b"When,What,Out,In\n2026-11-02,Coffee,3.20,\n2026-11-03,Refund,,1.00\n"
    lines = parse(data, mapping="date=When,description=What,debit=Out,credit=In").lines
    assert [ln.amount for ln in lines] == [Decimal("-3.20"), Decimal("1.00")]
    amex = b"Date,Description,Amount\n11/02/2026,DELTA AIR,412.30\n11/04/2026,DELTA AIR REFUND,-412.30\n"
    lines = parse(
        amex, mapping="date=Date,description=Description,amount=Amount,sign=positive_is_debit"
    ).lines
    assert [ln.amount for ln in lines] == [Decimal("-412.30"), Decimal("412.30")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-12.50", "-12.50"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("(12.50)", "-12.50"),
        ("$12.50", "12.50"),
        ("12,5", "12.5"),
        ("12.50-", "-12.50"),
        ("EUR 3.00", "3.00"),
    ],
)
def test_amounts_are_exact_decimals(text: str, value: str) -> None:
    assert parse_decimal(text) == Decimal(value)


def test_a_bad_line_refuses_the_whole_csv_naming_the_line() -> None:
    data = read("chase.csv").replace(b"-23.17", b"abc", 1)
    with pytest.raises(StatementError) as err:
        parse(data)
    assert err.value.problems == ["line 4: 'abc' is not an amount"]
    assert "nothing was stored" in str(err.value)


def test_a_wrong_mapping_names_the_missing_column() -> None:
    with pytest.raises(StatementError, match="no column amount='Amt'"):
        parse(read("mapped.csv"), mapping="date=Posted Date,amount=Amt,description=Payee")
    with pytest.raises(StatementError, match="unknown field 'payee'"):
        parse_map("date=A,amount=B,payee=C")
    with pytest.raises(StatementError, match="missing description"):
        parse_map("date=A,amount=B")


def test_a_truncated_camt_file_names_the_line() -> None:
    data = read("company.camt053.xml")[:1500]
    with pytest.raises(StatementError, match=r"line \d+, column \d+: the XML is malformed or cut short"):
        parse(data, "camt053")


def test_a_camt_entry_without_amount_names_the_entry() -> None:
    data = read("company.camt053.xml").replace(
        b'<Amt Ccy="EUR">150.00</Amt>\n        <CdtDbtInd>', b"<CdtDbtInd>"
    )
    with pytest.raises(StatementError) as err:
        parse(data)
    assert err.value.problems == ["Stmt 1 / Ntry 1 (2026110500001): <Amt> is missing"]


def test_a_bad_ofx_transaction_names_its_line() -> None:
    data = read("card.ofx").replace(b"<TRNAMT>4.00", b"<TRNAMT>4.x0")
    with pytest.raises(StatementError) as err:
        parse(data)
    assert err.value.problems == ["line 17 (STMTTRN FITID 2026110502): TRNAMT '4.x0' is not an amount"]


def test_a_bad_mt940_line_names_its_line() -> None:
    data = read("company.mt940").replace(b":61:2611041104CR25,50", b":61:2611041104XX25,50")
    with pytest.raises(StatementError, match="line 7: :61: statement line"):
        parse(data)


def test_fingerprints_tell_equal_lines_apart_and_repeat_on_reimport() -> None:
    lines = parse(read("chase.csv")).lines
    first = transaction_ids("card", lines)
    assert len(set(first)) == len(lines)  # the two equal coffees are two lines
    assert all(i.startswith("fp-") and len(i) == 23 for i in first)
    assert transaction_ids("card", lines) == first
    assert transaction_ids("card", lines[1:])[0] == first[0]  # position in the file does not matter
    assert transaction_ids("other", lines) != first


def test_cut_short_files_are_refused_naming_where_they_end() -> None:
    ofx = read("card.ofx")
    with pytest.raises(StatementError, match=r"line \d+: the file ends before </OFX>: it was cut short"):
        parse(ofx[:700])
    with pytest.raises(
        StatementError, match="line 4: the statement opened here has no :62F: closing balance"
    ):
        parse(read("company.mt940").split(b":61:2611041104")[0])
    with pytest.raises(StatementError, match="this is not an OFX file"):
        parse(read("chase.csv"), "ofx")


def test_a_preset_picks_up_currency_and_card_columns() -> None:
    lines = parse(b"date,amount,description,currency,card\n2026-11-01,-1.00,Coffee,EUR,XXXX4321\n").lines
    assert (lines[0].currency, lines[0].card_last4) == ("EUR", "4321")
    with pytest.raises(StatementError, match="'XYZ' is not an ISO 4217 currency code"):
        parse(b"date,amount,description,currency\n2026-11-01,-1.00,Coffee,XYZ\n")
