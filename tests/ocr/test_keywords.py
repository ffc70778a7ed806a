"""The receipt vocabulary: each class's words in each language are found where receipts print them."""

from __future__ import annotations

import pytest

from ocr import keywords

# One printed line per language and class, as receipts of that country print it (OCR's lost
# accents and spaces included where they are common).
PRINTED: list[tuple[str, str, str]] = [
    ("en", "total", "GRAND TOTAL 12.50"),
    ("en", "total", "AMOUNT DUE: 8.00"),
    ("de", "total", "ZU ZAHLEN EURO 24,23"),
    ("de", "total", "SUMME EUR 5,47"),
    ("de", "total", "Gesamtbetrag 19,99"),
    ("fr", "total", "TOTAL TTC 17,00"),
    ("fr", "total", "Net à payer 23,10"),
    ("es", "total", "IMPORTE 14,20"),
    ("es", "total", "TOTAL A PAGAR 9,95"),
    ("it", "total", "TOTALE COMPLESSIVO 31,00"),
    ("nl", "total", "TOTAAL 6,45"),
    ("nl", "total", "Te betalen 6,45"),
    ("pt", "total", "TOTAL A PAGAR 12,00"),
    ("ms", "total", "JUMLAH BESAR 45.60"),
    ("en", "subtotal", "Sub Total: 63.75"),
    ("de", "subtotal", "Zwischensumme 10,00"),
    ("fr", "subtotal", "SOUS-TOTAL 10,00"),
    ("es", "subtotal", "BASE IMPONIBLE 8,26"),
    ("it", "subtotal", "IMPONIBILE 8,20"),
    ("nl", "subtotal", "SUBTOTAAL 5,00"),
    ("en", "tax", "Sales Tax 1.20"),
    ("de", "tax", "MwSt 19% 0,91"),
    ("fr", "tax", "TVA 10% 1,55"),
    ("es", "tax", "IVA 21% 1,74"),
    ("nl", "tax", "BTW 9% 0,53"),
    ("ms", "tax", "CUKAI 0.60"),
    ("en", "tender", "VISA 69.25"),
    ("de", "tender", "BARGELD 40,00"),
    ("de", "tender", "EC-Karte 12,00"),
    ("fr", "tender", "ESPECES 20,00"),
    ("es", "tender", "EFECTIVO 20,00"),
    ("it", "tender", "CONTANTI 50,00"),
    ("nl", "tender", "PIN 6,45"),
    ("pt", "tender", "DINHEIRO 20,00"),
    ("ms", "tender", "TUNAI 50.00"),
    ("en", "change", "CHANGE 1.50"),
    ("de", "change", "ZURÜCK 15,77"),
    ("de", "change", "ZURUCK 15,77"),  # the umlaut lost by OCR
    ("de", "change", "Rückgeld 0,53"),
    ("fr", "change", "RENDU 2,00"),
    ("es", "change", "CAMBIO 0,05"),
    ("it", "change", "RESTO 0,50"),
    ("nl", "change", "WISSELGELD 3,55"),
    ("pt", "change", "TROCO 8,00"),
    ("ms", "change", "BAKI 4.40"),
    ("en", "rounding", "Rounding Adj -0.02"),
    ("ms", "rounding", "PEMBUNDARAN 0.01"),
    ("en", "tip", "Suggested Gratuity:"),
    ("de", "tip", "Trinkgeld 2,00"),
    ("es", "tip", "PROPINA 1,50"),
    ("en", "quantity", "TOTAL QTY: 3"),
    ("de", "quantity", "ANZAHL ARTIKEL 19"),
    ("de", "date", "Datum: 06.05.20"),
    ("es", "date", "FECHA: 12/03/2024"),
    ("ms", "date", "TARIKH: 12/03/2024"),
    ("en", "other_date", "VALID UNTIL 31/12/2024"),
]


def test_every_class_lists_every_language() -> None:
    for kind, by_language in keywords.KEYWORDS.items():
        assert set(by_language) == set(keywords.LANGUAGES), kind
        assert all(by_language.values()), kind


@pytest.mark.parametrize(("language", "kind", "line"), PRINTED)
def test_printed_labels_are_found(language: str, kind: str, line: str) -> None:
    assert keywords.classes_in(line)[kind] >= 0, (language, line)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("SUBTOTAL 10.00", "total"),  # a subtotal is not a total
        ("BARBECUE RIBS 12.00", "tender"),  # BAR inside a word is not cash
        ("PINEAPPLE JUICE 3.00", "tender"),  # nor PIN
        ("RESTAURANT SIN DU", "change"),
    ],
)
def test_words_inside_other_words_do_not_count(line: str, kind: str) -> None:
    assert keywords.classes_in(line)[kind] == -1


def test_labels_glued_to_amounts_are_found() -> None:
    assert keywords.classes_in("TOTAL:9.00")["total"] == 0
    assert keywords.classes_in("GRANDTOTAL 9.00")["total"] == 0
    assert keywords.fold("Zurück Straße") == "ZURUCK STRASSE"
