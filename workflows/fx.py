"""Currency conversion with rates supplied by the caller.

Rates come from finance (``expensebot fx import``); this module never fetches them. A rate
lookup is any callable ``(from_currency, to_currency, day) -> Decimal | None``. A missing rate
is an error with a message for people, never a silent 1:1 conversion.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from workflows.money import Money, MoneyError, is_currency

RateLookup = Callable[[str, str, date], Decimal | None]
"""``(from_currency, to_currency, day) -> rate`` where 1 ``from`` = ``rate`` ``to``; None if unknown."""


class MissingRate(MoneyError):
    """No usable rate between two currencies on a day."""

    def __init__(self, from_currency: str, to_currency: str, day: date) -> None:
        self.from_currency = from_currency
        self.to_currency = to_currency
        self.day = day
        super().__init__(
            f"No {from_currency}→{to_currency} rate for {day.isoformat()}: ask finance to fetch the "
            "reference rates (expensebot fx update) or import rates (expensebot fx import)"
        )


class RateFileError(ValueError):
    """A rates file that cannot be read. ``str(err)`` names the source and line."""


PIVOT = "EUR"
"""Cross rates go through the euro: the ECB publishes every rate against it."""

RATE_DECIMALS = 12
"""Rates are kept to 12 decimals (the ``fx_rates`` column); a cross rate is rounded to them."""


def _direct_or_inverse(from_currency: str, to_currency: str, on: date, rates: RateLookup) -> Decimal | None:
    rate = rates(from_currency, to_currency, on)
    if rate is not None:
        return rate
    inverse = rates(to_currency, from_currency, on)
    if inverse is not None and inverse > 0:
        return Decimal(1) / inverse
    return None


def find_rate(from_currency: str, to_currency: str, on: date, rates: RateLookup) -> Decimal:
    """How much ``to_currency`` one ``from_currency`` buys on day ``on``.

    The direct rate, else the inverse of the opposite rate, else the cross rate through the euro
    (``from→EUR × EUR→to``, each leg direct or inverse). Rounded to :data:`RATE_DECIMALS`
    decimals when it had to be computed. Raises :class:`MissingRate` when none is known.
    """
    source, target = from_currency.upper(), to_currency.upper()
    if source == target:
        return Decimal(1)
    rate = _direct_or_inverse(source, target, on, rates)
    if rate is None and PIVOT not in (source, target):
        first = _direct_or_inverse(source, PIVOT, on, rates)
        second = _direct_or_inverse(PIVOT, target, on, rates) if first is not None else None
        if first is not None and second is not None:
            rate = first * second
    if rate is None:
        raise MissingRate(source, target, on)
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(f"The {source}→{target} rate for {on.isoformat()} is {rate}; it must be positive.")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -RATE_DECIMALS:
        rate = rate.quantize(Decimal(1).scaleb(-RATE_DECIMALS))
        if rate <= 0:
            raise MoneyError(f"The {source}→{target} rate for {on.isoformat()} is too small to use.")
    return rate


def convert(amount: Money, to: str, on: date, rates: RateLookup) -> Money:
    """Convert ``amount`` into currency ``to`` with the rate for day ``on`` (see :func:`find_rate`).

    Same currency: returned unchanged. Raises :class:`MissingRate` when no rate is known.
    """
    target = to.upper()
    if not is_currency(target):
        raise MoneyError(f"“{to}” is not an ISO 4217 currency code (for example USD, EUR, MYR).")
    if amount.currency == target:
        return amount
    return Money(amount.amount * find_rate(amount.currency, target, on, rates), target)


def no_rates(from_currency: str, to_currency: str, day: date) -> Decimal | None:
    """A lookup that knows no rates: only same-currency amounts can be compared."""
    return None


def fixed_rates(table: Mapping[tuple[str, str], Decimal | str]) -> RateLookup:
    """A lookup with the same rates every day, e.g. ``{("EUR", "USD"): Decimal("1.08")}``."""
    normalised = {(a.upper(), b.upper()): Decimal(str(r)) for (a, b), r in table.items()}

    def lookup(from_currency: str, to_currency: str, day: date) -> Decimal | None:
        return normalised.get((from_currency.upper(), to_currency.upper()))

    return lookup


@dataclass
class RateTable:
    """Dated rates, e.g. imported by finance. Looks back up to ``max_age_days`` for a rate.

    Weekends and holidays have no published rate, so the latest rate on or before the day
    is used as long as it is at most ``max_age_days`` old.
    """

    max_age_days: int = 7
    _rates: dict[tuple[str, str], dict[date, Decimal]] = field(default_factory=dict)

    def add(self, from_currency: str, to_currency: str, day: date, rate: Decimal) -> None:
        if rate <= 0:
            raise MoneyError(f"A rate must be positive; got {rate} for {from_currency}→{to_currency}.")
        self._rates.setdefault((from_currency.upper(), to_currency.upper()), {})[day] = rate

    def __len__(self) -> int:
        return sum(len(days) for days in self._rates.values())

    def __call__(self, from_currency: str, to_currency: str, day: date) -> Decimal | None:
        by_day = self._rates.get((from_currency.upper(), to_currency.upper()))
        if not by_day:
            return None
        for back in range(self.max_age_days + 1):
            rate = by_day.get(day - timedelta(days=back))
            if rate is not None:
                return rate
        return None

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, date, Decimal]], max_age_days: int = 7) -> RateTable:
        table = cls(max_age_days=max_age_days)
        for from_currency, to_currency, day, rate in rows:
            table.add(from_currency, to_currency, day, rate)
        return table

    @classmethod
    def from_csv_text(cls, text: str, source: str = "rates.csv", max_age_days: int = 7) -> RateTable:
        """Parse ``date,from,to,rate`` rows (header required), e.g. ``2026-11-02,USD,MYR,4.41``."""
        reader = csv.reader(io.StringIO(text))
        table = cls(max_age_days=max_age_days)
        header: list[str] | None = None
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            cells = [cell.strip() for cell in row]
            if header is None:
                header = [cell.lower() for cell in cells]
                missing = [name for name in ("date", "from", "to", "rate") if name not in header]
                if missing:
                    raise RateFileError(
                        f"{source} line {line}: the header must have the columns date, from, to, rate "
                        f"(missing {', '.join(missing)})"
                    )
                continue
            values = dict(zip(header, cells, strict=False))
            try:
                day = date.fromisoformat(values.get("date", ""))
            except ValueError:
                raise RateFileError(
                    f"{source} line {line}: '{values.get('date', '')}' is not a date (YYYY-MM-DD)"
                ) from None
            pair = []
            for column in ("from", "to"):
                code = values.get(column, "").upper()
                if not is_currency(code):
                    raise RateFileError(
                        f"{source} line {line}: '{values.get(column, '')}' is not a currency code"
                    )
                pair.append(code)
            try:
                rate = Decimal(values.get("rate", ""))
            except InvalidOperation:
                raise RateFileError(
                    f"{source} line {line}: '{values.get('rate', '')}' is not a rate"
                ) from None
            if not rate.is_finite() or rate <= 0:
                raise RateFileError(f"{source} line {line}: the rate must be a positive number, not {rate}")
            table.add(pair[0], pair[1], day, rate)
        if header is None:
            raise RateFileError(f"{source}: the file is empty; expected a header date,from,to,rate")
        return table
