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
            f"No {from_currency}→{to_currency} rate for {day.isoformat()}: "
            "ask finance to import rates (expensebot fx import)"
        )


class RateFileError(ValueError):
    """A rates file that cannot be read. ``str(err)`` names the source and line."""


def convert(amount: Money, to: str, on: date, rates: RateLookup) -> Money:
    """Convert ``amount`` into currency ``to`` with the rate for day ``on``.

    Same currency: returned unchanged. Otherwise the direct rate is used, or the inverse of
    the opposite rate. Raises :class:`MissingRate` when neither is known.
    """
    target = to.upper()
    if not is_currency(target):
        raise MoneyError(f"“{to}” is not an ISO 4217 currency code (for example USD, EUR, MYR).")
    if amount.currency == target:
        return amount
    rate = rates(amount.currency, target, on)
    if rate is None:
        inverse = rates(target, amount.currency, on)
        if inverse is not None and inverse > 0:
            rate = Decimal(1) / inverse
    if rate is None:
        raise MissingRate(amount.currency, target, on)
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(
            f"The {amount.currency}→{target} rate for {on.isoformat()} is {rate}; it must be positive."
        )
    return Money(amount.amount * rate, target)


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
