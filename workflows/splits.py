"""Splitting one receipt across categories, customers, projects or deals, to the cent.

A split is a list of parts, each given as an amount, a percentage of the total, or left blank to
take what the others leave (at most one such part). The parts always add up to the receipt's
total exactly, in the currency's minor unit (0 decimals for JPY, 2 for EUR, 3 for KWD):
percentages are shared out with the largest-remainder method, so 100.00 split in three equal
thirds is 33.34 + 33.33 + 33.33, never 99.99. The same method shares a converted total over the
parts (:func:`convert_parts`), so a split claim paid in another currency still adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from workflows.fx import RateLookup
from workflows.money import Money, MoneyError, minor_units
from workflows.policy import (
    CUSTOMER_REQUIRED,
    OVER_LIMIT,
    PROHIBITED_CATEGORY,
    UNKNOWN_CATEGORY,
    ExpenseFacts,
    Policy,
    Violation,
    evaluate,
)

MAX_PARTS = 20
HUNDRED = Decimal(100)


class SplitError(MoneyError):
    """A split that cannot be made. ``str(err)`` is a message for people."""


@dataclass(frozen=True)
class PartSpec:
    """One part as the employee asks for it: ``amount`` or ``percent`` (or neither: the rest)."""

    amount: Decimal | None = None
    percent: Decimal | None = None
    category: str | None = None
    customer: str | None = None  # a customer id
    project: str | None = None
    deal: str | None = None

    @property
    def is_rest(self) -> bool:
        return self.amount is None and self.percent is None


@dataclass(frozen=True)
class SplitPart:
    amount: Money
    category: str | None = None
    customer: str | None = None
    project: str | None = None
    deal: str | None = None


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def share_out(total: Money, weights: Sequence[Decimal]) -> list[Money]:
    """``total`` shared in proportion to ``weights`` (largest remainder): the shares add up exactly.

    Each share is within one minor unit of its exact value; ties go to the earlier part.
    """
    if not weights:
        raise SplitError("There is nothing to share the amount over.")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise SplitError("The parts' shares must be positive.")
    unit = _unit(total.currency)
    units = int(total.amount / unit)
    whole = sum(weights)
    exact = [Decimal(units) * w / whole for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = units - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [Money(Decimal(n) * unit, total.currency) for n in floors]


def split_evenly(total: Money, count: int) -> list[Money]:
    """``total`` in ``count`` equal parts, the odd minor units going to the first parts."""
    if count < 1 or count > MAX_PARTS:
        raise SplitError(f"A receipt can be split into 1 to {MAX_PARTS} parts, not {count}.")
    return share_out(total, [Decimal(1)] * count)


def _check_amount(value: Decimal, currency: str, index: int) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise SplitError(f"Part {index}: the amount must be more than zero (got {value}).")
    if value != value.quantize(_unit(currency)):
        raise SplitError(
            f"Part {index}: {value} has more decimals than {currency} has ({minor_units(currency)})."
        )
    return value


def split(total: Money, specs: Sequence[PartSpec]) -> list[SplitPart]:
    """The parts of ``total`` as asked for; :class:`SplitError` says what does not add up.

    - All parts by percentage: the percentages must add up to 100.
    - All parts by amount: the amounts must add up to the total.
    - Otherwise exactly one part is left blank and takes the rest (which must be more than zero);
      percentages are of the total.
    """
    code = total.currency
    if total.amount <= 0:
        raise SplitError(f"Only a positive total can be split (got {total.format()}).")
    if not 2 <= len(specs) <= MAX_PARTS:
        raise SplitError(f"A split has 2 to {MAX_PARTS} parts, not {len(specs)}.")
    rest = [i for i, spec in enumerate(specs) if spec.is_rest]
    if len(rest) > 1:
        raise SplitError("Leave at most one part blank: it takes what the others leave.")
    for index, spec in enumerate(specs, start=1):
        if spec.amount is not None and spec.percent is not None:
            raise SplitError(f"Part {index}: give an amount or a percentage, not both.")
        if spec.amount is not None:
            _check_amount(spec.amount, code, index)
        if spec.percent is not None and (not spec.percent.is_finite() or not 0 < spec.percent <= HUNDRED):
            raise SplitError(
                f"Part {index}: a percentage is more than 0 and at most 100 (got {spec.percent})."
            )
    by_percent = [spec.percent for spec in specs if spec.percent is not None]
    by_amount = [spec.amount for spec in specs if spec.amount is not None]

    amounts: list[Money]
    if not rest and len(by_percent) == len(specs):
        percent_total = sum(by_percent, Decimal(0))
        if percent_total != HUNDRED:
            raise SplitError(f"The percentages add up to {percent_total.normalize():f}%, not 100%.")
        amounts = share_out(total, by_percent)
    elif not rest and len(by_amount) == len(specs):
        parts_total = Money(sum(by_amount, Decimal(0)), code)
        if parts_total != total:
            difference = total - parts_total if parts_total < total else parts_total - total
            how = "left over" if parts_total < total else "too much"
            raise SplitError(
                f"The parts add up to {parts_total.format()}, not {total.format()}: {difference.format()} {how}."
            )
        amounts = [Money(a, code) for a in by_amount]
    elif not rest:
        raise SplitError(
            "Mix amounts and percentages only with one part left blank for the rest; otherwise give "
            "every part as an amount, or every part as a percentage."
        )
    else:
        fixed = [
            Money(spec.amount, code)
            if spec.amount is not None
            else Money(total.amount * (spec.percent or Decimal(0)) / HUNDRED, code)
            for spec in specs
            if not spec.is_rest
        ]
        taken = Money(sum((m.amount for m in fixed), Decimal(0)), code)
        remainder = total - taken
        if remainder.amount <= 0:
            raise SplitError(
                f"The other parts take {taken.format()} of {total.format()}: nothing is left for the blank part."
            )
        amounts = list(fixed)
        amounts.insert(rest[0], remainder)
    for index, amount in enumerate(amounts, start=1):
        if amount.amount <= 0:
            raise SplitError(
                f"Part {index} comes to {amount.format()}: split {total.format()} into fewer or larger parts."
            )
    return [
        SplitPart(
            amount=amount,
            category=spec.category,
            customer=spec.customer,
            project=spec.project,
            deal=spec.deal,
        )
        for amount, spec in zip(amounts, specs, strict=True)
    ]


def convert_parts(parts: Sequence[SplitPart], converted_total: Money) -> list[SplitPart]:
    """The parts in another currency: ``converted_total`` shared in proportion to the parts, so
    the converted parts add up to the converted total exactly (each within a minor unit)."""
    shares = share_out(converted_total, [part.amount.amount for part in parts])
    return [
        SplitPart(amount=share, category=p.category, customer=p.customer, project=p.project, deal=p.deal)
        for share, p in zip(shares, parts, strict=True)
    ]


PART_RULES = frozenset({PROHIBITED_CATEGORY, UNKNOWN_CATEGORY, CUSTOMER_REQUIRED, OVER_LIMIT})
"""The policy's rules that depend on a part's own category, customer and amount."""


def part_findings(
    whole: ExpenseFacts,
    parts: Sequence[SplitPart],
    policy: Policy,
    *,
    today: date,
    rates: RateLookup | None = None,
) -> list[Violation]:
    """Each part of a split receipt checked against the policy as its own claim.

    Only the rules that depend on the part (its category, customer and amount) are reported, each
    named by its part; the receipt as a whole (date, merchant, receipt, approval route) is checked
    once as before.
    """
    found: list[Violation] = []
    for index, part in enumerate(parts, start=1):
        facts = replace(
            whole,
            amount=part.amount,
            category=part.category or whole.category,
            customer_id=part.customer or whole.customer_id,
            distance=None,
        )
        for violation in evaluate(facts, policy, today=today, rates=rates):
            if violation.rule in PART_RULES:
                found.append(
                    Violation(
                        violation.rule,
                        f"Part {index} ({part.amount.format()}): {violation.message}",
                        violation.blocking,
                    )
                )
    return found
