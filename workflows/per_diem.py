"""Per diem: a claim for travel days, priced from a table of published rates instead of receipts.

Pure rules. A trip (destination, first and last day, meals provided, hours away on a day trip) is
priced day by day from a :class:`RateTable`: the shipped tables in ``workflows/data/per_diem/``
(German BMF Verpflegungspauschalen, US GSA M&IE; each file cites its source) or the admin's own
table (``expensebot perdiem rates import``). Each day is

* a full day (24 hours away) at the place's full-day amount;
* the first or last day of a trip with nights away at the partial-day amount (Germany: the
  arrival/departure amount, § 9 Abs. 4a Satz 3 Nr. 2 EStG; US: 75 % of the M&IE, FTR § 301-11.101);
* a day trip (first day = last day) at the partial amount when away more than the table's
  ``day_trip_hours`` (Germany: more than 8 hours; US: more than 12 hours), nothing otherwise;

less the meals provided that day (Germany: 20 % of the full-day amount for breakfast, 40 % each for
lunch and dinner, § 9 Abs. 4a Satz 8 EStG, never below zero; US: the meal's amount in the GSA M&IE
breakdown, in full also on the first and last day, never below the incidentals, FTR § 301-11.18).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from typing import Any

import yaml

from workflows.i18n import N_
from workflows.money import Money, MoneyError, is_currency

MAX_TRIP_DAYS = 92  # a longer "trip" is a typo, or a posting that per diem is not made for


class PerDiemError(ValueError):
    """A trip or a rates table that cannot be priced; ``str()`` is a message for people."""


Translate = Callable[[str], str]
"""How the command's messages are worded: a template (marked with ``N_``) in the reader's language.
The bot passes its ``_``; English (the template itself) by default."""


def _same(message: str) -> str:
    return message


class Meal(StrEnum):
    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"


MEAL_ORDER = (Meal.BREAKFAST, Meal.LUNCH, Meal.DINNER)
# For people (translated where shown, ``N_``): the meals deducted on a day line.
MEAL_LABELS: dict[Meal, str] = {
    Meal.BREAKFAST: N_("breakfast"),
    Meal.LUNCH: N_("lunch"),
    Meal.DINNER: N_("dinner"),
}

_MEAL_WORDS: dict[str, Meal] = {
    "breakfast": Meal.BREAKFAST,
    "b": Meal.BREAKFAST,
    "fruhstuck": Meal.BREAKFAST,
    "lunch": Meal.LUNCH,
    "l": Meal.LUNCH,
    "mittagessen": Meal.LUNCH,
    "dinner": Meal.DINNER,
    "d": Meal.DINNER,
    "abendessen": Meal.DINNER,
    "supper": Meal.DINNER,
}


# --- rates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceRate:
    """What one place pays per day, in the table's currency."""

    names: tuple[str, ...]
    full_day: Decimal
    partial_day: Decimal
    meals: Mapping[Meal, Decimal]
    floor: Decimal = Decimal(0)
    """The least a day with provided meals is paid (US: the incidentals; Germany: nothing)."""

    @property
    def label(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class RateTable:
    table: str  # the family: de-bmf, us-gsa, admin
    name: str
    rules: str  # de-bmf | us-gsa | flat
    currency: str
    source: str
    places: tuple[PlaceRate, ...]
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    day_trip_hours: Decimal = Decimal(8)
    """A day trip is paid (the partial amount) only when away for more than this many hours."""

    def covers(self, day: dt.date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_to is None or day <= self.valid_to
        )

    @property
    def period(self) -> str:
        if self.valid_from is None and self.valid_to is None:
            return "any date"
        return f"{self.valid_from or '…'} to {self.valid_to or '…'}"

    def find(self, destination: str) -> PlaceRate | None:
        """The place a destination names: the whole text, then each comma-separated part in turn
        (``Lyon, France`` finds France), case, accents and punctuation ignored."""
        wanted = [fold(destination)] + [fold(part) for part in destination.split(",")]
        for key in wanted:
            if not key:
                continue
            for place in self.places:
                if key in {fold(name) for name in place.names}:
                    return place
        return None


def fold(text: str) -> str:
    """``Österreich`` → ``osterreich``; ``Washington, D.C.`` → ``washington d c``."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _money(value: Any, what: str, currency: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise PerDiemError(f"{what}: “{value}” is not an amount.") from None
    if amount < 0 or not amount.is_finite():
        raise PerDiemError(f"{what}: the amount cannot be negative (got {value}).")
    return Money(amount, currency).amount


def _de_bmf_place(names: tuple[str, ...], full: Decimal, partial: Decimal, currency: str) -> PlaceRate:
    """§ 9 Abs. 4a Satz 8 EStG: 20 % of the 24-hour amount for breakfast, 40 % for lunch and dinner."""
    meals = {
        Meal.BREAKFAST: Money(full * Decimal("0.20"), currency).amount,
        Meal.LUNCH: Money(full * Decimal("0.40"), currency).amount,
        Meal.DINNER: Money(full * Decimal("0.40"), currency).amount,
    }
    return PlaceRate(names=names, full_day=full, partial_day=partial, meals=meals)


def _us_gsa_place(
    names: tuple[str, ...], mie: Decimal, breakdown: Sequence[Decimal], currency: str
) -> PlaceRate:
    """FTR § 301-11.101: 75 % on the first and last day; § 301-11.18: meals at the breakdown."""
    breakfast, lunch, dinner, incidentals = breakdown
    return PlaceRate(
        names=names,
        full_day=mie,
        partial_day=Money(mie * Decimal("0.75"), currency).amount,
        meals={Meal.BREAKFAST: breakfast, Meal.LUNCH: lunch, Meal.DINNER: dinner},
        floor=incidentals,
    )


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(n, str) and n.strip() for n in raw):
        raise PerDiemError(f"{where}: names must be a list of place names.")
    return tuple(" ".join(n.split()) for n in raw)


def _date(value: Any, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PerDiemError(f"{what}: “{value}” is not a date (YYYY-MM-DD).") from None


def table_from_mapping(data: Mapping[str, Any], origin: str) -> RateTable:
    """A shipped table (the YAML layout of ``workflows/data/per_diem/``)."""
    try:
        currency = str(data["currency"]).upper()
        rules = str(data["rules"])
        if not is_currency(currency):
            raise PerDiemError(f"{origin}: “{currency}” is not an ISO 4217 currency code.")
        places: list[PlaceRate] = []
        breakdown: dict[Decimal, list[Decimal]] = {}
        if rules == "us-gsa":
            for tier, parts in (data.get("mie_breakdown") or {}).items():
                breakdown[_money(tier, f"{origin} M&IE tier", currency)] = [
                    _money(p, f"{origin} M&IE {tier}", currency) for p in parts
                ]
        for index, raw in enumerate(data["places"], start=1):
            where = f"{origin}, place {index}"
            names = _names(raw.get("names"), where)
            if rules == "de-bmf":
                full = _money(raw["full_day"], f"{where} full_day", currency)
                partial = _money(raw["partial_day"], f"{where} partial_day", currency)
                places.append(_de_bmf_place(names, full, partial, currency))
            elif rules == "us-gsa":
                mie = _money(raw["mie"], f"{where} mie", currency)
                if mie not in breakdown or len(breakdown[mie]) != 4:
                    raise PerDiemError(f"{where}: no M&IE breakdown for {mie} {currency}.")
                places.append(_us_gsa_place(names, mie, breakdown[mie], currency))
            else:
                raise PerDiemError(f"{origin}: unknown rules “{rules}” (de-bmf or us-gsa).")
        return RateTable(
            table=str(data["table"]),
            name=str(data["name"]),
            rules=rules,
            currency=currency,
            source=str(data["source"]),
            places=tuple(places),
            valid_from=_date(data.get("valid_from"), f"{origin} valid_from"),
            valid_to=_date(data.get("valid_to"), f"{origin} valid_to"),
            day_trip_hours=Decimal(12) if rules == "us-gsa" else Decimal(8),
        )
    except KeyError as exc:
        raise PerDiemError(f"{origin}: {exc.args[0]} is missing.") from None


def shipped_tables() -> list[RateTable]:
    """Every table shipped in ``workflows/data/per_diem/``, oldest first within a family."""
    folder = resources.files("workflows").joinpath("data").joinpath("per_diem")
    tables = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yml", ".yaml")):
            tables.append(table_from_mapping(yaml.safe_load(entry.read_text(encoding="utf-8")), entry.name))
    return tables


SHIPPED_FAMILIES = ("de-bmf", "us-gsa")


def family_for_currency(currency: str) -> str | None:
    """The shipped table a company uses unless it chooses: EUR → de-bmf, USD → us-gsa."""
    return {"EUR": "de-bmf", "USD": "us-gsa"}.get(currency.upper())


# --- the admin's table ----------------------------------------------------------------------

ADMIN_COLUMNS = ("destination", "currency", "full_day", "partial_day", "breakfast", "lunch", "dinner")
ADMIN_OPTIONAL = ("aliases", "incidentals")


@dataclass(frozen=True)
class AdminRow:
    """One row of an admin's rates file, as stored."""

    destination: str
    aliases: tuple[str, ...]
    currency: str
    full_day: Decimal
    partial_day: Decimal
    breakfast: Decimal
    lunch: Decimal
    dinner: Decimal
    incidentals: Decimal


def parse_admin_csv(text: str, *, name: str = "the file") -> list[AdminRow]:
    """An admin's own rates: a CSV with the header
    ``destination,currency,full_day,partial_day,breakfast,lunch,dinner[,incidentals][,aliases]``.

    ``partial_day`` is paid on the first and last day and on day trips; the meal columns are what
    a provided meal takes off a day; ``incidentals`` the least such a day is paid (default 0);
    ``aliases`` other names of the destination, separated by ``;``. Every problem is reported
    with its line, all at once.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [fold(h).replace(" ", "_") for h in (reader.fieldnames or [])]
    missing = [c for c in ADMIN_COLUMNS if c not in header]
    if missing:
        raise PerDiemError(
            f"{name}: the header needs the columns {', '.join(ADMIN_COLUMNS)} (missing: {', '.join(missing)})."
        )
    reader.fieldnames = header
    rows: list[AdminRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(values.values()):
            continue
        try:
            destination = " ".join(values["destination"].split())
            if not destination:
                raise PerDiemError("the destination is empty")
            currency = values["currency"].upper()
            if not is_currency(currency):
                raise PerDiemError(f"“{values['currency']}” is not an ISO 4217 currency code")
            amounts = {
                col: _money(values[col], col, currency)
                for col in ("full_day", "partial_day", "breakfast", "lunch", "dinner")
            }
            incidentals = _money(values.get("incidentals") or "0", "incidentals", currency)
            if amounts["full_day"] <= 0:
                raise PerDiemError("full_day must be more than zero")
            if amounts["partial_day"] > amounts["full_day"]:
                raise PerDiemError("partial_day is more than full_day")
            if incidentals > amounts["partial_day"]:
                raise PerDiemError("incidentals are more than partial_day")
            aliases = tuple(a.strip() for a in values.get("aliases", "").split(";") if a.strip())
            for key in {fold(destination), *(fold(a) for a in aliases)}:
                if key in seen:
                    raise PerDiemError(f"“{key}” is already a destination on line {seen[key]}")
                seen[key] = line
            rows.append(
                AdminRow(
                    destination,
                    aliases,
                    currency,
                    amounts["full_day"],
                    amounts["partial_day"],
                    amounts["breakfast"],
                    amounts["lunch"],
                    amounts["dinner"],
                    incidentals,
                )
            )
        except PerDiemError as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise PerDiemError(
            f"{name} was not imported: "
            + "; ".join(problems[:10])
            + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
        )
    if not rows:
        raise PerDiemError(f"{name} has no rates.")
    return rows


def admin_tables(rows: Iterable[AdminRow], source: str = "the company's per diem rates") -> list[RateTable]:
    """The admin's rows as tables, one per currency (a table prices in one currency)."""
    by_currency: dict[str, list[PlaceRate]] = {}
    for row in rows:
        by_currency.setdefault(row.currency, []).append(
            PlaceRate(
                names=(row.destination, *row.aliases),
                full_day=row.full_day,
                partial_day=row.partial_day,
                meals={Meal.BREAKFAST: row.breakfast, Meal.LUNCH: row.lunch, Meal.DINNER: row.dinner},
                floor=row.incidentals,
            )
        )
    return [
        RateTable(
            table="admin",
            name="Company per diem rates",
            rules="flat",
            currency=currency,
            source=source,
            places=tuple(places),
        )
        for currency, places in by_currency.items()
    ]


# --- a trip ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trip:
    destination: str
    start: dt.date
    end: dt.date
    meals: Mapping[dt.date, frozenset[Meal]] = field(default_factory=dict)
    day_trip_hours: Decimal | None = None
    """Hours away from home and the usual workplace, for a trip within one day."""

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]


class DayKind(StrEnum):
    FULL = "full day"
    FIRST = "first day"
    LAST = "last day"
    DAY_TRIP = "day trip"
    SHORT = "day trip, too short"


# For people (translated where shown, ``N_``): the kind of a day on a day line.
DAY_KIND_LABELS: dict[DayKind, str] = {
    DayKind.FULL: N_("full day"),
    DayKind.FIRST: N_("first day"),
    DayKind.LAST: N_("last day"),
    DayKind.DAY_TRIP: N_("day trip"),
    DayKind.SHORT: N_("day trip, too short"),
}


@dataclass(frozen=True)
class DayPrice:
    day: dt.date
    kind: DayKind
    base: Decimal
    deductions: tuple[tuple[Meal, Decimal], ...]
    amount: Decimal
    place: str
    table: str


@dataclass(frozen=True)
class Quote:
    """A priced trip: one line per day, the total, and where the rates came from."""

    trip: Trip
    currency: str
    days: tuple[DayPrice, ...]
    sources: tuple[str, ...]
    place: str

    @property
    def total(self) -> Money:
        return Money(sum((d.amount for d in self.days), Decimal(0)), self.currency)

    def lines(self) -> list[str]:
        """For the card: one line per day, then the sources."""
        out = []
        for day in self.days:
            money = Money(day.amount, self.currency).format()
            text = f"{day.day:%a %d %b}: {day.kind.value} {Money(day.base, self.currency).format()}"
            if day.deductions:
                text += "".join(
                    f" − {meal.value} {Money(v, self.currency).format()}" for meal, v in day.deductions
                )
                text += f" = {money}"
            out.append(text)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.trip.destination,
            "place": self.place,
            "currency": self.currency,
            "start": self.trip.start.isoformat(),
            "end": self.trip.end.isoformat(),
            "hours": str(self.trip.day_trip_hours) if self.trip.day_trip_hours is not None else None,
            "meals": {d.isoformat(): sorted(m.value for m in ms) for d, ms in self.trip.meals.items() if ms},
            "total": self.total.amount_text,
            "lines": self.lines(),
            "sources": list(self.sources),
            "days": [
                {
                    "day": d.day.isoformat(),
                    "kind": d.kind.value,
                    "base": str(d.base),
                    "amount": str(d.amount),
                    "deductions": [[meal.value, str(v)] for meal, v in d.deductions],
                }
                for d in self.days
            ],
        }


def _table_for(
    day: dt.date,
    destination: str,
    admin: Sequence[RateTable],
    shipped: Sequence[RateTable],
    say: Translate = _same,
) -> tuple[RateTable, PlaceRate]:
    for table in admin:
        place = table.find(destination)
        if place is not None:
            return table, place
    dated = [t for t in shipped if t.covers(day)]
    if not dated:
        periods = "; ".join(f"{t.name}: {t.period}" for t in shipped) or "—"
        raise PerDiemError(
            say(
                N_(
                    "No per diem rates cover {day} (the rates shipped cover {periods}). "
                    "Ask an admin to import the current rates (`expensebot perdiem rates import`)."
                )
            ).format(day=day.isoformat(), periods=periods)
        )
    for table in dated:
        place = table.find(destination)
        if place is not None:
            return table, place
    known = [p.label for t in [*admin, *dated] for p in t.places]
    raise PerDiemError(
        say(
            N_(
                "“{destination}” is not in the per diem rates ({tables}). Known places: {places}. Name a country "
                "or city from the list (e.g. `Lyon, France`), or ask an admin to add the place."
            )
        ).format(
            destination=destination,
            tables=", ".join(t.name for t in [*admin, *dated]),
            places=", ".join(dict.fromkeys(known)),
        )
    )


def price(
    trip: Trip, *, shipped: Sequence[RateTable], admin: Sequence[RateTable] = (), say: Translate = _same
) -> Quote:
    """Price ``trip`` day by day; the admin's table wins over the shipped one for a place it lists,
    and a shipped table is used only for the days it is valid for. Problems are worded with ``say``."""
    if trip.end < trip.start:
        raise PerDiemError(
            say(N_("The trip ends ({end}) before it starts ({start}).")).format(
                end=trip.end.isoformat(), start=trip.start.isoformat()
            )
        )
    if (trip.end - trip.start).days + 1 > MAX_TRIP_DAYS:
        raise PerDiemError(
            say(N_("A per diem claim covers at most {days} days; split a longer stay.")).format(
                days=MAX_TRIP_DAYS
            )
        )
    stray = sorted(d for d, meals in trip.meals.items() if meals and not trip.start <= d <= trip.end)
    if stray:
        raise PerDiemError(
            say(N_("Meals are given for {day}, which is not a day of the trip.")).format(
                day=stray[0].isoformat()
            )
        )
    one_day = trip.start == trip.end
    if one_day and trip.day_trip_hours is None:
        raise PerDiemError(
            say(
                N_(
                    "For a trip within one day, say how many hours you were away, e.g. `hours: 10` "
                    "(Germany pays for more than 8 hours, the US rules for more than 12)."
                )
            )
        )
    days: list[DayPrice] = []
    sources: dict[str, None] = {}
    currency: str | None = None
    place_label = ""
    for day in trip.days:
        table, place = _table_for(day, trip.destination, admin, shipped, say)
        if currency is not None and table.currency != currency:
            raise PerDiemError(
                say(
                    N_(
                        "The rates for “{destination}” change currency within the trip; "
                        "claim each part on its own."
                    )
                ).format(destination=trip.destination)
            )
        currency = table.currency
        place_label = place.label
        sources[f"{table.name}: {table.source}"] = None
        if one_day:
            assert trip.day_trip_hours is not None
            paid = trip.day_trip_hours > table.day_trip_hours
            kind = DayKind.DAY_TRIP if paid else DayKind.SHORT
            base = place.partial_day if paid else Decimal(0)
        elif day == trip.start:
            kind, base = DayKind.FIRST, place.partial_day
        elif day == trip.end:
            kind, base = DayKind.LAST, place.partial_day
        else:
            kind, base = DayKind.FULL, place.full_day
        provided = trip.meals.get(day, frozenset())
        deductions = tuple((meal, place.meals[meal]) for meal in MEAL_ORDER if meal in provided and base > 0)
        taken = sum((v for _, v in deductions), Decimal(0))
        floor = min(place.floor, base)
        amount = max(base - taken, floor)
        days.append(
            DayPrice(
                day, kind, base, deductions, Money(amount, table.currency).amount, place.label, table.name
            )
        )
    assert currency is not None
    return Quote(trip=trip, currency=currency, days=tuple(days), sources=tuple(sources), place=place_label)


# --- the command ----------------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

USAGE = N_(
    "Claim per diem with `/expense perdiem <destination> <first day> [<last day>] [meals: <day>=<meals> …] "
    "[hours: <hours away>]`, e.g. `/expense perdiem Paris, France 2026-03-02 2026-03-04 "
    "meals: 2026-03-03=breakfast 2026-03-04=breakfast+lunch`. Days are YYYY-MM-DD; `all=breakfast` means "
    "every day; a trip within one day needs `hours: 10`."
)


def is_per_diem_command(text: str) -> bool:
    first = text.strip().split(maxsplit=1)
    return bool(first) and first[0].lower() in {"perdiem", "per-diem", "per_diem"}


def _parse_day(text: str, say: Translate = _same) -> dt.date:
    if not _DATE.match(text):
        raise PerDiemError(
            say(N_("“{text}” is not a date: write it as YYYY-MM-DD (e.g. 2026-03-02).")).format(text=text)
        )
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PerDiemError(say(N_("{text} is not a day of the calendar.")).format(text=text)) from None


def _parse_meals(
    words: list[str], start: dt.date, end: dt.date, say: Translate = _same
) -> dict[dt.date, frozenset[Meal]]:
    meals: dict[dt.date, set[Meal]] = {}
    for word in words:
        day_text, sep, what = word.partition("=")
        if not sep or not what:
            raise PerDiemError(
                say(
                    N_(
                        "“{word}”: write provided meals as <day>=<meals>, e.g. 2026-03-03=breakfast+lunch "
                        "or all=breakfast."
                    )
                ).format(word=word)
            )
        names = [fold(m) for m in re.split(r"[+,/&]", what) if m.strip()]
        unknown = [n for n in names if n not in _MEAL_WORDS]
        if unknown or not names:
            raise PerDiemError(
                say(
                    N_("“{what}” is not a meal: use breakfast, lunch and dinner (e.g. breakfast+dinner).")
                ).format(what=what)
            )
        chosen = {_MEAL_WORDS[n] for n in names}
        if day_text.lower() in {"all", "daily", "every"}:
            days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
        else:
            days = [_parse_day(day_text, say)]
        for day in days:
            meals.setdefault(day, set()).update(chosen)
    return {day: frozenset(ms) for day, ms in meals.items()}


def _with_usage(say: Translate, problem: str) -> str:
    return say(N_("{problem} {usage}")).format(problem=problem, usage=say(USAGE))


def parse_command(text: str, say: Translate = _same) -> Trip:
    """``perdiem <destination> <first day> [<last day>] [meals: …] [hours: N]`` as a :class:`Trip`.

    Raises :class:`PerDiemError` with a message (and the usage) for anything else, worded with
    ``say`` (the bot's ``_``: the reader's language).
    """
    usage = say(USAGE)
    body = text.strip().split(maxsplit=1)
    rest = body[1] if len(body) > 1 else ""
    rest = rest.replace("\u00a0", " ")
    tokens = rest.split()
    dates = [i for i, token in enumerate(tokens) if _DATE.match(token.rstrip(","))]
    if not tokens or not dates:
        raise PerDiemError(usage)
    first = dates[0]
    destination = " ".join(tokens[:first]).strip(" ,")
    if not destination:
        raise PerDiemError(_with_usage(say, say(N_("Say where you travelled before the dates."))))
    start = _parse_day(tokens[first].rstrip(","), say)
    position = first + 1
    end = start
    if position < len(tokens) and _DATE.match(tokens[position].rstrip(",")):
        end = _parse_day(tokens[position].rstrip(","), say)
        position += 1
    meal_words: list[str] = []
    hours: Decimal | None = None
    mode: str | None = None
    for token in tokens[position:]:
        low = token.lower()
        if low.startswith(("meals:", "meals=")) or low == "meals":
            mode = "meals"
            token = token[6:]
        elif low.startswith(("hours:", "hours=")) or low == "hours":
            mode = "hours"
            token = token[6:]
        if not token:
            continue
        if mode == "meals":
            meal_words.append(token.rstrip(","))
        elif mode == "hours" and hours is None:
            try:
                hours = Decimal(token.replace(",", ".").removesuffix("h"))
            except InvalidOperation:
                raise PerDiemError(
                    say(N_("“{token}” is not a number of hours (e.g. `hours: 10`).")).format(token=token)
                ) from None
            if not hours.is_finite() or hours < 0 or hours > 24:
                raise PerDiemError(
                    say(N_("{token} is not a number of hours in one day.")).format(token=token)
                )
        else:
            raise PerDiemError(
                _with_usage(say, say(N_("I did not understand “{token}”.")).format(token=token))
            )
    if end < start:
        raise PerDiemError(
            say(N_("The last day ({end}) is before the first ({start}).")).format(
                end=end.isoformat(), start=start.isoformat()
            )
        )
    if hours is not None and end != start:
        raise PerDiemError(
            say(N_("`hours:` is only for a trip within one day; a trip with nights away needs none."))
        )
    return Trip(
        destination=destination,
        start=start,
        end=end,
        meals=_parse_meals(meal_words, start, end, say),
        day_trip_hours=hours,
    )


def describe_tables(tables: Sequence[RateTable]) -> list[str]:
    """One line per table: name, currency, validity, number of places, source."""
    return [f"{t.name} ({t.currency}, {t.period}, {len(t.places)} places) — {t.source}" for t in tables]


def check_total(amount: Money, priced: Money) -> str | None:
    """Why a per diem claim's amount does not stand (more than the rates give), or None."""
    try:
        if amount > priced:
            return f"This per diem claim is {amount}, more than the {priced} the rates give for the trip."
    except MoneyError:
        return f"This per diem claim is in {amount.currency}; the rates give {priced}."
    return None
