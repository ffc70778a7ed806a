"""What keeps a claim from being submitted: the card lists it, Submit refuses until it is fixed.

Pure: each :class:`Problem` names what is wrong (``kind``) and the values its message needs. One
check for both callers: the card (``bot.views.problems_of``) and submitting
(``services.submission``); the text the employee reads, in their language, is made in
``bot.blocks.card.problems_text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from workflows.money import Money, MoneyError, is_currency


class ProblemKind(StrEnum):
    UNREAD = "unread"  # the receipt reader's own message (``detail``)
    NO_TOTAL = "no_total"
    UNKNOWN_CURRENCY = "unknown_currency"  # ``currency``: what was given, or None
    NOT_CLAIMABLE = "not_claimable"  # ``detail``: why (zero, negative, absurd)
    NO_DATE = "no_date"
    SPLIT_MISMATCH = "split_mismatch"  # ``parts`` do not add up to ``total`` (in ``currency``)


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    detail: str = ""
    currency: str | None = None
    parts: Decimal | None = None
    total: Decimal | None = None


def submit_problems(
    *,
    reading_error: str | None,
    amount: Decimal | None,
    currency: str | None,
    spent_on: date | None,
    split_amounts: Sequence[Decimal] = (),
) -> list[Problem]:
    """Everything that keeps a claim from being submitted (nothing when it is ready), in the order
    the card lists it. ``split_amounts`` are the amounts of its split lines (none: it is not split)."""
    problems: list[Problem] = []
    if reading_error:
        problems.append(Problem(ProblemKind.UNREAD, detail=reading_error))
    if amount is None:
        problems.append(Problem(ProblemKind.NO_TOTAL))
    elif not is_currency(currency):
        problems.append(Problem(ProblemKind.UNKNOWN_CURRENCY, currency=currency or None))
    else:
        try:
            Money(amount, currency or "").check_claimable()
        except MoneyError as exc:
            problems.append(Problem(ProblemKind.NOT_CLAIMABLE, detail=str(exc)))
    if spent_on is None:
        problems.append(Problem(ProblemKind.NO_DATE))
    if split_amounts and amount is not None and is_currency(currency):
        parts = sum(split_amounts, Decimal(0))
        if parts != amount:
            problems.append(Problem(ProblemKind.SPLIT_MISMATCH, currency=currency, parts=parts, total=amount))
    return problems
