"""Table-driven tests of the extraction rules: amounts, dates, currencies, totals, merchants."""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pytest

from ocr.engines import restore_spaces_by_ink
from ocr.extract import (
    extract,
    extract_currency,
    extract_date,
    extract_merchant,
    extract_total,
    merchant_key,
    normalise,
)
from ocr.fields import find_amounts, find_dates
from ocr.model import KnownMerchant, ReceiptHint


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("TOTAL 12.50", ["12.50"]),
        ("TOTAL RM1,234.50", ["1234.50"]),
        ("SUMME 1.234,50 EUR", ["1234.50"]),
        ("TOTAL 12,50", ["12.50"]),
        ("ROUNDING -0.02", ["-0.02"]),
        ("ROUNDING 0.02-", ["-0.02"]),
        ("2 X 3.50 7.00", ["3.50", "7.00"]),
        ("QTY 2", []),
        ("GST 6.00% 1.02", ["1.02"]),
        ("DATE 25.12.2018", []),
        ("TIME 13:58", []),
        ("TOTAL 9 .00", ["9.00"]),
        ("TOTAL 9.0O", ["9.00"]),  # a letter O read for a zero
        ("TOTAL 1S.50", ["15.50"]),
        ("TOTAL SALES 12.50", ["12.50"]),
    ],
)
def test_amounts(text: str, amounts: list[str]) -> None:
    assert [str(a.value) for a in find_amounts(text)] == amounts


def test_whole_amounts_for_currencies_without_decimals() -> None:
    assert [a.value for a in find_amounts("合計 ¥1,280", decimals=0)] == [Decimal(1280)]


@pytest.mark.parametrize(
    ("line", "hint", "expected"),
    [
        ("DATE: 25/12/2018", None, "2018-12-25"),
        ("25-12-18", None, "2018-12-25"),
        ("18-11-1813:58", None, "2018-11-18"),  # a time glued to a 2-digit year
        ("25/12/20188:13:39PM", None, "2018-12-25"),  # and to a 4-digit year
        ("2018-03-09 10:11", None, "2018-03-09"),
        ("05/03/2018", None, "2018-03-05"),  # day first by default
        ("05/03/2018", ReceiptHint(country="US"), "2018-05-03"),  # month first in the US
        ("05/03/2018", ReceiptHint(currency="USD"), "2018-05-03"),  # the currency's country
        ("12/25/2018", None, "2018-12-25"),  # impossible as day-first
        ("25 DEC 2018", None, "2018-12-25"),
        ("DEC 25, 2018", None, "2018-12-25"),
        ("12 MAC 2018", None, "2018-03-12"),  # Malay month name
        ("12 MARS 2024", None, "2024-03-12"),
        ("2018年12月25日", None, "2018-12-25"),
        ("TARIKH 3.1.2019", None, "2019-01-03"),
        ("ORDER NO. 100021911/03/201806:20PM", None, "2018-03-11"),  # glued to a number on the left
        ("REG #19- 18/01/2018 10:27:03", None, "2018-01-18"),
    ],
)
def test_dates(line: str, hint: ReceiptHint | None, expected: str) -> None:
    found, _ = extract_date([normalise(line)], hint)
    assert found == datetime.date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("lines", "hint", "expected"),
    [
        # the currency printed on the receipt says where it was printed, over the employee's
        (["DINER", "DATE 05/03/2018", "TOTAL USD 12.00"], ReceiptHint(currency="EUR"), "2018-05-03"),
        (["CAFE", "DATE 05/03/2018", "TOTAL EUR 12,00"], ReceiptHint(country="US"), "2018-03-05"),
        (["CAFE", "DATE 05/03/2018", "TOTAL 12.00"], ReceiptHint(country="US"), "2018-05-03"),
        (["CAFE", "DATE 05/03/2018", "TOTAL 12.00"], ReceiptHint(currency="EUR"), "2018-03-05"),
    ],
)
def test_printed_currency_before_the_hint_decides_the_order(
    lines: list[str], hint: ReceiptHint, expected: str
) -> None:
    assert extract(lines, hint).date == datetime.date.fromisoformat(expected)


def test_unambiguous_date_on_the_receipt_decides_the_order() -> None:
    lines = ["PRINTED 04/13/2019", "DATE 04/05/2019"]
    found, _ = extract_date(lines)
    assert found == datetime.date(2019, 4, 5)


def test_expiry_dates_lose_to_the_receipt_date() -> None:
    lines = ["CARD EXP 01/01/2030", "DATE 14/02/2019"]
    assert extract_date(lines)[0] == datetime.date(2019, 2, 14)


def test_no_date() -> None:
    assert extract_date(["NO DATES HERE", "TOTAL 9.00"]) == (None, 0.0)


def test_numbers_that_are_not_dates() -> None:
    assert find_dates("99/99/9999") == []
    assert find_dates("1,234.56") == []
    assert find_dates("TOTAL 12,34.2020") == []


@pytest.mark.parametrize(
    ("lines", "hint", "currency"),
    [
        (["TOTAL RM 9.00"], None, "MYR"),
        (["TOTAL (RM) 9.00"], None, "MYR"),
        (["TOTAL S$12.00"], None, "SGD"),
        (["AMOUNT DUE $38.68"], None, "USD"),
        (["AMOUNT DUE $38.68"], ReceiptHint(currency="AUD"), "AUD"),
        (["AMOUNT DUE $38.68"], ReceiptHint(country="CA"), "CAD"),
        (["TOTAL €6.30"], None, "EUR"),
        (["TOTAL EUR 6,30"], None, "EUR"),
        (["TOTAL £21.50"], None, "GBP"),
        (["合計 ¥1,280"], None, "JPY"),
        (["合计 ¥128.00"], None, "CNY"),
        (["ABC TRADING SDN BHD", "TOTAL 9.00"], None, "MYR"),  # no mark: the country's currency
        (["TOTAL 9.00"], ReceiptHint(currency="EUR"), "EUR"),  # nothing printed: the hint
        (["TOTAL 9.00"], None, None),
        # no currency printed: the address or the tax's name says where the receipt is from
        (["PITA PITA", "211 E ROOSEVELT RD", "LOMBARD,IL 60148", "TOTAL 9.00"], None, "USD"),
        (["CITYTASTE", "SILVERSPRING,MD20910", "TOTAL 9.00"], None, "USD"),
        (["HAMMOCKS", "SANDY SPRINGS,GEORGIA", "TOTAL 9.00"], None, "USD"),
        (["DINER", "(817) 543-0544", "TOTAL 9.00"], None, "USD"),
        (["ROLLER", "SENEFELDER STRASSE 2", "SUMME 9,00"], None, "EUR"),
        (["ROLLER", "UST-ID-NR DE124981337", "SUMME 9,00"], None, "EUR"),
        (["RISTORANTE BELLAGIO", "COPERTI 4", "TOTALE 9,00"], None, "EUR"),
        (["LA SOURCE", "TOTAL TTC 17,00"], None, "EUR"),
        (["SHOP", "GST/HST 123456789", "TOTAL 9.00"], None, "CAD"),
        # a lone "$" on a German receipt is a misread S; Malaysian tills print "$" for ringgit
        (["ROLLER", "SENEFELDER STRASSE 2", "UST-ID-NR DE124981337", "SUMME $9,00"], None, "EUR"),
        (["KEDAI SDN BHD", "JALAN PERMAS 4", "TOTAL $8.20", "CASH $10.00"], None, "MYR"),
        # a room is not ringgit, and SR before an amount is Malaysia's standard-rated tax code
        (["AM DINING RM", "TOTAL 9.00"], None, None),
        (["WINGS", "THANKS CALL AGAIN 516-483-0936", "TOTAL 9.00"], None, "USD"),  # a US phone number
        (["NEWARK BUFFET", "35201NEWARKB1VD.#W NEWARK.CA94560", "TOTAL 9.00"], None, "USD"),
        (["GRAND LUXCAFE", "TOTAL 69.25", "SUGGESTED GRATUITY:"], None, "USD"),  # tipping is American
        (["KEDAI SDN BHD", "TOTAL $8.20"], None, "MYR"),  # one Malaysian cue, no dollar country
        (["ABC TRADING SDN BHD", "SR 1.00 0.06"], None, "MYR"),
        # a currency code counts next to an amount or in brackets; alone it is often a word
        (["KEDAI SDN BHD", "NO 5, JALAN 13/2, SEK 13", "TOTAL 9.00"], None, "MYR"),  # seksyen
        (["KEDAI", "NO 5 SEK 13", "TOTAL 9.00"], None, "SEK"),  # nothing else says anything
        (["KEDAI", "NO 5 SEK 13", "TOTAL RM 9.00"], None, "MYR"),
        (["TOTAL SEK 120,00"], None, "SEK"),
        (["BELOPP (SEK)", "120,00"], None, "SEK"),
        (["TOTAL EURO *17 .00"], None, "EUR"),
        (["120,00 EUR"], None, "EUR"),
        (["DINER", "LOMBARD,IL 60148", "VISA CAD:***********2931", "TOTAL 9.00"], None, "USD"),
        (["GSTSUMMARY AMOUNT$S) TAX)", "TOTAL 9.00", "TAMAN SEJATI"], None, "MYR"),  # no NT$ inside a word
        # glued place names, and a tax's name with its rate
        (["FUYI MINIMARKET", "KUALASELANGOR.O", "TOTAL 9.00"], None, "MYR"),
        (["BISTRO", "GST 6% 19.47", "TOTAL 9.00"], None, "MYR"),
        (["CAFE", "GST @ 7% 1.20", "TOTAL 9.00"], None, "SGD"),
    ],
)
def test_currency(lines: list[str], hint: ReceiptHint | None, currency: str | None) -> None:
    assert extract_currency([normalise(x) for x in lines], hint)[0] == currency


@pytest.mark.parametrize(
    ("lines", "total"),
    [
        (["SUBTOTAL 17.00", "GST 1.02", "TOTAL 18.02", "CASH 20.00", "CHANGE 1.98"], "18.02"),
        (["TOTAL QTY: 3", "TOTAL 9.00", "CASH 50.00", "CHANGE 41.00"], "9.00"),
        (["TOTAL", "9.00", "CASH", "10.00"], "9.00"),  # the amount on the line below
        (["TOTAL 18.02", "ROUNDING ADJ -0.02", "ROUNDED TOTAL 18.00"], "18.00"),
        (["GRAND TOTAL 45.60", "TOTAL SAVINGS 3.00"], "45.60"),
        (["SUB TOTAL 100.00", "SERVICE CHARGE 10% 10.00", "GST 6% 6.60", "NETT TOTAL 116.60"], "116.60"),
        (["JUMLAH RM 23.40"], "23.40"),
        (["合计 56.00"], "56.00"),
        (["TOTAL EXCL GST 10.00", "TOTAL INCL GST 10.60"], "10.60"),
        (["ITEM A 3.00", "ITEM B 4.00", "CASH 10.00", "CHANGE 3.00"], "7.00"),  # no total label
        # a misread total loses to what the other lines add up to
        (
            [
                "SUB TOTAL 106.10",
                "TOTAL GST 6.37",
                "ROUNDING -0.02",
                "TOTAL 112.46",
                "CASH 112.45",
                "CHANGE 0.00",
            ],
            "112.45",
        ),
        (["TOTAI SALES (LNCLUSIVE OF GST) 29.68", "CASH 50.00"], "29.68"),
        # "TOTALTAX" (a lost space) is the tax; subtotal + tax + rounding picks the total over a
        # GST summary's "TOTAL" line and a cash amount misread through a stamp
        (
            [
                "SUB-TOTAL(EX) 26.00",
                "TOTALTAX 1.56",
                "ROUNDING -0.01",
                "TOTAL AI 27.55",
                "CASH 127.55",
                "CHANGE 0.00",
                "GST SUMMARY",
                "SR 6.00 26.00 1.56",
                "TOTAL: 26.00 1.56",
            ],
            "27.55",
        ),
        (["TOTAL SALES (INCLUSIVE GST) 31.80", "CASH 50.00", "CHANGE 18.20"], "31.80"),
        # the last of two totals is the one after rounding, even with its L read as a 1
        (
            ["SUBTOTAL 87.80", "10% SRV CHG 8.78", "GST @6% 5.81", "TOTAL: 102.39", "0.01", "TOTA1 102.40"],
            "102.40",
        ),
        # cash less change settles it; a labelled amount one cent off is a misreading
        (
            [
                "TOTAL QTY: 25 32.69",
                "TOTAL SALES (EXCLUDING GST) : 31.03",
                "TOTAL GST : 1.65",
                "ROUNDING : 0.02",
                "YATAL SALES (LNCLUSIVE OF GST) : 32.70",
                "CASH : 40.00",
                "CHANGE : 7.30",
            ],
            "32.70",
        ),
    ],
)
def test_totals(lines: list[str], total: str) -> None:
    found = extract_total([normalise(x) for x in lines])
    assert found.total == Decimal(total)
    assert 0 < found.confidence <= 1


def test_subtotal_and_tax_are_reported() -> None:
    found = extract_total(["SUBTOTAL 17.00", "GST 6% 1.02", "TOTAL 18.02"])
    assert (found.subtotal, found.tax, found.total) == (Decimal("17.00"), Decimal("1.02"), Decimal("18.02"))


def test_service_charge_is_not_change_and_a_zero_rate_line_is_not_the_tax() -> None:
    lines = ["SUBTOTAL 87.80", "10% SRV CHG 8.78", "GST @6% 5.81", "TOTAL 102.39", "Z=GST @0% 0.00 0.00"]
    found = extract_total([normalise(x) for x in lines])
    assert (found.tax, found.total) == (Decimal("5.81"), Decimal("102.39"))


def test_no_amount_means_no_total() -> None:
    found = extract_total(["HELLO", "WORLD"])
    assert found.total is None and found.confidence == 0


@pytest.mark.parametrize(
    ("lines", "merchant"),
    [
        (
            ["KEDAI BUKU SINAR JAYA SDN BHD", "(654321-K)", "NO 12, JALAN MERANTI 3"],
            "KEDAI BUKU SINAR JAYA SDN BHD",
        ),
        (["TAX INVOICE", "GLOBAL MART SDN BHD (123456-X)", "LOT 5 JALAN SS2/24"], "GLOBAL MART SDN BHD"),
        (["WELCOME", "BLUE HARBOR DINER", "1200 MARKET STREET", "TEL (415) 555-0199"], "BLUE HARBOR DINER"),
        (["GST ID: 000123456789", "NO. 8, JALAN 1/2", "HAPPY CORNER ENTERPRISE"], "HAPPY CORNER ENTERPRISE"),
        (["CO. REG NO: 12345-A", "TEL: 03-1234 5678"], None),
        (["POPULAR BOOK", "CO. (M) SDN BHD", "(CO. NO. 113825-W)"], "POPULAR BOOK CO. (M) SDN BHD"),
        (["HOME MASTER HARDWARE &", "ELECTRICAL", "NO 1, JALAN 2"], "HOME MASTER HARDWARE & ELECTRICAL"),
        (["BANH MI CAFE", "DIMILIKI: BANH MI CAFE SDN BHD 1110644-W"], "BANH MI CAFE SDN BHD"),
        (["SUN VICTORY SON BHD", "NO 3, JALAN 4"], "SUN VICTORY SDN BHD"),  # a misread legal form
        (["BOOK TA .K (TAMAN DAYA) SDN BHD", "NO 53, JALAN SAGU 18"], "BOOK TA .K (TAMAN DAYA) SDN BHD"),
        # short numbers belong to the name; registration numbers do not
        (["TRIPLE SIXPOINT ENTERPRISE 666", "NO 14 JALAN PERMAS 4/3"], "TRIPLE SIXPOINT ENTERPRISE 666"),
        (["99 SPEED MART S/B 519537-X", "LOT P.T. 2811"], "99 SPEED MART S/B"),
        (["TEO HENG STATIONERY 001451637", "NO.53, JALAN BESAR"], "TEO HENG STATIONERY"),
        # a second line ending in an eating place's noun carries the name on
        (
            ["RESTAURANT JIAWEI", "JIAWEI HOUSE", "002693074-K", "13, JLN TASIK UTAMA 8"],
            "RESTAURANT JIAWEI JIAWEI HOUSE",
        ),
        (["BLUE HARBOR", "UNIT 5 HARBOR HOUSE", "TEL 555 0199"], "BLUE HARBOR"),  # an address line
    ],
)
def test_merchant_skips_header_noise(lines: list[str], merchant: str | None) -> None:
    assert extract_merchant([normalise(x) for x in lines])[0] == merchant


def test_a_line_in_small_letters_is_not_the_shop_name() -> None:
    lines = ["tan woon yann", "INDAH GIFT& HOME DECO", "27,JALAN DEDAP 13", "19/10/2018 20:49", "TOTAL 60.30"]
    assert extract(lines).merchant == "INDAH GIFT& HOME DECO"
    assert extract(["coffee corner", "12 main st", "TOTAL 4.50"]).merchant == "COFFEE CORNER"  # nothing else


def test_known_merchant_from_similar_header() -> None:
    known = [
        KnownMerchant(
            "KEDAl BUKU SINAR JAYA SDN BHD\n(654321-K)\nNO 12, JALAN MERANTI 3", "Sinar Jaya Books"
        ),
        KnownMerchant("BLUE HARBOR DINER\n1200 MARKET STREET", "Blue Harbor Diner"),
    ]
    lines = ["KEDAI BUKU SINAR JAYA SDN BHD", "(654321-K)", "NO 12, JALAN MERANTI 3", "DATE 01/02/2019"]
    name, confidence, header = extract_merchant(lines, known)
    assert name == "Sinar Jaya Books" and confidence >= 0.9
    assert header.startswith("KEDAI BUKU")
    other = ["TOTALLY DIFFERENT SHOP", "SOMEWHERE ELSE", "DATE 01/02/2019"]
    assert extract_merchant(other, known)[0] == "TOTALLY DIFFERENT SHOP"


def test_merchant_key_collapses_punctuation_and_spacing() -> None:
    assert merchant_key("Book Ta .K (Taman Daya) Sdn. Bhd.") == merchant_key("BOOK TA.K(TAMAN DAYA) SDN BHD")


def test_restore_spaces_from_blank_gaps() -> None:
    # "SDN" and "BHD" drawn as ink blocks 8 px wide, 2 px apart inside words, 12 px between words
    strip = np.full((20, 80), 255, dtype=np.uint8)
    lefts = [0, 10, 20, 40, 50, 60]
    for x in lefts:
        strip[4:16, x : x + 8] = 0
    boxes = [[(float(x), 0.0), (x + 8.0, 0.0), (x + 8.0, 20.0), (float(x), 20.0)] for x in lefts]
    assert restore_spaces_by_ink(list("SDNBHD"), boxes, strip, 0) == "SDN BHD"
    # digits next to digits stay together however far apart: amounts are never split
    assert restore_spaces_by_ink(list("123456"), boxes, strip, 0) == "123456"


def test_extract_whole_receipt_with_hint() -> None:
    found = extract(
        ["CORNER CAFE", "12 MAIN STREET", "04/05/2024", "LATTE $4.50", "TOTAL $4.50"],
        ReceiptHint(country="US"),
    )
    assert (found.merchant, found.date, found.total, found.currency) == (
        "CORNER CAFE",
        datetime.date(2024, 4, 5),
        Decimal("4.50"),
        "USD",
    )
    assert set(found.confidence) == {"merchant", "date", "total", "currency"}


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("03.04. 2009:5300005450050287347", ["2020-04-03"]),  # "20" + "09:53": the year ran into the time
        ("15. 04 . 2016 : 1586651110176", ["2020-04-15"]),
        ("25.04.2020 09:48", ["2020-04-25"]),  # a real year stays
        ("SARAH H SVRCK: 212:1111/18/17", ["2017-11-18"]),  # right after a clock time (12:11)
        ("STEPHEN R SVRCK: 416:4304/25/15", ["2015-04-25"]),
        ("INVOICE 12345611/03/2018", []),  # glued to a number, with no time: not a date
        ("DATUM 06,05.2020", ["2020-05-06"]),  # a dot read as a comma
        ("DATE 05.06,2020", ["2020-06-05"]),
        ("SUMME 12,50.2020", []),  # no such date (month 50)
    ],
)
def test_dates_run_into_times_and_numbers(text: str, dates: list[str]) -> None:
    found = [d.isoformat() for match in find_dates(text) for _, d in match.readings]
    assert [d for d in dates if d in found] == dates and (found or not dates)
