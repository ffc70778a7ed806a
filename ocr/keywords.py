"""Receipt words by meaning and language, kept as data.

Each class lists the words that label a kind of line on a receipt, per language (ISO 639-1). The
extractor's features say which classes a line carries, not which language: a model trained on
English and German receipts can use a French or Malay label it never saw, because the label tells
the same thing. Adding a language is adding words here (and a row in tests/ocr/test_keywords.py).

Words are matched on folded text: upper case, accents removed (OCR often drops them: "ZURUCK" for
"ZURÜCK"), at letter boundaries (OCR often drops the space before an amount: "TOTAL9.00"), with any
spaces inside a phrase optional ("GRANDTOTAL").
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "nl", "pt", "ms")

KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    # the amount paid
    "total": {
        "en": (
            "TOTAL",
            "GRAND TOTAL",
            "TOTAL DUE",
            "AMOUNT DUE",
            "BALANCE DUE",
            "AMOUNT PAYABLE",
            "TOTAL AMOUNT",
            "NET TOTAL",
            "TOTAL SALES",
            "TOTAL PAYABLE",
            "TTL",
            "BALANCE",
        ),
        "de": (
            "SUMME",
            "GESAMT",
            "GESAMTBETRAG",
            "GESAMTSUMME",
            "ZU ZAHLEN",
            "ENDBETRAG",
            "ENDSUMME",
            "BETRAG",
            "RECHNUNGSBETRAG",
        ),
        "fr": ("TOTAL TTC", "NET A PAYER", "A PAYER", "MONTANT", "MONTANT TTC", "SOMME", "TOTAL A PAYER"),
        "es": ("IMPORTE", "TOTAL A PAGAR", "IMPORTE TOTAL", "TOTAL EUROS", "A PAGAR"),
        "it": ("TOTALE", "TOTALE COMPLESSIVO", "IMPORTO", "DA PAGARE", "TOTALE EURO"),
        "nl": ("TOTAAL", "TE BETALEN", "BEDRAG", "TOTAAL BEDRAG"),
        "pt": ("VALOR TOTAL", "TOTAL A PAGAR", "A PAGAR", "VALOR A PAGAR"),
        "ms": ("JUMLAH", "JUMLAH BESAR", "JUMLAH BAYARAN", "JUMLAH KESELURUHAN", "JUMLAH BERSIH"),
    },
    # before tax, service or rounding
    "subtotal": {
        "en": (
            "SUBTOTAL",
            "SUB TOTAL",
            "SUB-TOTAL",
            "SUBTTL",
            "TOTAL EXCL",
            "TOTAL BEFORE",
            "NET AMOUNT",
            "TOTAL EXCLUDING",
        ),
        "de": ("ZWISCHENSUMME", "NETTO", "NETTOBETRAG", "SUMME NETTO"),
        "fr": ("SOUS-TOTAL", "SOUS TOTAL", "TOTAL HT", "MONTANT HT"),
        "es": ("SUBTOTAL", "BASE IMPONIBLE"),
        "it": ("SUBTOTALE", "IMPONIBILE"),
        "nl": ("SUBTOTAAL", "EXCL BTW"),
        "pt": ("SUBTOTAL", "BASE TRIBUTAVEL"),
        "ms": ("JUMLAH KECIL", "JUMLAH SEBELUM"),
    },
    "tax": {
        "en": ("TAX", "GST", "VAT", "SST", "HST", "PST", "SALES TAX", "TOTAL TAX", "SERVICE TAX"),
        "de": ("MWST", "MWST.", "UST", "MEHRWERTSTEUER", "STEUER"),
        "fr": ("TVA", "TAXE", "TAXES"),
        "es": ("IVA", "IMPUESTO", "IMPUESTOS", "IGIC"),
        "it": ("IVA", "IMPOSTA"),
        "nl": ("BTW",),
        "pt": ("IVA", "IMPOSTO", "ICMS"),
        "ms": ("CUKAI",),
    },
    # what was handed over or charged to a card
    "tender": {
        "en": (
            "CASH",
            "CARD",
            "VISA",
            "MASTERCARD",
            "MASTER",
            "AMEX",
            "AMERICAN EXPRESS",
            "DISCOVER",
            "CREDIT",
            "DEBIT",
            "TENDERED",
            "TENDER",
            "PAID",
            "PAYMENT",
            "AMOUNT PAID",
            "E-WALLET",
        ),
        "de": (
            "BAR",
            "BARGELD",
            "GEGEBEN",
            "EC-KARTE",
            "EC KARTE",
            "KARTE",
            "KARTENZAHLUNG",
            "GIROCARD",
            "BEZAHLT",
            "MAESTRO",
        ),
        "fr": ("ESPECES", "CB", "CARTE", "CARTE BANCAIRE", "PAYE", "REGLEMENT"),
        "es": ("EFECTIVO", "TARJETA", "PAGADO", "ENTREGADO"),
        "it": ("CONTANTI", "CARTA", "PAGATO", "BANCOMAT"),
        "nl": ("CONTANT", "PIN", "PINNEN", "KAART", "BETAALD"),
        "pt": ("DINHEIRO", "CARTAO", "PAGO", "MULTIBANCO"),
        "ms": ("TUNAI", "BAYARAN", "KAD"),
    },
    "change": {
        "en": ("CHANGE", "CHANGE DUE", "CHG"),
        "de": ("RUCKGELD", "ZURUCK", "WECHSELGELD"),
        "fr": ("RENDU", "MONNAIE", "RENDU MONNAIE"),
        "es": ("CAMBIO", "VUELTO", "VUELTA"),
        "it": ("RESTO",),
        "nl": ("WISSELGELD", "TERUG"),
        "pt": ("TROCO",),
        "ms": ("BAKI", "KEMBALI", "WANG KEMBALI"),
    },
    "rounding": {
        "en": ("ROUNDING", "ROUNDING ADJ", "ROUND ADJ", "ROUNDED", "ADJUSTMENT", "ADJ"),
        "de": ("RUNDUNG",),
        "fr": ("ARRONDI",),
        "es": ("REDONDEO",),
        "it": ("ARROTONDAMENTO",),
        "nl": ("AFRONDING",),
        "pt": ("ARREDONDAMENTO",),
        "ms": ("PEMBUNDARAN", "GENAPAN"),
    },
    "discount": {
        "en": ("DISCOUNT", "DISC", "SAVINGS", "YOU SAVED", "VOUCHER", "COUPON", "PROMO"),
        "de": ("RABATT", "NACHLASS", "PREISVORTEIL", "GUTSCHEIN"),
        "fr": ("REMISE", "REDUCTION", "BON"),
        "es": ("DESCUENTO", "CUPON"),
        "it": ("SCONTO", "BUONO"),
        "nl": ("KORTING",),
        "pt": ("DESCONTO", "CUPAO"),
        "ms": ("DISKAUN", "POTONGAN"),
    },
    "tip": {
        "en": ("TIP", "TIPS", "GRATUITY", "SERVICE CHARGE", "SVC CHG", "SRV CHG", "SUGGESTED"),
        "de": ("TRINKGELD", "BEDIENUNG"),
        "fr": ("POURBOIRE", "SERVICE"),
        "es": ("PROPINA", "SERVICIO"),
        "it": ("MANCIA", "SERVIZIO", "COPERTO"),
        "nl": ("FOOI", "BEDIENING"),
        "pt": ("GORJETA", "TAXA DE SERVICO"),
        "ms": ("CAJ PERKHIDMATAN", "CAJ SERVIS"),
    },
    # counts, not money
    "quantity": {
        "en": ("QTY", "QUANTITY", "ITEMS", "ITEM COUNT", "NO OF ITEMS", "TOTAL QTY", "TOTAL ITEMS", "PCS"),
        "de": ("ANZAHL", "ANZAHL ARTIKEL", "ARTIKEL", "STK", "STUCK", "MENGE"),
        "fr": ("QTE", "ARTICLES", "NB ARTICLES", "QUANTITE"),
        "es": ("CANT", "CANTIDAD", "ARTICULOS", "UNIDADES"),
        "it": ("QTA", "ARTICOLI", "PEZZI", "QUANTITA"),
        "nl": ("AANTAL", "ARTIKELEN", "STUKS"),
        "pt": ("QTD", "QUANTIDADE", "ITENS", "ARTIGOS"),
        "ms": ("KUANTITI", "BIL ITEM", "JUMLAH ITEM"),
    },
    "date": {
        "en": ("DATE", "DATED", "DATE/TIME", "TRANS DATE"),
        "de": ("DATUM",),
        "fr": ("DATE", "LE"),
        "es": ("FECHA",),
        "it": ("DATA",),
        "nl": ("DATUM",),
        "pt": ("DATA",),
        "ms": ("TARIKH", "TGL"),
    },
    # dates that are not the day of purchase
    "other_date": {
        "en": (
            "EXPIRY",
            "EXPIRES",
            "EXP",
            "VALID UNTIL",
            "VALID TILL",
            "BEST BEFORE",
            "USE BY",
            "DUE DATE",
            "RETURN BY",
            "RETURNS UNTIL",
        ),
        "de": ("GULTIG BIS", "HALTBAR BIS", "UMTAUSCH BIS", "MHD"),
        "fr": ("VALABLE JUSQU", "EXPIRE", "A CONSOMMER"),
        "es": ("VALIDO HASTA", "CADUCIDAD", "VENCE"),
        "it": ("VALIDO FINO", "SCADENZA"),
        "nl": ("GELDIG TOT", "HOUDBAAR TOT"),
        "pt": ("VALIDO ATE", "VALIDADE"),
        "ms": ("TAMAT", "SAH SEHINGGA"),
    },
}

CLASSES: tuple[str, ...] = tuple(KEYWORDS)


def fold(text: str) -> str:
    """Upper case without accents: the form every keyword is matched in."""
    decomposed = unicodedata.normalize("NFKD", text.upper())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return folded.replace("ß", "SS")


_LETTER_BOUNDARY_BEFORE = r"(?<![A-Z])"
_LETTER_BOUNDARY_AFTER = r"(?![A-Z])"


def _phrase(words: str) -> str:
    parts = [re.escape(part) for part in fold(words).split()]
    return r"\s*".join(parts)


@cache
def pattern(kind: str) -> re.Pattern[str]:
    """One pattern for every word of a class in every language, longest phrases first."""
    phrases = sorted({p for words in KEYWORDS[kind].values() for p in words}, key=len, reverse=True)
    body = "|".join(_phrase(p) for p in phrases)
    return re.compile(f"{_LETTER_BOUNDARY_BEFORE}(?:{body}){_LETTER_BOUNDARY_AFTER}")


def classes_in(text: str) -> dict[str, int]:
    """For each class, where in ``text`` (folded) its first word starts, or -1 when it has none."""
    folded = fold(text)
    found: dict[str, int] = {}
    for kind in CLASSES:
        match = pattern(kind).search(folded)
        found[kind] = match.start() if match else -1
    return found
