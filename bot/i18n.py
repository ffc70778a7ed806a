"""The bot's languages: gettext catalogues (Babel) and money and dates formatted by locale.

Each person's messages are in the language of their Slack locale (``users.info`` with
``include_locale``, cached by :mod:`bot.identity`), or the company's ``EXPENSEBOT_LOCALE`` when
there is no catalogue for it. Code that renders a message for one person does it inside
``with use_locale(locale):``; :func:`_` and the formatters read that locale. Outside of it (the CLI,
logs, audit details) everything stays English with the app's own formats.

Catalogues: ``bot/locale/<catalogue>/LC_MESSAGES/messages.po`` (and the compiled ``.mo``), made
from ``bot/locale/messages.pot``; see the README, "Languages". English is the source text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Iterator
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from workflows.i18n import N_
from workflows.money import Money, is_currency, minor_units

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# The catalogues shipped besides English (the source language): directory names under LOCALE_DIR.
CATALOGUES = ("de", "zh_Hans")
# Chinese regions written in Traditional characters: no catalogue yet, so the company default.
_TRADITIONAL = frozenset({"TW", "HK", "MO"})

__all__ = [
    "N_",
    "_",
    "choose",
    "format_count",
    "format_date",
    "format_day",
    "format_money",
    "format_rate",
    "ngettext",
    "parse_locale",
    "use_locale",
]

_current: ContextVar[Locale | None] = ContextVar("expensebot_locale", default=None)


def parse_locale(tag: str | None) -> Locale | None:
    """A Babel locale from Slack's form (``de-DE``) or POSIX's (``de_DE``); ``None`` if unknown."""
    if not tag or not tag.strip():
        return None
    try:
        return Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def catalogue_of(locale: Locale) -> str | None:
    """The catalogue a locale reads (``de``, ``zh_Hans``), or ``None`` for English and locales
    without one."""
    if locale.language == "de":
        return "de"
    if locale.language == "zh" and locale.script != "Hant" and locale.territory not in _TRADITIONAL:
        return "zh_Hans"
    return None


def choose(slack_locale: str | None, default: str = "en") -> Locale:
    """The locale of one person's messages: their Slack locale when the bot speaks its language
    (English or a catalogue), otherwise the company default."""
    mine = parse_locale(slack_locale)
    if mine is not None and (mine.language == "en" or catalogue_of(mine) is not None):
        return mine
    return parse_locale(default) or Locale("en")


def current() -> Locale | None:
    """The locale being rendered for; ``None`` outside :func:`use_locale` (English, app formats)."""
    return _current.get()


@contextlib.contextmanager
def use_locale(locale: Locale | str | None) -> Iterator[Locale | None]:
    """Render for ``locale`` inside the block (a :class:`Locale` or a tag such as ``de-DE``)."""
    chosen = parse_locale(locale) if isinstance(locale, str) else locale
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


@functools.cache
def _translations(catalogue: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [catalogue], domain=DOMAIN)


def _catalogue() -> NullTranslations | None:
    locale = _current.get()
    name = catalogue_of(locale) if locale is not None else None
    return _translations(name) if name else None


def _(message: str) -> str:
    """``message`` in the current locale's language (itself in English or without a translation)."""
    translations = _catalogue()
    return translations.gettext(message) if translations is not None else message


def ngettext(singular: str, plural: str, n: int) -> str:
    translations = _catalogue()
    if translations is None:
        return singular if n == 1 else plural
    return translations.ngettext(singular, plural, n)


def format_money(amount: Decimal, currency: str) -> str:
    """``1.234,56 €`` (de), ``€1,234.56`` (zh), the app's ``1,234.56 EUR`` in English; always
    with the currency's ISO 4217 decimals."""
    locale = _current.get()
    if locale is None or locale.language == "en" or not is_currency(currency):
        return Money(amount, currency).format() if is_currency(currency) else f"{amount:,.2f} {currency}"
    digits = minor_units(currency)
    pattern = locale.currency_formats["standard"].pattern.split(";", 1)[0]
    pattern = re.sub(r"0\.0+|0(?![0-9])", "0." + "0" * digits if digits else "0", pattern, count=1)
    return format_currency(amount, currency, format=pattern, locale=locale, currency_digits=False)


def format_rate(rate: Decimal) -> str:
    """An exchange rate with all its digits and no trailing zeros: ``0,9341`` (de), ``0.9341``."""
    locale = _current.get()
    if locale is None or locale.language == "en":
        return f"{rate.normalize():f}"
    return format_decimal(
        rate.normalize(), format="0.############", locale=locale, decimal_quantization=False
    )


def format_count(count: int) -> str:
    """A whole number with the locale's grouping: ``7.854`` (de), ``7,854`` (English, Chinese)."""
    locale = _current.get()
    if locale is None or locale.language == "en":
        return f"{count:,}"
    return format_decimal(count, locale=locale)


def format_date(day: dt.date, english: str = "%Y-%m-%d") -> str:
    """A date in the locale's medium form (``04.12.2026``, ``2026年12月4日``); in English with
    the ``strftime`` format ``english`` (the app's ISO dates by default)."""
    locale = _current.get()
    if locale is None or locale.language == "en":
        return day.strftime(english)
    return babel_format_date(day, format="medium", locale=locale)


def format_day(day: dt.date, english: str = "%a %d %b") -> str:
    """A day with its weekday and no year (a trip's days): ``Mo., 2. März`` (de), ``3月2日周一``
    (zh); in English with the ``strftime`` format ``english`` (``Mon 02 Mar``)."""
    locale = _current.get()
    if locale is None or locale.language == "en":
        return day.strftime(english)
    return format_skeleton("MMMEd", day, locale=locale)
