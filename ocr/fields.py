"""Finding amounts, dates and currency marks in text. Pure functions over strings."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ocr import rules

# ---------------------------------------------------------------------------------------- amounts

_AMOUNT = re.compile(
    r"(?<![\d.,/:])(?P<neg>-\s?)?(?P<int>\d{1,3}(?:(?P<group>[,.'])\d{3})(?:(?P=group)\d{3})*|\d+)"
    r"\s?(?P<sep>[.,])\s?(?P<dec>\d{2})(?P<neg2>-)?(?![\d%]|[.,/:-]\d)"
)
_WHOLE_AMOUNT = re.compile(r"(?<![\d.,/:])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?![\d%]|[.,/:-]\d)")


@dataclass(frozen=True)
class Amount:
    value: Decimal
    start: int
    end: int


# Letters OCR confuses with digits, fixed only inside a token shaped like an amount ("9.0O", "1S.50").
# A leading S is more often a dollar sign than a 5 ("S8.20"), so it is left alone.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "S": "5", "B": "8"})
_AMOUNT_SHAPED = re.compile(r"(?<![A-Z0-9])[0-9ODQIL][0-9ODQILSB]{0,5}[.,][0-9ODQILSB]{2}(?![A-Z0-9%])")


def fix_digit_lookalikes(text: str) -> str:
    """Upper-case text with look-alike letters in amount-shaped tokens read as digits; same length."""

    def fix(m: re.Match[str]) -> str:
        token = m.group(0)
        digits = sum(ch.isdigit() for ch in token)
        return token.translate(_DIGIT_LOOKALIKES) if digits >= 2 and digits < len(token) - 1 else token

    return _AMOUNT_SHAPED.sub(fix, text)


def find_amounts(text: str, decimals: int = 2) -> list[Amount]:
    """Money amounts printed in ``text``: ``12.50``, ``1,234.50``, ``1.234,50``, ``-0.02``, ``0.02-``.

    Amounts need their decimals (``12`` is a quantity, not money) unless the currency has none.
    """
    text = fix_digit_lookalikes(text)
    found: list[Amount] = []
    if decimals == 0:
        for m in _WHOLE_AMOUNT.finditer(text):
            try:
                found.append(Amount(Decimal(m.group("int").replace(",", "")), m.start(), m.end()))
            except InvalidOperation:
                continue
        return found
    for m in _AMOUNT.finditer(text):
        group, sep = m.group("group"), m.group("sep")
        if group is not None and group == sep:
            continue  # "1.234.56" is not an amount
        whole = m.group("int")
        if group:
            whole = whole.replace(group, "")
        value = Decimal(f"{whole}.{m.group('dec')}")
        if m.group("neg") or m.group("neg2"):
            value = -value
        found.append(Amount(value, m.start(), m.end()))
    return found


# ------------------------------------------------------------------------------------------ dates

# Both separators of a numeric date are the same character: "25/12/2018", "25-12-18", "25.12.2018".
_NUMERIC_DATE = re.compile(r"(?P<a>\d{1,4})\s?(?P<s>[./-])\s?(?P<b>\d{1,2})\s?(?P=s)\s?(?P<c>\d{2,4})")
# OCR reads a dot as a comma now and then: "06,05.2020". Taken only with a four-digit year.
_MIXED_DOT_DATE = re.compile(
    r"(?<![\d.,])(?P<a>\d{1,2})\s?(?P<s1>[.,])\s?(?P<b>\d{1,2})\s?(?P<s2>[.,])\s?(?P<c>(?:19|20)\d{2})(?!\d)"
)
_ENDS_WITH_TIME = re.compile(r"\d:[0-5]\d$")
_GLUED_MINUTES = re.compile(r"\s?:\s?[0-5]\d")
_TIME = re.compile(r"^\s*\d{1,2}[:.]\d{2}|^\d{2}:\d{2}")
_CJK_DATE = re.compile(r"(?P<y>\d{4})\s?年\s?(?P<m>\d{1,2})\s?月\s?(?P<d>\d{1,2})\s?日?")
_MONTH_WORD = r"(?P<mon>[A-ZÀ-Ü]{3,9})\.?"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:ST|ND|RD|TH)?[\s./-]*{_MONTH_WORD}[\s.,/-]*(?P<y>\d{{2,4}})"
)
_MONTH_DAY_YEAR = re.compile(
    rf"\b{_MONTH_WORD}[\s.-]*(?P<d>\d{{1,2}})(?:ST|ND|RD|TH)?[\s,.-]+(?P<y>\d{{2,4}})"
)


@dataclass(frozen=True)
class DateMatch:
    """A printed date. ``orders`` lists the readings that make a valid date (order code, date)."""

    readings: tuple[tuple[str, datetime.date], ...]
    start: int
    end: int

    @property
    def ambiguous(self) -> bool:
        return len({d for _, d in self.readings}) > 1


def _year(text: str) -> list[int]:
    """Candidate years for printed digits; a 4-digit run that is no year may be 2 digits + a time."""
    if len(text) == 2:
        return [2000 + int(text)]
    if len(text) == 4:
        value = int(text)
        if 1990 <= value <= 2099:
            return [value]
        return [2000 + int(text[:2])]  # "1813" in "18-11-1813:58": year 18, then the time
    if len(text) == 3:
        return [2000 + int(text[:2])]
    return []


def _make(y: int, m: int, d: int) -> datetime.date | None:
    try:
        return datetime.date(y, m, d)
    except ValueError:
        return None


def _overlapping(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """Matches that may overlap: "REG #19- 18/01/2018" holds the date after a false start."""
    found: list[re.Match[str]] = []
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        found.append(m)
        pos = m.start() + 1
    return found


def followed_by_time(text: str, end: int) -> bool:
    """A clock time right after a date ("25/12/2018 14:05", "18-11-1813:58") marks a transaction date."""
    return bool(_TIME.match(text[end:]))


def find_dates(text: str) -> list[DateMatch]:
    """Dates printed in upper-case ``text``, each with every valid reading (day-first, month-first...)."""
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []

    def add(readings: list[tuple[str, datetime.date | None]], start: int, end: int) -> None:
        valid = tuple((o, d) for o, d in readings if d is not None)
        if valid and not any(s < end and start < e for s, e in taken):
            found.append(DateMatch(valid, start, end))
            taken.append((start, end))

    for m in _CJK_DATE.finditer(text):
        add([("ymd", _make(int(m["y"]), int(m["m"]), int(m["d"])))], m.start(), m.end())
    for m in _overlapping(_NUMERIC_DATE, text):
        a, b, c = m["a"], m["b"], m["c"]
        if m.start() > 0 and text[m.start() - 1].isdigit():
            # glued to digits on the left ("No. 100021911/03/201806:20PM"): only with a time after
            # it, or right after one ("SvrCk: 416:4304/25/15": 16:43, then 04/25/15)
            end = m.end() if len(c) != 4 or _year(c)[0] == int(c) else m.start("c") + 2
            after_time = _ENDS_WITH_TIME.search(text[: m.start()]) is not None
            if len(a) > 2 or not (_TIME.match(text[end:]) or after_time):
                continue
        readings: list[tuple[str, datetime.date | None]] = []
        # "03.04.2009:53": a two-digit year run into a clock time ("20" then "09:53"); a real year
        # is not followed by a colon and minutes
        glued_time = len(c) == 4 and len(a) <= 2 and _GLUED_MINUTES.match(text[m.end() :]) is not None
        if glued_time:
            for order, (day, month) in (("dmy", (a, b)), ("mdy", (b, a))):
                readings.append((order, _make(2000 + int(c[:2]), int(month), int(day))))
            add(readings, m.start(), m.start("c") + 2)
            continue
        if len(a) == 4:
            year = int(a)
            if 1990 <= year <= 2099 and len(c) <= 2:
                readings.append(("ymd", _make(year, int(b), int(c))))
        elif len(a) <= 2:
            for year in _year(c):
                readings.append(("dmy", _make(year, int(b), int(a))))
                readings.append(("mdy", _make(year, int(a), int(b))))
            if len(c) == 2 and len(a) == 2:
                readings.append(("ymd", _make(2000 + int(a), int(b), int(c))))
        add(readings, m.start(), m.end() if len(c) != 4 or _year(c)[0] == int(c) else m.start("c") + 2)
    for m in _MIXED_DOT_DATE.finditer(text):
        if m["s1"] != m["s2"]:
            year, a, b = int(m["c"]), int(m["a"]), int(m["b"])
            add([("dmy", _make(year, b, a)), ("mdy", _make(year, a, b))], m.start(), m.end())
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        for m in pattern.finditer(text):
            month = rules.MONTHS.get(m["mon"])
            if month is None:
                continue
            for year in _year(m["y"]):
                add([("name", _make(year, month, int(m["d"])))], m.start(), m.end())
    found.sort(key=lambda d: d.start)
    return found


# --------------------------------------------------------------------------------------- currency


@dataclass(frozen=True)
class CurrencyMark:
    code: str
    start: int
    # A sign, or a currency word next to an amount or in brackets: the receipt's currency. A bare
    # word elsewhere is weaker evidence (see ``rules.CURRENCY_MARKS``).
    attached: bool = True


def find_currency_marks(text: str) -> list[CurrencyMark]:
    """Currency marks (signs, codes, names) in upper-case text, each saying whether it is attached."""
    marks: list[CurrencyMark] = []
    covered: list[tuple[int, int]] = []
    for pattern, code, is_sign in rules.CURRENCY_MARKS:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in covered):
                continue
            attached = is_sign or bool(
                rules.CURRENCY_WORD_AMOUNT_AFTER.match(text[m.end() :])
                or rules.CURRENCY_WORD_AMOUNT_BEFORE.search(text[: m.start()])
                or rules.CURRENCY_WORD_BRACKETS.search(text[: m.start()])
            )
            marks.append(CurrencyMark(code, m.start(), attached))
            covered.append((m.start(), m.end()))
    return sorted(marks, key=lambda mark: mark.start)
