"""Reading the ECB's reference-rate XML, choosing the day, and cross rates through the euro."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.ecb import SAMPLE, envelope
from workflows.fx import MissingRate, RateTable, convert, find_rate
from workflows.fx_feed import FeedError, parse_ecb_xml, pick_day
from workflows.money import Money

FRIDAY = dt.date(2024, 6, 28)

# The ECB's daily file as published (layout verbatim, two currencies kept).
PUBLISHED = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2024-06-28'>
\t\t\t<Cube currency='USD' rate='1.0705'/>
\t\t\t<Cube currency='JPY' rate='171.94'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""


def test_the_published_layout_is_read_exactly_as_decimals() -> None:
    [day] = parse_ecb_xml(PUBLISHED)
    assert day.day == FRIDAY
    assert day.rates == {"USD": Decimal("1.0705"), "JPY": Decimal("171.94")}
    assert all(isinstance(rate, Decimal) for rate in day.rates.values())
    assert day.rows()[0] == ("EUR", "JPY", FRIDAY, Decimal("171.94"))
    assert parse_ecb_xml(PUBLISHED.encode())[0].rates["USD"] == Decimal("1.0705")  # bytes too


def test_the_stand_in_writes_the_same_layout_as_the_ecb() -> None:
    days = parse_ecb_xml(envelope({FRIDAY: SAMPLE, FRIDAY - dt.timedelta(days=1): SAMPLE}))
    assert [d.day for d in days] == [FRIDAY, FRIDAY - dt.timedelta(days=1)]
    assert len(days[0].rates) == 30 and days[0].rates["GBP"] == Decimal("0.84638")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PUBLISHED[: len(PUBLISHED) // 2], "is not well-formed XML"),
        ("<html><body>Not here</body></html>", "root element is <html>, expected <gesmes:Envelope>"),
        (
            PUBLISHED.replace("rate='1.0705'", "rate='1,0705'"),
            "<Cube time='2024-06-28'>: the USD rate '1,0705' is not a number",
        ),
        (PUBLISHED.replace("rate='1.0705'", "rate='-1'"), "the USD rate must be a positive number"),
        (PUBLISHED.replace("currency='USD'", "currency='XXX'"), "currency='XXX' is not a currency code"),
        (
            PUBLISHED.replace("time='2024-06-28'", "time='28.06.2024'"),
            "<Cube time='28.06.2024'> is not a date",
        ),
        (PUBLISHED.replace("<Cube time='2024-06-28'>", "<Cube>"), "has no time= attribute"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "is not well-formed XML"),  # no entities
    ],
)
def test_a_file_that_is_not_the_ecb_layout_is_refused_with_where_and_why(text: str, message: str) -> None:
    with pytest.raises(FeedError, match="feed") as err:
        parse_ecb_xml(text, "the feed")
    assert message in str(err.value)


def test_weekend_picks_friday_and_says_so() -> None:
    days = parse_ecb_xml(envelope({FRIDAY: SAMPLE, FRIDAY - dt.timedelta(days=1): SAMPLE}))
    saturday = FRIDAY + dt.timedelta(days=1)
    pick = pick_day(days, saturday)
    assert pick.rates.day == FRIDAY
    assert pick.note is not None and "no rates for Saturday 2024-06-29 (a weekend)" in pick.note
    assert "Friday 2024-06-28" in pick.note
    assert pick_day(days, FRIDAY).note is None
    assert pick_day(days, None).rates.day == FRIDAY


def test_a_holiday_inside_the_file_picks_the_day_before() -> None:
    thursday = dt.date(2024, 12, 26)  # TARGET holiday: no file has it
    days = parse_ecb_xml(envelope({dt.date(2024, 12, 27): SAMPLE, dt.date(2024, 12, 24): SAMPLE}))
    pick = pick_day(days, thursday)
    assert pick.rates.day == dt.date(2024, 12, 24) and pick.note and "a TARGET holiday" in pick.note


def test_a_working_day_not_yet_published_or_before_the_file_is_an_error() -> None:
    days = parse_ecb_xml(envelope({FRIDAY: SAMPLE}))
    with pytest.raises(FeedError, match="are not out yet"):
        pick_day(days, dt.date(2024, 7, 1))  # the Monday after
    with pytest.raises(FeedError, match=r"reaches back to 2024-06-28 only.*fx import"):
        pick_day(days, dt.date(2024, 3, 1))
    with pytest.raises(FeedError, match="no day of rates"):
        pick_day([], None)


def _ecb_table() -> RateTable:
    table = RateTable()
    for code in ("USD", "GBP", "JPY", "KWD"):
        table.add("EUR", code, FRIDAY, Decimal({"KWD": "0.3283"}.get(code) or SAMPLE[code]))
    return table


def test_cross_rates_go_through_the_euro() -> None:
    rates = _ecb_table()
    # 1 USD = (1 / 1.0705) EUR × 0.84638 GBP/EUR
    assert find_rate("USD", "GBP", FRIDAY, rates) == (Decimal("0.84638") / Decimal("1.0705")).quantize(
        Decimal("1e-12")
    )
    assert find_rate("USD", "GBP", FRIDAY, rates) == Decimal("0.790639887903")
    assert find_rate("EUR", "USD", FRIDAY, rates) == Decimal("1.0705")  # direct: exactly as published
    assert find_rate("USD", "EUR", FRIDAY, rates) == Decimal("0.934142923867")
    assert find_rate("GBP", "GBP", FRIDAY, rates) == 1
    assert convert(Money.of("100.00", "USD"), "GBP", FRIDAY, rates) == Money.of("79.06", "GBP")
    assert convert(Money.of("100.00", "USD"), "JPY", FRIDAY, rates) == Money.of("16062", "JPY")
    assert convert(Money.of("1000", "JPY"), "KWD", FRIDAY, rates) == Money.of("1.909", "KWD")
    with pytest.raises(MissingRate, match=r"No USD→CHF rate for 2024-06-28.*fx update"):
        find_rate("USD", "CHF", FRIDAY, rates)


@given(
    source=st.sampled_from(["USD", "GBP", "JPY", "KWD", "EUR"]),
    target=st.sampled_from(["USD", "GBP", "JPY", "KWD", "EUR"]),
    cents=st.integers(min_value=1, max_value=10**9),
)
def test_conversions_are_exact_decimals_in_the_target_currency(source: str, target: str, cents: int) -> None:
    rates = _ecb_table()
    amount = Money(Decimal(cents).scaleb(-2), source)
    converted = convert(amount, target, FRIDAY, rates)
    assert converted.currency == target
    rate = find_rate(source, target, FRIDAY, rates)
    # the stored rate reproduces the converted amount: anyone can check a claim by hand
    assert converted == Money(amount.amount * rate, target)
    assert rate.as_tuple().exponent >= -12  # type: ignore[operator]
    back = convert(converted, source, FRIDAY, rates)
    minor = Decimal(1).scaleb(back.amount.as_tuple().exponent)  # type: ignore[arg-type]
    # there and back loses at most the rounding of the smaller unit
    tolerance = max(minor, Decimal(1).scaleb(converted.amount.as_tuple().exponent) / rate) * 2  # type: ignore[arg-type]
    assert abs(back.amount - amount.amount) <= tolerance
