"""Claims in another currency than the one the employee is paid in.

Each employee has a reimbursement currency (the directory's ``currency`` column, else the
company's). A claim in another currency is converted at the rate of its date; the employee may
use the rate their card statement shows instead, within the policy's
``card_rate_tolerance_percent`` of the reference rate. The conversion is made at submission and
kept with the claim, so a later change of the day's rate never changes an approved claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from workflows.money import Money, MoneyError

CARD_STATEMENT = "card statement"
"""The source recorded for a rate the employee entered from their card statement."""


@dataclass(frozen=True)
class Conversion:
    """``original`` × ``rate`` = ``converted`` (rounded to the target currency's minor unit)."""

    original: Money
    rate: Decimal
    rate_day: date
    source: str  # where the rate came from: "ECB", an imported file's name, "card statement"
    converted: Money

    @property
    def rate_text(self) -> str:
        return rate_text(self.rate)

    def describe(self) -> str:
        """For people: ``42.50 USD × 0.9341 (ECB rate of 2026-12-04) = 39.70 EUR``."""
        what = "your card statement's rate" if self.source == CARD_STATEMENT else f"{self.source} rate"
        return (
            f"{self.original.format()} × {self.rate_text} ({what} of {self.rate_day.isoformat()}) "
            f"= {self.converted.format()}"
        )


def rate_text(rate: Decimal) -> str:
    """A rate without trailing zeros: ``0.934142923867``, ``1.0705``, ``160``."""
    return f"{rate.normalize():f}"


def convert_at(original: Money, to: str, rate: Decimal, rate_day: date, source: str) -> Conversion:
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(f"A rate must be a positive number, not {rate}.")
    return Conversion(original, rate, rate_day, source, Money(original.amount * rate, to))


def parse_rate(text: str) -> Decimal:
    """A rate as people type it: ``0.9341``, ``0,9341`` or ``1 USD = 0.9341`` is not accepted."""
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"“{text.strip()}” is not a rate: type a number such as 0.9341.") from None
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(f"“{text.strip()}” is not a rate: it must be a number above zero, such as 0.9341.")
    if rate.as_tuple().exponent < -12:  # type: ignore[operator]
        raise MoneyError(f"“{text.strip()}” has more than 12 decimals; no statement shows that many.")
    return rate


def check_card_rate(entered: Decimal, reference: Conversion, tolerance_percent: Decimal) -> None:
    """Refuse a card-statement rate further from the reference rate than the policy allows."""
    deviation = abs(entered - reference.rate) / reference.rate * 100
    if deviation > tolerance_percent:
        pair = f"{reference.original.currency}→{reference.converted.currency}"
        raise MoneyError(
            f"Your rate {rate_text(entered)} is {deviation.quantize(Decimal('0.1'))}% away from the "
            f"{reference.source} {pair} rate of {reference.rate_day.isoformat()} ({reference.rate_text}); "
            f"the policy allows {rate_text(tolerance_percent)}%. Check the statement, or ask finance."
        )
