from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from workflows.fx import MissingRate, RateFileError, RateLookup, RateTable, convert, fixed_rates, no_rates
from workflows.money import Money, MoneyError

DAY = date(2026, 11, 2)


@pytest.mark.parametrize(
    ("amount", "to", "rates", "expected"),
    [
        (Money(Decimal("100.00"), "USD"), "USD", no_rates, Money(Decimal("100.00"), "USD")),
        (
            Money(Decimal("100.00"), "USD"),
            "MYR",
            fixed_rates({("USD", "MYR"): "4.41"}),
            Money(Decimal("441"), "MYR"),
        ),
        # the inverse rate is used when only the opposite direction is known
        (
            Money(Decimal("441.00"), "MYR"),
            "usd",
            fixed_rates({("USD", "MYR"): "4.41"}),
            Money(Decimal("100"), "USD"),
        ),
        # rounded to the target currency's minor unit
        (
            Money(Decimal("10.00"), "USD"),
            "JPY",
            fixed_rates({("USD", "JPY"): "151.456"}),
            Money(Decimal("1515"), "JPY"),
        ),
        (
            Money(Decimal("1.000"), "KWD"),
            "EUR",
            fixed_rates({("KWD", "EUR"): "2.98765"}),
            Money(Decimal("2.99"), "EUR"),
        ),
    ],
)
def test_convert(amount: Money, to: str, rates: RateLookup, expected: Money) -> None:
    assert convert(amount, to, DAY, rates) == expected


def test_missing_rate_message() -> None:
    with pytest.raises(MissingRate) as err:
        convert(Money(Decimal("5"), "USD"), "MYR", DAY, no_rates)
    assert (
        str(err.value)
        == "No USD→MYR rate for 2026-11-02: ask finance to fetch the reference rates (expensebot fx update) or import rates (expensebot fx import)"
    )
    assert isinstance(err.value, MoneyError)
    assert (err.value.from_currency, err.value.to_currency, err.value.day) == ("USD", "MYR", DAY)


@pytest.mark.parametrize("rate", ["0", "-1"])
def test_non_positive_rates_are_refused(rate: str) -> None:
    with pytest.raises(MoneyError, match="must be positive"):
        convert(Money(Decimal("5"), "USD"), "EUR", DAY, lambda a, b, d: Decimal(rate))


def test_unknown_target_currency() -> None:
    with pytest.raises(MoneyError, match="not an ISO 4217 currency code"):
        convert(Money(Decimal("5"), "USD"), "XYZ", DAY, no_rates)


RATES_CSV = """\
date,from,to,rate
2026-10-30,USD,MYR,4.40
2026-11-02,usd,myr,4.41
2026-11-02,EUR,USD,1.08
"""


@pytest.mark.parametrize(
    ("pair", "day", "rate"),
    [
        (("USD", "MYR"), date(2026, 11, 2), Decimal("4.41")),
        (("USD", "MYR"), date(2026, 11, 1), Decimal("4.40")),  # Sunday: Friday's rate
        (("USD", "MYR"), date(2026, 11, 6), Decimal("4.41")),  # latest known within a week
        (("USD", "MYR"), date(2026, 11, 10), None),  # too stale
        (("USD", "MYR"), date(2026, 10, 29), None),  # before any rate
        (("EUR", "USD"), date(2026, 11, 3), Decimal("1.08")),
        (("GBP", "USD"), date(2026, 11, 3), None),
    ],
)
def test_rate_table_looks_back_a_week(pair: tuple[str, str], day: date, rate: Decimal | None) -> None:
    table = RateTable.from_csv_text(RATES_CSV)
    assert len(table) == 3
    assert table(pair[0], pair[1], day) == rate


def test_rate_table_converts_both_ways() -> None:
    table = RateTable.from_csv_text(RATES_CSV)
    assert convert(Money(Decimal("108.00"), "USD"), "EUR", DAY, table) == Money(Decimal("100.00"), "EUR")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "rates.csv: the file is empty"),
        (
            "day,from,to,rate\n",
            "rates.csv line 1: the header must have the columns date, from, to, rate (missing date)",
        ),
        ("date,from,to,rate\n2026-13-01,USD,EUR,1\n", "rates.csv line 2: '2026-13-01' is not a date"),
        ("date,from,to,rate\n2026-11-01,USD,EURO,1\n", "rates.csv line 2: 'EURO' is not a currency code"),
        ("date,from,to,rate\n2026-11-01,USD,EUR,one\n", "rates.csv line 2: 'one' is not a rate"),
        (
            "date,from,to,rate\n\n2026-11-01,USD,EUR,0\n",
            "rates.csv line 3: the rate must be a positive number",
        ),
    ],
)
def test_rate_file_errors(text: str, message: str) -> None:
    with pytest.raises(RateFileError) as err:
        RateTable.from_csv_text(text)
    assert str(err.value).startswith(message)
