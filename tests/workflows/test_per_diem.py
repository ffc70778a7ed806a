"""Per diem priced from the shipped tables equals the published figures and examples.

Sources (cited in each table file under workflows/data/per_diem/):

* Germany, § 9 Abs. 4a EStG: 28 EUR for 24 hours away, 14 EUR for the arrival and departure day
  and for a day trip of more than 8 hours (Satz 3); provided meals take 20 % (breakfast) and 40 %
  (lunch, dinner) of the 24-hour amount off the day (Satz 8): 5.60 / 11.20 / 11.20 EUR.
* BMF-Schreiben of 2.12.2024 (rates from 1.1.2025) and of 5.12.2025 (rates from 1.1.2026): the
  example of both letters: an arrival day in Copenhagen (Denmark 50 EUR) with breakfast provided
  is cut by 15 EUR (20 % of Denmark's 75 EUR) to 35 EUR.
* GSA, M&IE breakdowns (gsa.gov/mie), FY 2025 and FY 2026: tiers 68/74/80/86/92 USD; the
  "first and last day of travel" column is 75 %: 51.00, 55.50, 60.00, 64.50, 69.00 USD.
* FTR § 301-11.18 as GSA's OGP reads it: on a 75 % day a provided meal is deducted in full, and
  the deductions never leave less than the incidentals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from workflows.money import Money
from workflows.per_diem import (
    DayKind,
    Meal,
    PerDiemError,
    RateTable,
    Trip,
    admin_tables,
    parse_admin_csv,
    parse_command,
    price,
    shipped_tables,
)

D = Decimal
TABLES = shipped_tables()
DE = [t for t in TABLES if t.table == "de-bmf"]
US = [t for t in TABLES if t.table == "us-gsa"]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def total(trip: Trip, tables: list[RateTable], admin: list[RateTable] | None = None) -> Money:
    return price(trip, shipped=tables, admin=admin or []).total


def test_every_shipped_table_cites_its_source_and_period() -> None:
    assert {t.table for t in TABLES} == {"de-bmf", "us-gsa"}
    for table in TABLES:
        assert table.source and table.valid_from and table.valid_to, table.name
        assert table.valid_from < table.valid_to
    assert [(t.valid_from, t.valid_to) for t in DE] == [
        (day("2025-01-01"), day("2025-12-31")),
        (day("2026-01-01"), day("2026-12-31")),
    ]
    assert [(t.valid_from, t.valid_to) for t in US] == [
        (day("2024-10-01"), day("2025-09-30")),
        (day("2025-10-01"), day("2026-09-30")),
    ]


@pytest.mark.parametrize("table", DE, ids=lambda t: t.name)
def test_bmf_domestic_amounts_and_meal_deductions(table: RateTable) -> None:
    germany = table.find("Deutschland")
    assert germany is not None
    assert (germany.full_day, germany.partial_day) == (D("28.00"), D("14.00"))
    assert [germany.meals[m] for m in (Meal.BREAKFAST, Meal.LUNCH, Meal.DINNER)] == [
        D("5.60"),
        D("11.20"),
        D("11.20"),
    ]
    for place in table.places:  # 20 % / 40 % / 40 % of the 24-hour amount, everywhere
        assert place.meals[Meal.BREAKFAST] == (place.full_day * D("0.2")).quantize(D("0.01"))
        assert (
            place.meals[Meal.LUNCH]
            == place.meals[Meal.DINNER]
            == (place.full_day * D("0.4")).quantize(D("0.01"))
        )
        assert place.floor == 0


def test_bmf_letters_example_copenhagen_arrival_with_breakfast() -> None:
    """Both BMF letters: arrival day in Copenhagen 50 EUR, breakfast cut 15 EUR → 35 EUR."""
    for year in ("2025", "2026"):
        trip = Trip(
            "Kopenhagen",
            day(f"{year}-03-03"),
            day(f"{year}-03-05"),
            meals={day(f"{year}-03-03"): frozenset({Meal.BREAKFAST})},
        )
        quote = price(trip, shipped=DE)
        first = quote.days[0]
        assert (first.kind, first.base, first.deductions, first.amount) == (
            DayKind.FIRST,
            D("50.00"),
            ((Meal.BREAKFAST, D("15.00")),),
            D("35.00"),
        )
        assert quote.place == "Denmark"
        assert quote.total == Money(D("35") + D("75") + D("50"), "EUR")


def test_bmf_domestic_trip_with_hotel_breakfast() -> None:
    """Monday to Thursday in Germany, breakfast with the hotel on Tuesday, Wednesday and Thursday:
    14 + (28 − 5.60) + (28 − 5.60) + (14 − 5.60) = 67.20 EUR."""
    breakfasts = {day(d): frozenset({Meal.BREAKFAST}) for d in ("2026-03-03", "2026-03-04", "2026-03-05")}
    quote = price(Trip("Germany", day("2026-03-02"), day("2026-03-05"), meals=breakfasts), shipped=DE)
    assert [d.amount for d in quote.days] == [D("14.00"), D("22.40"), D("22.40"), D("8.40")]
    assert quote.total == Money(D("67.20"), "EUR")


def test_bmf_day_trips_and_deductions_never_below_zero() -> None:
    lunch = {day("2026-05-06"): frozenset({Meal.LUNCH})}
    more_than_8 = Trip("DE", day("2026-05-06"), day("2026-05-06"), meals=lunch, day_trip_hours=D("9"))
    assert total(more_than_8, DE) == Money(D("2.80"), "EUR")  # 14 − 11.20
    exactly_8 = Trip("DE", day("2026-05-06"), day("2026-05-06"), day_trip_hours=D("8"))
    assert price(exactly_8, shipped=DE).days[0].kind is DayKind.SHORT
    assert total(exactly_8, DE) == Money(D("0"), "EUR")
    all_meals = frozenset(Meal)
    trip = Trip(
        "Germany",
        day("2026-05-04"),
        day("2026-05-06"),
        meals={day("2026-05-05"): all_meals, day("2026-05-06"): frozenset({Meal.LUNCH, Meal.DINNER})},
    )
    assert [d.amount for d in price(trip, shipped=DE).days] == [D("14.00"), D("0.00"), D("0.00")]


def test_bmf_each_day_from_the_year_it_falls_in() -> None:
    """Netherlands: 47 EUR in 2025, 58 EUR in 2026 (full day); a trip over New Year takes both."""
    quote = price(Trip("Amsterdam, Netherlands", day("2025-12-30"), day("2026-01-02")), shipped=DE)
    assert [(d.kind, d.base) for d in quote.days] == [
        (DayKind.FIRST, D("32.00")),
        (DayKind.FULL, D("47.00")),
        (DayKind.FULL, D("58.00")),
        (DayKind.LAST, D("39.00")),
    ]
    assert len(quote.sources) == 2


def test_city_before_country_and_unknown_places() -> None:
    paris = price(Trip("Paris, France", day("2026-02-02"), day("2026-02-03")), shipped=DE)
    lyon = price(Trip("Lyon, France", day("2026-02-02"), day("2026-02-03")), shipped=DE)
    assert (paris.place, paris.total) == ("Paris", Money(D("78"), "EUR"))  # 39 + 39
    assert (lyon.place, lyon.total) == ("France", Money(D("72"), "EUR"))  # 36 + 36
    with pytest.raises(PerDiemError, match="“Atlantis” is not in the per diem rates"):
        price(Trip("Atlantis", day("2026-02-02"), day("2026-02-03")), shipped=DE)
    with pytest.raises(PerDiemError, match="No per diem rates cover 2027-01-04"):
        price(Trip("Germany", day("2027-01-04"), day("2027-01-05")), shipped=DE)


@pytest.mark.parametrize("table", US, ids=lambda t: t.name)
def test_gsa_first_and_last_day_column(table: RateTable) -> None:
    """GSA's M&IE breakdown: first and last day of travel = 75 % of each tier."""
    first_last = {p.full_day: p.partial_day for p in table.places}
    assert first_last == {
        D("68"): D("51.00"),
        D("74"): D("55.50"),
        D("80"): D("60.00"),
        D("86"): D("64.50"),
        D("92"): D("69.00"),
    }
    standard = table.find("CONUS")
    assert standard is not None
    assert dict(standard.meals) == {Meal.BREAKFAST: D("16"), Meal.LUNCH: D("19"), Meal.DINNER: D("28")}
    assert standard.floor == D("5")
    nyc = table.find("New York City")
    assert nyc is not None
    assert (nyc.full_day, dict(nyc.meals), nyc.floor) == (
        D("92"),
        {Meal.BREAKFAST: D("23"), Meal.LUNCH: D("26"), Meal.DINNER: D("38")},
        D("5"),
    )


def test_gsa_trip_with_provided_meals() -> None:
    """New York City, 3 days: 69.00 + 92.00 + 69.00 = 230.00 USD; a conference lunch on the middle
    day takes 26 USD; a breakfast on the (75 %) last day takes the full 23 USD."""
    plain = price(Trip("New York City", day("2026-04-06"), day("2026-04-08")), shipped=US)
    assert plain.total == Money(D("230.00"), "USD")
    meals = {day("2026-04-07"): frozenset({Meal.LUNCH}), day("2026-04-08"): frozenset({Meal.BREAKFAST})}
    quote = price(Trip("New York City", day("2026-04-06"), day("2026-04-08"), meals=meals), shipped=US)
    assert [d.amount for d in quote.days] == [D("69.00"), D("66.00"), D("46.00")]
    assert quote.total == Money(D("181.00"), "USD")


def test_gsa_deductions_leave_the_incidentals_and_day_trips_need_12_hours() -> None:
    all_meals = {day("2026-04-06"): frozenset(Meal)}
    quote = price(Trip("CONUS", day("2026-04-06"), day("2026-04-07"), meals=all_meals), shipped=US)
    assert quote.days[0].amount == D("5.00")  # 51.00 − 63.00, never below the 5 USD incidentals
    short = Trip("Austin, TX", day("2026-04-06"), day("2026-04-06"), day_trip_hours=D("12"))
    long = Trip("Austin, TX", day("2026-04-06"), day("2026-04-06"), day_trip_hours=D("13"))
    assert total(short, US) == Money(D("0"), "USD")
    assert total(long, US) == Money(D("60.00"), "USD")  # 75 % of 80
    with pytest.raises(PerDiemError, match="GSA per diem"):  # FY 2027 is not shipped: said so
        price(Trip("CONUS", day("2026-10-05"), day("2026-10-06")), shipped=US)


ADMIN_CSV = """destination,currency,full_day,partial_day,breakfast,lunch,dinner,incidentals,aliases
Kuala Lumpur,MYR,150,100,20,40,40,10,KL;Malaysia
Paris,EUR,70,50,10,20,20,,
"""


def test_admin_table_wins_and_prices_with_its_own_amounts() -> None:
    admin = admin_tables(parse_admin_csv(ADMIN_CSV))
    meals = {day("2026-03-03"): frozenset(Meal)}
    quote = price(Trip("KL", day("2026-03-02"), day("2026-03-04"), meals=meals), shipped=DE, admin=admin)
    assert [d.amount for d in quote.days] == [D("100.00"), D("50.00"), D("100.00")]
    assert quote.total == Money(D("250.00"), "MYR")
    paris = price(Trip("Paris, France", day("2026-02-02"), day("2026-02-03")), shipped=DE, admin=admin)
    assert paris.total == Money(D("100.00"), "EUR")  # the company's 50 + 50, not BMF's 39 + 39
    germany = price(Trip("Germany", day("2026-02-02"), day("2026-02-03")), shipped=DE, admin=admin)
    assert germany.total == Money(D("28.00"), "EUR")  # not in the company's table: the shipped one


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destination\nParis\n", "the header needs the columns"),
        (
            "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,XXX,70,50,10,20,20\n",
            "line 2: “XXX” is not an ISO 4217",
        ),
        (
            "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,EUR,70,90,10,20,20\n",
            "partial_day is more than full_day",
        ),
        (
            "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,EUR,70,50,ten,20,20\n",
            "breakfast: “ten” is not an amount",
        ),
        (
            "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,EUR,70,50,1,2,2\nparis,EUR,1,1,0,0,0\n",
            "line 3: “paris” is already a destination on line 2",
        ),
    ],
)
def test_admin_csv_problems_are_reported_by_line(text: str, message: str) -> None:
    with pytest.raises(PerDiemError, match=message):
        parse_admin_csv(text, name="rates.csv")


def test_command_grammar() -> None:
    trip = parse_command(
        "perdiem Paris, France 2026-03-02 2026-03-04 meals: 2026-03-03=breakfast 2026-03-04=b+lunch"
    )
    assert (trip.destination, trip.start, trip.end) == ("Paris, France", day("2026-03-02"), day("2026-03-04"))
    assert trip.meals == {
        day("2026-03-03"): frozenset({Meal.BREAKFAST}),
        day("2026-03-04"): frozenset({Meal.BREAKFAST, Meal.LUNCH}),
    }
    every = parse_command("perdiem New York City 2026-04-06 2026-04-08 meals: all=breakfast")
    assert set(every.meals) == {day("2026-04-06"), day("2026-04-07"), day("2026-04-08")}
    one = parse_command("PerDiem Germany 2026-05-06 hours: 9.5")
    assert (one.start, one.end, one.day_trip_hours) == (day("2026-05-06"), day("2026-05-06"), D("9.5"))
    for bad, message in [
        ("perdiem", "Claim per diem with"),
        ("perdiem 2026-03-02 2026-03-04", "Say where you travelled"),
        ("perdiem Paris 2026-02-30", "not a day of the calendar"),
        ("perdiem Paris 2026-03-04 2026-03-02", "before the first"),
        ("perdiem Paris 2026-03-02 2026-03-04 meals: 2026-03-03=snack", "“snack” is not a meal"),
        ("perdiem Paris 2026-03-02 2026-03-04 meals: breakfast", "<day>=<meals>"),
        ("perdiem Paris 2026-03-02 2026-03-04 hours: 10", "only for a trip within one day"),
        ("perdiem Paris 2026-03-02 please", "I did not understand “please”"),
    ]:
        with pytest.raises(PerDiemError, match=message):
            parse_command(bad)
    with pytest.raises(PerDiemError, match="say how many hours"):
        price(parse_command("perdiem Germany 2026-05-06"), shipped=DE)
    with pytest.raises(PerDiemError, match="not a day of the trip"):
        price(parse_command("perdiem Germany 2026-05-06 2026-05-07 meals: 2026-05-09=lunch"), shipped=DE)
