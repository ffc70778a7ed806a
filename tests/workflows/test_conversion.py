"""Claims converted into the reimbursement currency; the card-statement rate and its tolerance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.conversion import CARD_STATEMENT, check_card_rate, convert_at, parse_rate
from workflows.directory import Directory, DirectoryError
from workflows.money import Money, MoneyError, minor_units
from workflows.policy import PolicyError, load_policy

DAY = dt.date(2026, 12, 4)


def test_the_conversion_reads_as_people_check_it() -> None:
    conv = convert_at(Money.of("42.50", "USD"), "EUR", Decimal("0.934142923867"), DAY, "ECB")
    assert conv.converted == Money.of("39.70", "EUR")
    assert conv.describe() == "42.50 USD × 0.934142923867 (ECB rate of 2026-12-04) = 39.70 EUR"
    card = convert_at(Money.of("42.50", "USD"), "EUR", Decimal("0.9380"), DAY, CARD_STATEMENT)
    assert card.describe() == "42.50 USD × 0.938 (your card statement's rate of 2026-12-04) = 39.87 EUR"
    assert convert_at(Money.of("1000", "JPY"), "KWD", Decimal("0.0019"), DAY, "ECB").converted == Money.of(
        "1.900", "KWD"
    )


@pytest.mark.parametrize(("text", "rate"), [("0.9341", "0.9341"), ("0,9341", "0.9341"), (" 160 ", "160")])
def test_rates_as_typed(text: str, rate: str) -> None:
    assert parse_rate(text) == Decimal(rate)


@pytest.mark.parametrize("text", ["abc", "0", "-1", "1e400x", "0.0000000000001", "NaN"])
def test_bad_rates_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(MoneyError, match=r"rate|decimals"):
        parse_rate(text)


def test_card_rate_within_the_tolerance_only() -> None:
    reference = convert_at(Money.of("100.00", "USD"), "EUR", Decimal("0.9000"), DAY, "ECB")
    check_card_rate(Decimal("0.9270"), reference, Decimal("3"))  # exactly 3 %
    with pytest.raises(MoneyError) as err:
        check_card_rate(Decimal("0.9271"), reference, Decimal("3"))
    assert str(err.value) == (
        "Your rate 0.9271 is 3.0% away from the ECB USD→EUR rate of 2026-12-04 (0.9); the policy allows 3%. "
        "Check the statement, or ask finance."
    )
    with pytest.raises(MoneyError):
        check_card_rate(Decimal("0.9001"), reference, Decimal("0"))


@given(
    cents=st.integers(min_value=1, max_value=10**10),
    source=st.sampled_from(["USD", "JPY", "KWD"]),
    target=st.sampled_from(["EUR", "JPY", "BHD"]),
    rate=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("20000"), places=6),
)
def test_converted_amounts_have_the_targets_decimals_and_round_half_up(
    cents: int, source: str, target: str, rate: Decimal
) -> None:
    original = Money(Decimal(cents).scaleb(-minor_units(source)), source)
    conv = convert_at(original, target, rate, DAY, "ECB")
    assert conv.converted.currency == target
    assert -conv.converted.amount.as_tuple().exponent == minor_units(target)  # type: ignore[operator]
    assert abs(conv.converted.amount - original.amount * rate) <= Decimal(1).scaleb(-minor_units(target)) / 2


def test_the_directory_carries_the_reimbursement_currency() -> None:
    directory = Directory.from_csv_text(
        "email,manager_email,department,role,currency\n"
        "ana@acme.test,,Sales,admin,eur\n"
        "bo@acme.test,ana@acme.test,Sales,employee,\n"
    )
    ana, bo = directory.get("ana@acme.test"), directory.get("bo@acme.test")
    assert ana is not None and ana.currency == "EUR"
    assert bo is not None and bo.currency is None  # the company's
    assert "currency" in directory.to_csv_text().splitlines()[0]
    assert Directory.from_csv_text(directory.to_csv_text()).get("ana@acme.test") == ana
    with pytest.raises(DirectoryError, match=r"org.csv line 2: currency .euro. is not an ISO 4217 code"):
        Directory.from_csv_text(
            "email,manager_email,department,role,currency\nana@acme.test,,S,admin,euro\n", "org.csv"
        )


def test_the_policy_tolerance() -> None:
    assert load_policy("company_currency: EUR\n").card_rate_tolerance_percent == Decimal("3")
    assert load_policy(
        "company_currency: EUR\ncard_rate_tolerance_percent: 1.5\n"
    ).card_rate_tolerance_percent == (Decimal("1.5"))
    with pytest.raises(PolicyError, match="card_rate_tolerance_percent"):
        load_policy("company_currency: EUR\ncard_rate_tolerance_percent: 150\n")
