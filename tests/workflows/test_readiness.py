"""What keeps a claim from being submitted (workflows.readiness): pure facts, one check for the
card and for submitting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from workflows.readiness import Problem, ProblemKind, submit_problems

DAY = dt.date(2026, 11, 2)


def test_a_complete_expense_has_no_problem() -> None:
    assert submit_problems(reading_error=None, amount=Decimal("42.50"), currency="USD", spent_on=DAY) == []


def test_an_unread_receipt_lists_every_missing_field_in_order() -> None:
    assert submit_problems(reading_error="Too blurry.", amount=None, currency="USD", spent_on=None) == [
        Problem(ProblemKind.UNREAD, detail="Too blurry."),
        Problem(ProblemKind.NO_TOTAL),
        Problem(ProblemKind.NO_DATE),
    ]


def test_an_unknown_currency_is_named() -> None:
    assert submit_problems(reading_error=None, amount=Decimal(5), currency="XYZ", spent_on=DAY) == [
        Problem(ProblemKind.UNKNOWN_CURRENCY, currency="XYZ")
    ]
    assert submit_problems(reading_error=None, amount=Decimal(5), currency="", spent_on=DAY) == [
        Problem(ProblemKind.UNKNOWN_CURRENCY, currency=None)
    ]


def test_a_total_that_cannot_be_claimed_says_why() -> None:
    for amount in (Decimal(0), Decimal("-3.00"), Decimal("1e12")):
        (found,) = submit_problems(reading_error=None, amount=amount, currency="USD", spent_on=DAY)
        assert found.kind is ProblemKind.NOT_CLAIMABLE and found.detail


def test_a_split_must_add_up_to_the_total() -> None:
    parts = [Decimal("10.00"), Decimal("20.00")]
    assert (
        submit_problems(
            reading_error=None, amount=Decimal("30.00"), currency="EUR", spent_on=DAY, split_amounts=parts
        )
        == []
    )
    assert submit_problems(
        reading_error=None, amount=Decimal("31.00"), currency="EUR", spent_on=DAY, split_amounts=parts
    ) == [Problem(ProblemKind.SPLIT_MISMATCH, currency="EUR", parts=Decimal("30.00"), total=Decimal("31.00"))]


def test_a_complete_claim_has_no_problems() -> None:
    assert submit_problems(reading_error=None, amount=Decimal("12.00"), currency="EUR", spent_on=DAY) == []


def test_each_missing_fact_is_named() -> None:
    problems = submit_problems(
        reading_error="The photo is blurred.", amount=None, currency=None, spent_on=None
    )
    assert problems == [
        Problem(ProblemKind.UNREAD, detail="The photo is blurred."),
        Problem(ProblemKind.NO_TOTAL),
        Problem(ProblemKind.NO_DATE),
    ]


def test_an_unknown_currency_and_an_unclaimable_total() -> None:
    [unknown] = submit_problems(reading_error=None, amount=Decimal("5"), currency="XYZ", spent_on=DAY)
    assert unknown == Problem(ProblemKind.UNKNOWN_CURRENCY, currency="XYZ")
    [blank] = submit_problems(reading_error=None, amount=Decimal("5"), currency="", spent_on=DAY)
    assert blank.currency is None
    [zero] = submit_problems(reading_error=None, amount=Decimal("0"), currency="USD", spent_on=DAY)
    assert zero.kind is ProblemKind.NOT_CLAIMABLE and "more than zero" in zero.detail


def test_a_split_with_a_missing_part_is_named_with_both_sums() -> None:
    ok = submit_problems(
        reading_error=None,
        amount=Decimal("10.00"),
        currency="USD",
        spent_on=DAY,
        split_amounts=[Decimal("4.00"), Decimal("6.00")],
    )
    assert ok == []
    [off] = submit_problems(
        reading_error=None,
        amount=Decimal("10.00"),
        currency="USD",
        spent_on=DAY,
        split_amounts=[Decimal("4.00"), Decimal("5.00")],
    )
    assert off == Problem(
        ProblemKind.SPLIT_MISMATCH, currency="USD", parts=Decimal("9.00"), total=Decimal("10.00")
    )
