"""What keeps an expense from being submitted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from workflows.readiness import Problem, ProblemKind, problems

DAY = dt.date(2026, 11, 2)


def test_a_complete_expense_has_no_problem() -> None:
    assert problems(ocr_error=None, amount=Decimal("42.50"), currency="USD", spent_on=DAY) == []


def test_an_unread_receipt_lists_every_missing_field_in_order() -> None:
    assert problems(ocr_error="Too blurry.", amount=None, currency="USD", spent_on=None) == [
        Problem(ProblemKind.UNREADABLE, detail="Too blurry."),
        Problem(ProblemKind.NO_TOTAL),
        Problem(ProblemKind.NO_DATE),
    ]


def test_an_unknown_currency_is_named() -> None:
    assert problems(ocr_error=None, amount=Decimal(5), currency="XYZ", spent_on=DAY) == [
        Problem(ProblemKind.UNKNOWN_CURRENCY, currency="XYZ")
    ]
    assert problems(ocr_error=None, amount=Decimal(5), currency="", spent_on=DAY) == [
        Problem(ProblemKind.UNKNOWN_CURRENCY, currency=None)
    ]


def test_a_total_that_cannot_be_claimed_says_why() -> None:
    for amount in (Decimal(0), Decimal("-3.00"), Decimal("1e12")):
        (found,) = problems(ocr_error=None, amount=amount, currency="USD", spent_on=DAY)
        assert found.kind is ProblemKind.NOT_CLAIMABLE and found.detail


def test_a_split_must_add_up_to_the_total() -> None:
    parts = [Decimal("10.00"), Decimal("20.00")]
    assert (
        problems(ocr_error=None, amount=Decimal("30.00"), currency="EUR", spent_on=DAY, split_amounts=parts)
        == []
    )
    assert problems(
        ocr_error=None, amount=Decimal("31.00"), currency="EUR", spent_on=DAY, split_amounts=parts
    ) == [Problem(ProblemKind.SPLIT_MISMATCH, currency="EUR", parts=Decimal("30.00"), total=Decimal("31.00"))]
