"""Money: an exact decimal amount with an ISO 4217 currency.

Amounts are never floats. Each currency is quantised to its minor unit (2 decimals for
most, 0 for JPY/KRW, 3 for BHD/KWD ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 active codes with their minor units (exponent). Codes absent here are refused.
_MINOR_UNITS: dict[str, int] = {
    "AED": 2,
    "AFN": 2,
    "ALL": 2,
    "AMD": 2,
    "ANG": 2,
    "AOA": 2,
    "ARS": 2,
    "AUD": 2,
    "AWG": 2,
    "AZN": 2,
    "BAM": 2,
    "BBD": 2,
    "BDT": 2,
    "BGN": 2,
    "BHD": 3,
    "BIF": 0,
    "BMD": 2,
    "BND": 2,
    "BOB": 2,
    "BRL": 2,
    "BSD": 2,
    "BTN": 2,
    "BWP": 2,
    "BYN": 2,
    "BZD": 2,
    "CAD": 2,
    "CDF": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "CRC": 2,
    "CUP": 2,
    "CVE": 2,
    "CZK": 2,
    "DJF": 0,
    "DKK": 2,
    "DOP": 2,
    "DZD": 2,
    "EGP": 2,
    "ERN": 2,
    "ETB": 2,
    "EUR": 2,
    "FJD": 2,
    "FKP": 2,
    "GBP": 2,
    "GEL": 2,
    "GHS": 2,
    "GIP": 2,
    "GMD": 2,
    "GNF": 0,
    "GTQ": 2,
    "GYD": 2,
    "HKD": 2,
    "HNL": 2,
    "HTG": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "IQD": 3,
    "IRR": 2,
    "ISK": 0,
    "JMD": 2,
    "JOD": 3,
    "JPY": 0,
    "KES": 2,
    "KGS": 2,
    "KHR": 2,
    "KMF": 0,
    "KPW": 2,
    "KRW": 0,
    "KWD": 3,
    "KYD": 2,
    "KZT": 2,
    "LAK": 2,
    "LBP": 2,
    "LKR": 2,
    "LRD": 2,
    "LSL": 2,
    "LYD": 3,
    "MAD": 2,
    "MDL": 2,
    "MGA": 2,
    "MKD": 2,
    "MMK": 2,
    "MNT": 2,
    "MOP": 2,
    "MRU": 2,
    "MUR": 2,
    "MVR": 2,
    "MWK": 2,
    "MXN": 2,
    "MYR": 2,
    "MZN": 2,
    "NAD": 2,
    "NGN": 2,
    "NIO": 2,
    "NOK": 2,
    "NPR": 2,
    "NZD": 2,
    "OMR": 3,
    "PAB": 2,
    "PEN": 2,
    "PGK": 2,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "PYG": 0,
    "QAR": 2,
    "RON": 2,
    "RSD": 2,
    "RUB": 2,
    "RWF": 0,
    "SAR": 2,
    "SBD": 2,
    "SCR": 2,
    "SDG": 2,
    "SEK": 2,
    "SGD": 2,
    "SHP": 2,
    "SLE": 2,
    "SOS": 2,
    "SRD": 2,
    "SSP": 2,
    "STN": 2,
    "SVC": 2,
    "SYP": 2,
    "SZL": 2,
    "THB": 2,
    "TJS": 2,
    "TMT": 2,
    "TND": 3,
    "TOP": 2,
    "TRY": 2,
    "TTD": 2,
    "TWD": 2,
    "TZS": 2,
    "UAH": 2,
    "UGX": 0,
    "USD": 2,
    "UYU": 2,
    "UZS": 2,
    "VES": 2,
    "VND": 0,
    "VUV": 0,
    "WST": 2,
    "XAF": 0,
    "XCD": 2,
    "XOF": 0,
    "XPF": 0,
    "YER": 2,
    "ZAR": 2,
    "ZMW": 2,
    "ZWL": 2,
}

CURRENCIES: frozenset[str] = frozenset(_MINOR_UNITS)

# The largest amount one expense may carry, whatever the currency: beyond this it is a typo.
ABSURD_AMOUNT = Decimal("10000000")


class MoneyError(ValueError):
    """An amount or currency that cannot be money. ``str(err)`` is a message for people."""


def is_currency(code: str | None) -> bool:
    return code is not None and code.upper() in _MINOR_UNITS


def minor_units(currency: str) -> int:
    try:
        return _MINOR_UNITS[currency.upper()]
    except KeyError:
        raise MoneyError(
            f"“{currency}” is not an ISO 4217 currency code (for example USD, EUR, MYR)."
        ) from None


def parse_amount(text: str) -> Decimal:
    """Parse what a person types as an amount: ``1,234.50``, ``1234,50``, ``  42 ``.

    Raises :class:`MoneyError` with a human message when it is not a number.
    """
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    if not raw:
        raise MoneyError("The amount is empty.")
    if "," in raw and "." in raw:
        # whichever separator comes last is the decimal one
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        head, _, tail = raw.rpartition(",")
        raw = raw.replace(",", "") if len(tail) == 3 and head else head.replace(",", "") + "." + tail
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"“{text.strip()}” is not an amount: type digits such as 42.50.") from None
    if not value.is_finite():
        raise MoneyError(f"“{text.strip()}” is not an amount: type digits such as 42.50.")
    return value


@dataclass(frozen=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        code = self.currency.upper()
        exp = minor_units(code)
        object.__setattr__(self, "currency", code)
        object.__setattr__(self, "amount", self.amount.quantize(Decimal(1).scaleb(-exp), ROUND_HALF_UP))

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str) -> Money:
        value = amount if isinstance(amount, Decimal) else parse_amount(str(amount))
        return cls(value, currency)

    def check_claimable(self) -> None:
        """Refuse amounts no one can claim: zero, negative or absurdly large."""
        if self.amount <= 0:
            raise MoneyError(f"The total must be more than zero (got {self.format()}).")
        if self.amount >= ABSURD_AMOUNT:
            raise MoneyError(f"{self.format()} is far larger than any expense; check the total.")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency} without conversion")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @property
    def amount_text(self) -> str:
        """The amount with exactly the currency's decimals and no grouping: ``1234.50``."""
        return f"{self.amount:.{minor_units(self.currency)}f}"

    def format(self) -> str:
        """For people: ``1,234.50 USD``."""
        return f"{self.amount:,.{minor_units(self.currency)}f} {self.currency}"

    def __str__(self) -> str:
        return self.format()
