"""A receipt's tax: rates read or inferred, "does not add up", the edit form's checks, and tax in
every export adding up to the cent (hypothesis over currencies with 0, 2 and 3 decimals, random
splits, rates, approved amounts and conversions)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.exports import split_lines, with_tax
from workflows.exports import BatchExport, ExportLine, generic_csv, quickbooks_csv, xero_csv
from workflows.money import Money, minor_units
from workflows.tax import (
    TaxFacts,
    TaxInput,
    infer_rate,
    mismatch,
    paid_tax,
    parse_rate,
    parse_tax,
    split_tax,
    tax_facts,
)

D = Decimal
CURRENCIES = st.sampled_from(["JPY", "KRW", "EUR", "USD", "GBP", "KWD", "BHD"])  # 0, 2 and 3 decimals
RATES = st.sampled_from([D(0), D(5), D(6), D("7.7"), D(8), D("8.875"), D(10), D(19), D(20), D(21), D(25)])


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "tax", "currency", "rate"),
    [
        ("11.00", "0.66", "MYR", "6"),  # Malaysian GST 6%
        ("84.03", "15.97", "EUR", "19"),  # MwSt 19%: 19% of 84.03 is 15.9657
        ("100.00", "7.70", "CHF", "7.7"),  # Swiss VAT 7.7%
        ("40.00", "3.55", "USD", None),  # New York City's 8.875%: not inferred, only kept when printed
        ("1000", "100", "JPY", "10"),  # 消費税 10%
        ("10.000", "0.500", "BHD", "5"),  # Bahrain VAT 5%
        ("50.00", "0.00", "GBP", "0"),  # zero-rated
    ],
)
def test_rates_are_inferred_from_tax_and_net(net: str, tax: str, currency: str, rate: str | None) -> None:
    assert infer_rate(D(net), D(tax), currency) == (D(rate) if rate is not None else None)


def test_no_rate_is_inferred_when_none_fits() -> None:
    # 7% on 1000.00 of food and 19% on 234.56 of drinks: 70.00 + 44.57 = 114.57 on 1234.56, 9.28%
    assert infer_rate(D("1234.56"), D("114.57"), "EUR") is None
    assert infer_rate(D("100.00"), D("19.01"), "EUR") == D(19)  # a cent of per-line rounding
    assert infer_rate(D("10.00"), D("20.00"), "EUR") is None  # more tax than net: a misreading
    assert tax_facts(D("40.00"), D("3.55"), D("43.55"), "USD", D("8.875")).rate == D("8.875")  # printed


def test_a_printed_rate_is_kept_and_checked() -> None:
    assert tax_facts(D("11.00"), D("0.66"), D("11.66"), "MYR", D(6)) == TaxFacts(D("11.00"), D("0.66"), D(6))
    # printed 6% but 0.90 of tax on 11.00: kept as printed, and the card says it does not add up
    misread = tax_facts(D("11.00"), D("0.90"), D("11.90"), "MYR", D(6))
    assert misread.rate == D(6)
    assert "6% of 11.00 MYR is 0.66 MYR, not 0.90 MYR" in (mismatch(misread, D("11.90"), "MYR") or "")
    assert tax_facts(D("10.00"), D("0.80"), D("10.80"), "MYR").rate == D(8)  # not printed: inferred


def test_a_missing_net_is_the_total_less_the_tax() -> None:
    assert tax_facts(None, D("15.97"), D("100.00"), "EUR", D(19)) == TaxFacts(D("84.03"), D("15.97"), D(19))
    assert tax_facts(None, None, D("100.00"), "EUR", D(19)) == TaxFacts(rate=D(19))
    assert tax_facts(None, None, D("100.00"), "EUR") == TaxFacts()


def test_the_card_says_when_the_tax_lines_do_not_add_up() -> None:
    assert mismatch(TaxFacts(D("11.00"), D("0.66"), D(6)), D("11.66"), "MYR") is None
    assert mismatch(TaxFacts(D("11.00"), D("0.66"), D(6)), D("11.65"), "MYR") is None  # cash rounding
    problem = mismatch(TaxFacts(D("11.00"), D("0.66"), D(6)), D("12.76"), "MYR")
    assert problem is not None and "do not add up" in problem
    assert "11.00 MYR + tax 0.66 MYR = 11.66 MYR" in problem and "12.76 MYR" in problem
    assert mismatch(TaxFacts(D("1000"), D("100")), D("1101"), "JPY") is None  # one yen of rounding
    assert mismatch(TaxFacts(D("1000"), D("100")), D("1102"), "JPY") is not None
    rate_off = mismatch(TaxFacts(D("100.00"), D("19.00"), D(7)), D("119.00"), "EUR")
    assert rate_off is not None and "7% of 100.00 EUR is 7.00 EUR" in rate_off
    too_much = mismatch(TaxFacts(None, D("50.00")), D("20.00"), "EUR")
    assert too_much is not None and "more than the total" in too_much
    assert mismatch(TaxFacts(D("10.00"), None), D("20.00"), "EUR") is None  # no tax: nothing to say


# --- the edit form ------------------------------------------------------------------------------


def test_the_form_accepts_any_two_of_net_tax_and_total() -> None:
    assert parse_tax(TaxInput("84.03", "15.97", "19"), D("100.00"), "EUR") == (
        TaxFacts(D("84.03"), D("15.97"), D(19)),
        {},
    )
    assert parse_tax(TaxInput(tax_text="15,97"), D("100.00"), "EUR")[0] == TaxFacts(
        D("84.03"), D("15.97"), D(19)
    )
    assert parse_tax(TaxInput(net_text="84.03"), D("100.00"), "EUR")[0] == TaxFacts(
        D("84.03"), D("15.97"), D(19)
    )
    # only the rate: the tax inside the total at that rate
    assert parse_tax(TaxInput(rate_text="19 %"), D("119.00"), "EUR")[0] == TaxFacts(
        D("100.00"), D("19.00"), D(19)
    )
    assert parse_tax(TaxInput("", " ", ""), D("119.00"), "EUR") == (TaxFacts(), {})


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        (TaxInput(tax_text="abc"), "tax", "is not an amount"),
        (TaxInput(tax_text="-1"), "tax", "cannot be negative"),
        (TaxInput(tax_text="1.234"), "tax", "more decimals than EUR"),
        (TaxInput(tax_text="200"), "tax", "more than the total"),
        (TaxInput(net_text="0"), "net", "more than zero"),
        (TaxInput(rate_text="120"), "tax_rate", "from 0 up to 100%"),
        (TaxInput(rate_text="lots"), "tax_rate", "is not a tax rate"),
        (TaxInput("80.00", "15.00"), "tax", "not the total 100.00 EUR"),
        (TaxInput("84.03", "15.97", "7"), "tax_rate", "7% of 84.03 EUR is 5.88 EUR"),
    ],
)
def test_the_form_explains_what_is_wrong(entry: TaxInput, field: str, says: str) -> None:
    facts, errors = parse_tax(entry, D("100.00"), "EUR")
    assert facts == TaxFacts()
    assert field in errors and says in errors[field], errors


def test_the_tax_needs_a_total() -> None:
    assert "total" in parse_tax(TaxInput(tax_text="1.00"), None, "EUR")[1]["tax"]


def test_rates_as_typed() -> None:
    assert parse_rate("7,7%") == D("7.7")
    assert parse_rate("19.0") == D(19)


# --- exports add up to the cent -----------------------------------------------------------------


@st.composite
def receipts(draw: st.DrawFn) -> tuple[Money, Decimal, Decimal]:
    """(total, tax, rate): a receipt whose tax is ``rate`` of its net, in a random currency."""
    code = draw(CURRENCIES)
    unit = D(1).scaleb(-minor_units(code))
    net = Money(D(draw(st.integers(min_value=1, max_value=10**8))) * unit, code)
    rate = draw(RATES)
    tax = Money(net.amount * rate / 100, code)
    return net + tax, tax.amount, rate


def _line(amount: Money, **extra: object) -> ExportLine:
    return ExportLine(
        expense_id=1,
        ref="EXP-1",
        employee_id="U1",
        employee_email="a@example.com",
        payee="Ann",
        merchant="Hotel",
        spent_on=dt.date(2026, 11, 2),
        category="lodging",
        customer=None,
        project=None,
        amount=amount.amount,
        currency=amount.currency,
        approved_at=None,
        **extra,  # type: ignore[arg-type]
    )


@settings(max_examples=300, deadline=None)
@given(
    receipt=receipts(),
    approved_share=st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
    pay_in=st.one_of(st.none(), CURRENCIES),
    fx=st.decimals(min_value=D("0.0001"), max_value=D("5000"), places=6),
    weights=st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=8),
)
def test_tax_adds_up_to_the_cent_in_every_export(
    receipt: tuple[Money, Decimal, Decimal],
    approved_share: int | None,
    pay_in: str | None,
    fx: Decimal,
    weights: list[int],
) -> None:
    total, tax, rate = receipt
    paid = total if approved_share is None else Money(total.amount * approved_share / 100, total.currency)
    if pay_in is not None:
        paid = Money(paid.amount * fx, pay_in)
    line = with_tax(_line(paid), tax, rate, total.amount, total.currency)
    assert line.tax is not None and line.net is not None
    assert line.net + line.tax == line.amount and line.net >= 0 and line.tax >= 0
    if paid == total:
        assert line.tax == tax  # paid in full in the receipt's currency: the receipt's tax
    parts = split_lines(line, [(D(w), None, None, None) for w in weights])
    assert sum(p.amount for p in parts) == line.amount
    assert sum(p.tax or 0 for p in parts) == line.tax  # the parts' tax is the receipt's, to the cent
    assert all(p.tax is not None and 0 <= p.tax <= p.amount for p in parts)
    batch = BatchExport(batch_id=1, created_at=dt.datetime(2026, 11, 5, tzinfo=dt.UTC), lines=tuple(parts))
    for text, amount_col, tax_col in [
        (generic_csv(batch), "amount", "tax"),
        (quickbooks_csv(batch), "Line Amount", "Line Tax Amount"),
        (xero_csv(batch), "*UnitAmount", "TaxAmount"),
    ]:
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sum(D(r[amount_col]) for r in rows) == line.amount
        assert sum(D(r[tax_col] or 0) for r in rows) == line.tax
    for row in csv.DictReader(io.StringIO(generic_csv(batch))):
        assert D(row["net"]) + D(row["tax"]) == D(row["amount"])
        assert D(row["tax_rate"]) == rate


@settings(max_examples=200, deadline=None)
@given(
    code=CURRENCIES,
    tax_units=st.integers(min_value=0, max_value=10**6),
    parts=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=10),
)
def test_split_tax_shares_add_up_and_never_exceed_a_part(code: str, tax_units: int, parts: list[int]) -> None:
    unit = D(1).scaleb(-minor_units(code))
    amounts = [Money(D(p) * unit, code) for p in parts]
    whole = sum(parts)
    tax = Money(D(min(tax_units, whole)) * unit, code)
    shares = split_tax(tax, amounts)
    assert len(shares) == len(amounts)
    if whole:
        assert sum(s.amount for s in shares) == tax.amount
    assert all(0 <= s.amount <= a.amount for s, a in zip(shares, amounts, strict=True))


def test_a_lower_approved_amount_prorates_the_tax() -> None:
    assert paid_tax(D("19.00"), Money.of("119.00", "EUR"), Money.of("59.50", "EUR")) == Money.of(
        "9.50", "EUR"
    )
    assert paid_tax(None, Money.of("119.00", "EUR"), Money.of("59.50", "EUR")) is None
    # converted: 1000 JPY with 100 JPY tax paid as 6.10 EUR carries 0.55 EUR of tax
    assert paid_tax(D(100), Money.of("1100", "JPY"), Money.of("6.10", "EUR")) == Money.of("0.55", "EUR")


def test_lines_without_tax_leave_the_tax_columns_empty() -> None:
    batch = BatchExport(1, dt.datetime(2026, 11, 5, tzinfo=dt.UTC), (_line(Money.of("10.00", "EUR")),))
    row = next(csv.DictReader(io.StringIO(generic_csv(batch))))
    assert (row["net"], row["tax"], row["tax_rate"]) == ("", "", "")
    qb = next(csv.DictReader(io.StringIO(quickbooks_csv(batch))))
    assert (qb["Line Tax Code"], qb["Line Tax Amount"]) == ("", "")
    xero = next(csv.DictReader(io.StringIO(xero_csv(batch))))
    assert (xero["*TaxType"], xero["TaxAmount"]) == ("Tax Exempt", "")


def test_taxed_lines_carry_the_tax_code_chosen() -> None:
    line = with_tax(_line(Money.of("119.00", "EUR")), D("19.00"), D(19), D("119.00"), "EUR")
    batch = BatchExport(1, dt.datetime(2026, 11, 5, tzinfo=dt.UTC), (line,))
    qb = next(csv.DictReader(io.StringIO(quickbooks_csv(batch))))
    assert (qb["Line Amount"], qb["Line Tax Code"], qb["Line Tax Amount"]) == ("119.00", "VAT 19%", "19.00")
    qb = next(csv.DictReader(io.StringIO(quickbooks_csv(batch, tax_code="19.0% ECG"))))
    assert qb["Line Tax Code"] == "19.0% ECG"
    xero = next(csv.DictReader(io.StringIO(xero_csv(batch, input_tax_type="20% (VAT on Expenses)"))))
    assert (xero["*UnitAmount"], xero["*TaxType"], xero["TaxAmount"]) == (
        "119.00",
        "20% (VAT on Expenses)",
        "19.00",
    )
    row = next(csv.DictReader(io.StringIO(generic_csv(batch))))
    assert (row["amount"], row["net"], row["tax"], row["tax_rate"]) == ("119.00", "100.00", "19.00", "19")


def test_receipts_as_malaysian_shops_print_them() -> None:
    # "SUBTOTAL RM53.60 / TAXABLE AMOUNT RM50.57 / 6% GST RM3.03 / TOTAL 53.60": the subtotal has the tax in it
    assert tax_facts(D("53.60"), D("3.03"), D("53.60"), "MYR", D(6)) == TaxFacts(D("50.57"), D("3.03"), D(6))
    # "SUB-TOTAL (GST) 12.19 / GST 0.69 / ROUNDING -0.04 / TOTAL 12.15"
    assert tax_facts(D("12.19"), D("0.69"), D("12.15"), "MYR") == TaxFacts(D("11.46"), D("0.69"), D(6))
    # "TOTAL WITH GST @ 6% 41.48" read as the tax line: no tax is half the total
    assert tax_facts(None, D("41.48"), D("41.50"), "MYR", D(6)) == TaxFacts(rate=D(6))
    # tax rounded item by item: a few cents off the rate is not "does not add up"
    assert mismatch(TaxFacts(D("33.82"), D("1.98"), D(6)), D("35.80"), "MYR") is None
