"""The reader's tax rate and item lines: kept only when printed plainly and when they add up."""

from __future__ import annotations

from decimal import Decimal

from ocr.extract import extract, extract_items, extract_tax_rate

D = Decimal

MALAYSIAN = [
    "KEDAI MAKAN ABC SDN BHD",
    "NO 12 JALAN 3",
    "TEL 03-1234 5678",
    "DATE 12/05/2018",
    "NASI LEMAK 2 x 3.50   7.00",
    "TEH TARIK   2.50",
    "ROTI CANAI   1.50",
    "SUBTOTAL   11.00",
    "GST 6%   0.66",
    "TOTAL   11.66",
    "CASH 20.00",
    "CHANGE 8.34",
]


def test_a_receipt_gives_its_rate_and_items() -> None:
    found = extract(MALAYSIAN)
    assert (found.subtotal, found.tax, found.total, found.tax_rate) == (
        D("11.00"),
        D("0.66"),
        D("11.66"),
        D(6),
    )
    assert found.items == (
        ("NASI LEMAK 2 x 3.50", D("7.00")),
        ("TEH TARIK", D("2.50")),
        ("ROTI CANAI", D("1.50")),
    )


def test_printed_rates() -> None:
    assert extract_tax_rate(["MWST 19 %   15,97"]) == D(19)
    assert extract_tax_rate(["VAT @20.0%  3.00"]) == D(20)
    assert extract_tax_rate(["TOTAL 12.00"]) is None
    # two rates on one German receipt: none is the receipt's rate
    assert extract_tax_rate(["MWST 7% 0.70", "MWST 19% 3.80"]) is None
    assert extract_tax_rate(["SR 6% GST 0.66", "ZR 0% GST 0.00"]) == D(6)  # a zero rate does not count
    assert extract_tax_rate(["INCL. GST 6% 0.66"]) is None  # a line saying the total includes it


def test_items_are_kept_only_when_they_add_up() -> None:
    lines = ["CAFE", "TEL 555 1234.50", "Coffee 3.50", "Cake 4.00", "SUBTOTAL 7.50", "TAX 0.60", "TOTAL 8.10"]
    assert extract_items(lines, 2, D("7.50"), D("8.10")) == (("Coffee", D("3.50")), ("Cake", D("4.00")))
    assert extract_items(lines, 2, D("9.99"), D("8.10")) == ()  # they do not add up: nothing kept
    no_subtotal = ["Coffee 3.50", "Cake 4.00", "TOTAL 7.50"]
    assert extract_items(no_subtotal, 2, None, D("7.50")) == (("Coffee", D("3.50")), ("Cake", D("4.00")))
    assert extract_items(["Ramen 980", "Gyoza 450", "合計 1430"], 0, None, D(1430)) == (
        ("Ramen", D(980)),
        ("Gyoza", D(450)),
    )
