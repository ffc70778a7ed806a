"""The European Central Bank's euro reference rates, as published in its XML feeds.

The daily file (``eurofxref-daily.xml``) and the 90-day file (``eurofxref-hist-90d.xml``) share
one layout: a ``gesmes:Envelope`` holding ``Cube`` > ``Cube time="YYYY-MM-DD"`` >
``Cube currency="USD" rate="1.0705"``, where each rate is how much of the currency one euro buys.
Rates are read as :class:`~decimal.Decimal` straight from the text, never through float.

This module only reads text handed to it; fetching is :mod:`storage.fx_feed`'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from workflows.money import is_currency

GESMES = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
CUBE = f"{{{EUROFXREF}}}Cube"
BASE = "EUR"


class FeedError(ValueError):
    """A feed that cannot be used. ``str(err)`` is a message for people."""


@dataclass(frozen=True)
class DayRates:
    """The reference rates of one day: 1 EUR = ``rates[code]`` of that currency."""

    day: dt.date
    rates: dict[str, Decimal]

    def rows(self) -> list[tuple[str, str, dt.date, Decimal]]:
        """``(from, to, day, rate)`` rows as stored: EUR to each currency."""
        return [(BASE, code, self.day, rate) for code, rate in sorted(self.rates.items())]


def parse_ecb_xml(text: str | bytes, source: str = "the ECB feed") -> list[DayRates]:
    """Every day in an ECB reference-rate file, newest first (as the ECB orders them).

    Raises :class:`FeedError` naming the element and why when the file is not the ECB's layout.
    """
    try:
        root = fromstring(text)
    except (ParseError, DefusedXmlException) as exc:
        raise FeedError(f"{source} is not well-formed XML ({exc}).") from None
    if root.tag != f"{{{GESMES}}}Envelope":
        raise FeedError(
            f"{source} is not the ECB's reference-rate layout: the root element is "
            f"<{_local(root.tag)}>, expected <gesmes:Envelope>."
        )
    outer = root.find(CUBE)
    if outer is None:
        raise FeedError(f"{source} has no <Cube> element inside <gesmes:Envelope>.")
    days: list[DayRates] = []
    seen: set[dt.date] = set()
    for cube in outer.findall(CUBE):
        day = _day_of(cube, source)
        if day in seen:
            raise FeedError(f"{source}: <Cube time='{day.isoformat()}'> appears twice.")
        seen.add(day)
        days.append(DayRates(day=day, rates=_rates_of(cube, day, source)))
    days.sort(key=lambda d: d.day, reverse=True)
    return days


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _day_of(cube: Element, source: str) -> dt.date:
    raw = cube.get("time")
    if raw is None:
        raise FeedError(f"{source}: a <Cube> of days has no time= attribute.")
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise FeedError(f"{source}: <Cube time='{raw}'> is not a date (YYYY-MM-DD).") from None


def _rates_of(cube: Element, day: dt.date, source: str) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    where = f"{source}, <Cube time='{day.isoformat()}'>"
    for item in cube.findall(CUBE):
        code = (item.get("currency") or "").strip().upper()
        raw = (item.get("rate") or "").strip()
        if not is_currency(code) or code == BASE:
            raise FeedError(f"{where}: currency='{item.get('currency') or ''}' is not a currency code.")
        try:
            rate = Decimal(raw)
        except InvalidOperation:
            raise FeedError(f"{where}: the {code} rate '{raw}' is not a number.") from None
        if not rate.is_finite() or rate <= 0:
            raise FeedError(f"{where}: the {code} rate must be a positive number, not '{raw}'.")
        if code in rates:
            raise FeedError(f"{where}: {code} appears twice.")
        rates[code] = rate
    if not rates:
        raise FeedError(f"{where} holds no rates.")
    return rates


@dataclass(frozen=True)
class Pick:
    """The rates chosen for a requested day, and what to tell people about the choice."""

    rates: DayRates
    note: str | None = None  # set when the day itself had no rates


def pick_day(days: Iterable[DayRates], wanted: dt.date | None) -> Pick:
    """The rates of ``wanted`` (None: the newest day in the file).

    On a weekend or a TARGET holiday the ECB publishes nothing; the rates of the last working day
    before it are the ones in force, so they are picked with a note saying so. Raises
    :class:`FeedError` when the file does not reach back to ``wanted`` or holds no day at all.
    """
    ordered = sorted(days, key=lambda d: d.day, reverse=True)
    if not ordered:
        raise FeedError("The feed holds no day of rates.")
    if wanted is None:
        return Pick(ordered[0])
    newest = ordered[0].day
    for day_rates in ordered:
        if day_rates.day == wanted:
            return Pick(day_rates)
        if day_rates.day < wanted:
            gap = [day_rates.day + dt.timedelta(days=n) for n in range(1, (wanted - day_rates.day).days + 1)]
            weekend = all(d.weekday() >= 5 for d in gap)
            if day_rates.day == newest and not weekend:
                raise FeedError(
                    f"The feed's newest rates are those of {newest.isoformat()}; the ECB publishes a working "
                    f"day's rates around 16:00 CET, so those of {wanted.isoformat()} are not out yet."
                )
            kind = "a weekend" if wanted.weekday() >= 5 else "a TARGET holiday"
            return Pick(
                day_rates,
                note=(
                    f"The ECB published no rates for {wanted:%A} {wanted.isoformat()} ({kind}); "
                    f"the rates in force that day are those of {day_rates.day:%A} {day_rates.day.isoformat()}."
                ),
            )
    oldest = ordered[-1].day
    raise FeedError(
        f"The feed reaches back to {oldest.isoformat()} only, not to {wanted.isoformat()}: "
        "import older rates with `expensebot fx import FILE.csv` (date,from,to,rate)."
    )
