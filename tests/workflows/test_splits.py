"""Splitting a receipt: the parts add up to the cent in currencies with 0, 2 and 3 decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from storage.exports import split_lines
from workflows.conversion import convert_at
from workflows.exports import ExportLine
from workflows.money import Money, minor_units
from workflows.splits import PartSpec, SplitError, SplitPart, convert_parts, share_out, split, split_evenly

CURRENCIES = st.sampled_from(["JPY", "KRW", "EUR", "USD", "KWD", "BHD"])  # 0, 2 and 3 decimals


@st.composite
def totals(draw: st.DrawFn) -> Money:
    code = draw(CURRENCIES)
    units = draw(st.integers(min_value=1, max_value=10**9))
    return Money(Decimal(units).scaleb(-minor_units(code)), code)


def _sum(parts: list[Money], code: str) -> Money:
    return Money(sum((p.amount for p in parts), Decimal(0)), code)


def test_a_hotel_bill_into_lodging_and_meals() -> None:
    parts = split(
        Money.of("480.00", "EUR"),
        [PartSpec(amount=Decimal("400.00"), category="lodging"), PartSpec(category="meals")],
    )
    assert [(p.amount, p.category) for p in parts] == [
        (Money.of("400.00", "EUR"), "lodging"),
        (Money.of("80.00", "EUR"), "meals"),
    ]


def test_a_dinner_across_two_clients_in_thirds() -> None:
    parts = split(
        Money.of("100.00", "USD"),
        [
            PartSpec(percent=Decimal(1) / 3 * 100, customer="C-100"),
            PartSpec(customer="C-200"),
            PartSpec(amount=Decimal("10.00")),
        ],
    )
    assert [p.amount.amount for p in parts] == [Decimal("33.33"), Decimal("56.67"), Decimal("10.00")]
    assert split_evenly(Money.of("100.00", "USD"), 3) == [
        Money.of("33.34", "USD"),
        Money.of("33.33", "USD"),
        Money.of("33.33", "USD"),
    ]
    assert split_evenly(Money.of("1000", "JPY"), 3) == [
        Money.of("334", "JPY"),
        Money.of("333", "JPY"),
        Money.of("333", "JPY"),
    ]
    thirds = split(
        Money.of("0.100", "KWD"),
        [
            PartSpec(percent=Decimal("33.33")),
            PartSpec(percent=Decimal("33.33")),
            PartSpec(percent=Decimal("33.34")),
        ],
    )
    assert [p.amount.amount for p in thirds] == [Decimal("0.033"), Decimal("0.033"), Decimal("0.034")]


@pytest.mark.parametrize(
    ("total", "specs", "message"),
    [
        (
            "100.00",
            [PartSpec(amount=Decimal("60")), PartSpec(amount=Decimal("30"))],
            "The parts add up to 90.00 USD, not 100.00 USD: 10.00 USD left over.",
        ),
        (
            "100.00",
            [PartSpec(amount=Decimal("60")), PartSpec(amount=Decimal("50"))],
            "The parts add up to 110.00 USD, not 100.00 USD: 10.00 USD too much.",
        ),
        (
            "100.00",
            [PartSpec(percent=Decimal("60")), PartSpec(percent=Decimal("30"))],
            "The percentages add up to 90%, not 100%.",
        ),
        (
            "100.00",
            [PartSpec(amount=Decimal("12.345")), PartSpec()],
            "Part 1: 12.345 has more decimals than USD has (2).",
        ),
        (
            "100.00",
            [PartSpec(amount=Decimal("60")), PartSpec(percent=Decimal("40"))],
            "only with one part left blank",
        ),
        ("100.00", [PartSpec(), PartSpec()], "Leave at most one part blank"),
        ("100.00", [PartSpec(amount=Decimal("100")), PartSpec()], "nothing is left for the blank part"),
        ("100.00", [PartSpec(amount=Decimal("1"), percent=Decimal("1")), PartSpec()], "not both"),
        ("100.00", [PartSpec(percent=Decimal("0")), PartSpec()], "more than 0 and at most 100"),
        ("100.00", [PartSpec(amount=Decimal("-5")), PartSpec()], "more than zero"),
        ("100.00", [PartSpec()], "2 to 20 parts"),
        ("0.02", [PartSpec(percent=Decimal("10")), PartSpec()], "Part 1 comes to 0.00 USD"),
    ],
)
def test_what_does_not_add_up_is_explained(total: str, specs: list[PartSpec], message: str) -> None:
    with pytest.raises(SplitError) as err:
        split(Money.of(total, "USD"), specs)
    assert message in str(err.value)


@given(total=totals(), weights=st.lists(st.integers(min_value=1, max_value=10_000), min_size=2, max_size=8))
def test_percentages_add_up_to_the_cent(total: Money, weights: list[int]) -> None:
    # percentages with two decimals that add up to exactly 100
    raw = [Decimal(w) * 100 / sum(weights) for w in weights]
    percents = [p.quantize(Decimal("0.01")) for p in raw[:-1]]
    percents.append(Decimal(100) - sum(percents))
    assume(all(p > 0 for p in percents))
    unit = Decimal(1).scaleb(-minor_units(total.currency))
    assume(all(total.amount * p / 100 >= unit for p in percents))
    parts = split(total, [PartSpec(percent=p) for p in percents])
    assert _sum([p.amount for p in parts], total.currency) == total
    for part, percent in zip(parts, percents, strict=True):
        assert part.amount.currency == total.currency
        assert abs(part.amount.amount - total.amount * percent / 100) < unit  # within one minor unit


@given(total=totals(), data=st.data())
def test_amounts_and_a_rest_add_up_exactly(total: Money, data: st.DataObject) -> None:
    unit = Decimal(1).scaleb(-minor_units(total.currency))
    units = int(total.amount / unit)
    assume(units >= 2)
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=units - 1), min_size=1, max_size=6)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, units], strict=True)]
    specs = [PartSpec(amount=Decimal(n) * unit) for n in sizes]
    parts = split(total, specs)
    assert _sum([p.amount for p in parts], total.currency) == total
    # the same with the last part left blank for the rest
    parts = split(total, [*specs[:-1], PartSpec()])
    assert parts[-1].amount == Money(Decimal(sizes[-1]) * unit, total.currency)


@given(
    total=totals(),
    count=st.integers(min_value=2, max_value=8),
    target=CURRENCIES,
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("2000"), places=6),
)
def test_converted_parts_add_up_to_the_converted_total(
    total: Money, count: int, target: str, rate: Decimal
) -> None:
    unit = Decimal(1).scaleb(-minor_units(total.currency))
    assume(total.amount >= unit * count)
    parts = split(total, [PartSpec(percent=None, amount=a.amount) for a in split_evenly(total, count)])
    converted_total = convert_at(total, target, rate, dt.date(2026, 12, 4), "ECB").converted
    converted = convert_parts(parts, converted_total)
    assert _sum([p.amount for p in converted], target) == converted_total
    target_unit = Decimal(1).scaleb(-minor_units(target))
    for original, part in zip(parts, converted, strict=True):
        exact = converted_total.amount * original.amount.amount / total.amount
        assert abs(part.amount.amount - exact) < target_unit


def test_share_out_refuses_nothing_to_share() -> None:
    with pytest.raises(SplitError):
        share_out(Money.of("1.00", "EUR"), [])
    with pytest.raises(SplitError):
        share_out(Money.of("1.00", "EUR"), [Decimal(0)])


@settings(deadline=None)
@given(
    total=totals(),
    weights=st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=6),
    paid_units=st.integers(min_value=1, max_value=10**9),
    paid_currency=CURRENCIES,
)
def test_export_lines_of_a_split_add_up_to_the_amount_paid(
    total: Money, weights: list[int], paid_units: int, paid_currency: str
) -> None:
    paid = Money(Decimal(paid_units).scaleb(-minor_units(paid_currency)), paid_currency)
    line = ExportLine(
        expense_id=1,
        ref="EXP-1",
        employee_id="U1",
        employee_email=None,
        payee="Ana",
        merchant="Hotel",
        spent_on=None,
        category="lodging",
        customer=None,
        project=None,
        amount=paid.amount,
        currency=paid.currency,
        approved_at=None,
        original_amount=total.amount,
        original_currency=total.currency,
        fx_rate=Decimal("1.1"),
    )
    parts = [(Decimal(w), "meals" if i else None, None, f"P{i}") for i, w in enumerate(weights)]
    lines = split_lines(line, parts)
    assert len(lines) == len(weights)
    assert sum(x.amount for x in lines) == paid.amount
    assert sum(x.original_amount or 0 for x in lines) == total.amount
    assert [x.category for x in lines] == ["lodging", *["meals"] * (len(weights) - 1)]
    assert {x.ref for x in lines} == {"EXP-1"}


def test_each_part_is_checked_against_the_policy_as_its_own_claim() -> None:
    from workflows.policy import ExpenseFacts, default_policy
    from workflows.splits import part_findings

    policy = default_policy("USD")
    whole = ExpenseFacts(
        amount=Money.of("180.00", "USD"),
        category="meals",
        merchant="Hotel Adlon",
        spent_on=dt.date(2026, 12, 4),
        has_receipt=True,
        submitter_email="emp@example.com",
    )
    parts = split(
        Money.of("180.00", "USD"),
        [
            PartSpec(amount=Decimal("100.00"), category="meals"),
            PartSpec(amount=Decimal("50.00"), category="client_entertainment"),
            PartSpec(category="lodging"),
        ],
    )
    found = part_findings(whole, parts, policy, today=dt.date(2026, 12, 5))
    assert [(v.rule, v.blocking) for v in found] == [("over_limit", False), ("customer_required", True)]
    assert found[0].message.startswith("Part 1 (100.00 USD): Meals are limited to 75.00 USD per expense")
    assert found[1].message.startswith("Part 2 (50.00 USD): ")
    with_customer = [parts[0], SplitPart(parts[1].amount, "client_entertainment", customer="7"), parts[2]]
    assert [v.rule for v in part_findings(whole, with_customer, policy, today=dt.date(2026, 12, 5))] == [
        "over_limit"
    ]
