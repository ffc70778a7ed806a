"""Money: exact decimals with ISO 4217 currencies, amounts as people type them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workflows.money import Money, MoneyError, parse_amount


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("42.50", "42.50"),
        ("1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1234,5", "1234.5"),
        (" 7 ", "7"),
        ("1,000", "1000"),
        ("0.1", "0.1"),
    ],
)
def test_parse_amount(typed: str, value: str) -> None:
    assert parse_amount(typed) == Decimal(value)


@pytest.mark.parametrize("typed", ["", "abc", "12.3.4x", "NaN", "inf"])
def test_parse_amount_refuses_non_numbers(typed: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(typed)


def test_quantised_to_the_currency_minor_unit() -> None:
    assert Money(Decimal("10.005"), "usd").amount_text == "10.01"
    assert Money(Decimal("1500.4"), "JPY").amount_text == "1500"
    assert Money(Decimal("1.2345"), "KWD").amount_text == "1.235"
    assert Money(Decimal("1234.5"), "EUR").format() == "1,234.50 EUR"


def test_unknown_currency_and_float_are_refused() -> None:
    with pytest.raises(MoneyError, match="not an ISO 4217"):
        Money(Decimal(1), "XYZ")
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_arithmetic_never_mixes_currencies() -> None:
    assert Money.of("1.10", "EUR") + Money.of("2.20", "EUR") == Money.of("3.30", "EUR")
    with pytest.raises(MoneyError, match="without conversion"):
        _ = Money.of("1", "EUR") + Money.of("1", "USD")
    with pytest.raises(MoneyError):
        _ = Money.of("1", "EUR") < Money.of("1", "USD")


@pytest.mark.parametrize(
    ("amount", "ok"), [("0", False), ("-5", False), ("0.01", True), ("9999999.99", True), ("10000000", False)]
)
def test_claimable_amounts(amount: str, ok: bool) -> None:
    money = Money.of(amount, "USD")
    if ok:
        money.check_claimable()
    else:
        with pytest.raises(MoneyError):
            money.check_claimable()
