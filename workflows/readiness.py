"""What keeps an expense from being submitted: the card lists it, Submit refuses until it is fixed.

Pure: the problems are values; the Slack edge words them in the employee's language
(``bot.views.problems_of``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from workflows.money import Money, MoneyError, is_currency


class ProblemKind(StrEnum):
    UNREADABLE = "unreadable"  # the receipt could not be read: ``detail`` says why
    NO_TOTAL = "no_total"
    UNKNOWN_CURRENCY = "unknown_currency"  # ``currency`` is not ISO 4217 (None: there is none)
    NOT_CLAIMABLE = "not_claimable"  # the total cannot be claimed: ``detail`` says why
    NO_DATE = "no_date"
    SPLIT_MISMATCH = "split_mismatch"  # the split's ``parts`` do not add up to the ``total``


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    detail: str = ""
    currency: str | None = None
    parts: Decimal | None = None
    total: Decimal | None = None


def problems(
    *,
    ocr_error: str | None,
    amount: Decimal | None,
    currency: str | None,
    spent_on: dt.date | None,
    split_amounts: Sequence[Decimal] = (),
) -> list[Problem]:
    """What must be fixed before the expense can be submitted, in the order the card lists it.

    ``split_amounts`` are the amounts of the expense's split lines (none: it is not split).
    """
    found: list[Problem] = []
    if ocr_error:
        found.append(Problem(ProblemKind.UNREADABLE, detail=ocr_error))
    if amount is None:
        found.append(Problem(ProblemKind.NO_TOTAL))
    elif not is_currency(currency):
        found.append(Problem(ProblemKind.UNKNOWN_CURRENCY, currency=currency or None))
    else:
        try:
            Money(amount, currency or "").check_claimable()
        except MoneyError as exc:
            found.append(Problem(ProblemKind.NOT_CLAIMABLE, detail=str(exc)))
    if spent_on is None:
        found.append(Problem(ProblemKind.NO_DATE))
    if split_amounts and amount is not None and is_currency(currency):
        parts = sum(split_amounts, Decimal(0))
        if parts != amount:
            found.append(Problem(ProblemKind.SPLIT_MISMATCH, currency=currency, parts=parts, total=amount))
    return found
