"""Generated receipts for training the reader's total model: many layouts, few labelled photos.

The labelled receipts the models train on are a few hundred, from three kinds of shop. Patterns
that decide the total on a receipt of another kind (a rounding adjustment, a tip table, cash and
change, a VAT table printed under the total, a tax-inclusive total with no subtotal, labels in
another language) appear there a handful of times each, too rarely for a model to learn them.
This module writes receipts as an OCR engine returns them (words with boxes, a line per printed
row), with their numbers adding up the way real tills add them, in several countries' layouts and
languages, with the OCR noise seen on photos (glued words, split decimals, misread letters).

Its vocabulary is written here, on purpose apart from ``ocr.keywords``: it is how receipts print,
not what the extractor knows. Everything is drawn from one seeded ``random.Random``, so the same
seed gives the same receipts on any machine. Real receipts decide the figures: generated ones only
train, and never score or calibrate (see ``ocr.training``).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ocr.model import Line, Word

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Locale:
    country: str
    currency: str
    comma: bool  # decimal comma
    date_formats: tuple[str, ...]
    sign: tuple[str, ...]  # how the currency may be printed next to an amount ("" = not at all)
    total: tuple[str, ...]
    subtotal: tuple[str, ...]
    tax: tuple[str, ...]  # "{rate}" is replaced by the rate
    tax_rates: tuple[str, ...]
    cash: tuple[str, ...]
    change: tuple[str, ...]
    card: tuple[str, ...]
    rounding: tuple[str, ...]
    rounded_total: tuple[str, ...]
    count: tuple[str, ...]
    discount: tuple[str, ...]
    thanks: tuple[str, ...]
    legal: tuple[str, ...]
    streets: tuple[str, ...]
    towns: tuple[str, ...]
    items: tuple[str, ...]
    tax_inclusive: float  # share of receipts whose total includes tax with no subtotal line


LOCALES: tuple[Locale, ...] = (
    Locale(
        "MY",
        "MYR",
        False,
        ("%d/%m/%Y", "%d-%m-%Y", "%d-%m-%y", "%d/%m/%y", "%d.%m.%Y"),
        ("", "RM", "RM "),
        (
            "TOTAL",
            "TOTAL AMOUNT",
            "NET TOTAL",
            "GRAND TOTAL",
            "TOTAL (INCL GST)",
            "TOTAL SALES",
            "JUMLAH",
            "TOTAL INCLUSIVE GST",
            "TOTAL PAYABLE",
            "NETT TOTAL",
        ),
        ("SUBTOTAL", "SUB TOTAL", "TOTAL (EXCL GST)", "TOTAL EXCLUDING GST", "SUB-TOTAL"),
        ("GST {rate}", "GST @{rate}", "TOTAL GST {rate}", "SST {rate}", "SERVICE TAX {rate}"),
        ("6%", "6%", "0%", "10%"),
        ("CASH", "CASH TENDERED", "TUNAI", "PAYMENT"),
        ("CHANGE", "CHANGE DUE", "BAKI"),
        ("VISA", "MASTER", "CREDIT CARD", "DEBIT CARD", "E-WALLET"),
        ("ROUNDING ADJ", "ROUNDING ADJUSTMENT", "ROUNDING", "ROUND ADJ"),
        ("TOTAL ROUNDED", "TOTAL AFTER ROUNDING", "NET TOTAL", "TOTAL", "GRAND TOTAL"),
        ("TOTAL QTY", "ITEM COUNT", "TOTAL ITEMS", "QTY"),
        ("DISCOUNT", "DISC", "MEMBER DISC"),
        ("THANK YOU PLEASE COME AGAIN", "GOODS SOLD ARE NOT RETURNABLE", "TERIMA KASIH"),
        ("SDN BHD", "SDN. BHD.", "S/B", "ENTERPRISE", "TRADING", "RESTAURANT"),
        ("NO 12, JALAN {n}/{m}", "LOT {n}, JALAN BESAR", "NO {n}, JLN SS{m}/{n}", "{n}-G, JALAN PUTERI {m}"),
        (
            "TAMAN MELAWATI",
            "47100 PUCHONG, SELANGOR",
            "81100 JOHOR BAHRU, JOHOR",
            "50450 KUALA LUMPUR",
            "BANDAR BARU BANGI",
            "43300 SERI KEMBANGAN",
        ),
        (
            "NASI LEMAK",
            "TEH TARIK",
            "MILO AIS",
            "A4 PAPER",
            "PEN BLUE",
            "KOPI O",
            "MEE GORENG",
            "ROTI CANAI",
            "MINERAL WATER 1.5L",
            "CHICKEN RICE",
            "SCREW 4MM",
            "GLUE STICK",
        ),
        0.3,
    ),
    Locale(
        "US",
        "USD",
        False,
        ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%b %d, %Y"),
        ("", "$", "$ "),
        ("TOTAL", "Total", "AMOUNT DUE", "Balance Due", "TOTAL DUE", "Grand Total", "Amount", "Total Due"),
        ("Subtotal", "SUBTOTAL", "Sub-total", "SUB TOTAL", "Food Subtotal"),
        ("Tax", "Sales Tax", "TAX {rate}", "Total Tax", "Food Tax"),
        ("8.875%", "7%", "6.25%", "9.5%"),
        ("CASH", "Cash", "Cash Tendered"),
        ("CHANGE", "Change Due", "Change"),
        ("VISA", "MASTERCARD", "AMEX", "DISCOVER", "Credit Card", "Visa Sale"),
        ("Rounding",),
        ("Total",),
        ("Items", "Guests", "Covers"),
        ("Discount", "Coupon", "Happy Hour"),
        ("THANK YOU!", "Thank you for dining with us", "Please come again", "SERVER: JAKE"),
        ("LLC", "INC", "RESTAURANT", "DINER", "GRILL", "CAFE"),
        ("{n}{m} MAIN ST", "{n} E ROOSEVELT RD", "{n}{m} BROADWAY", "{n} OCEAN AVE"),
        (
            "NEW YORK, NY 10012",
            "LOMBARD, IL 60148",
            "SAN JOSE, CA 95112",
            "AUSTIN TX 78701",
            "MIAMI, FL 33131",
        ),
        (
            "Burger",
            "Cheese Steak",
            "Soda",
            "Iced Tea",
            "Caesar Salad",
            "Fries",
            "Margarita",
            "Fish Tacos",
            "Coffee",
            "Pancakes",
            "IPA Draft",
            "Wings",
        ),
        0.1,
    ),
    Locale(
        "DE",
        "EUR",
        True,
        ("%d.%m.%Y", "%d.%m.%y"),
        ("", "EUR", "€", "EUR "),
        ("SUMME", "Summe", "GESAMT", "ZU ZAHLEN", "zu zahlen", "SUMME EUR", "Gesamtbetrag", "BETRAG"),
        ("Zwischensumme", "ZWISCHENSUMME", "Netto"),
        ("MwSt {rate}", "USt {rate}", "enth. MwSt {rate}", "MWST {rate}"),
        ("19%", "7%"),
        ("BAR", "Bar", "Gegeben", "gegeben BAR"),
        ("Rückgeld", "RÜCKGELD", "Zurück", "Wechselgeld"),
        ("EC-Karte", "Kartenzahlung", "girocard", "VISA"),
        ("Rundung",),
        ("SUMME",),
        ("Anzahl Artikel", "Posten", "Artikel"),
        ("Rabatt", "Preisvorteil", "Pfand"),
        ("Vielen Dank für Ihren Einkauf", "Bitte Bon aufbewahren", "Auf Wiedersehen"),
        ("GmbH", "GmbH & Co. KG", "KG", "AG", "e.K."),
        ("Hauptstraße {n}", "Bahnhofstr. {n}", "Westernstraße {n}{m}", "Pohlweg {n}"),
        ("33100 Paderborn", "10115 Berlin", "80331 München", "50667 Köln"),
        (
            "Milch 1,5%",
            "Vollkornbrot",
            "Bananen",
            "Butter",
            "Kaffee",
            "Joghurt",
            "Apfelsaft",
            "Käse",
            "Nudeln",
            "Tomaten",
            "Duschgel",
            "Pfand 0,25",
        ),
        0.85,
    ),
    Locale(
        "FR",
        "EUR",
        True,
        ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"),
        ("", "€", "EUR"),
        ("TOTAL TTC", "TOTAL", "NET A PAYER", "MONTANT TTC", "A PAYER"),
        ("SOUS-TOTAL", "TOTAL HT"),
        ("TVA {rate}", "TVA"),
        ("20%", "10%", "5,5%"),
        ("ESPECES", "ESP"),
        ("RENDU", "RENDU MONNAIE", "MONNAIE"),
        ("CB", "CARTE BANCAIRE", "CB SANS CONTACT"),
        ("ARRONDI",),
        ("TOTAL",),
        ("NB ARTICLES", "ARTICLES", "QTE"),
        ("REMISE", "REDUCTION"),
        ("MERCI DE VOTRE VISITE", "A BIENTOT", "CONSERVEZ VOTRE TICKET"),
        ("SARL", "SAS", "SA"),
        ("{n} RUE DE LA PAIX", "{n} AVENUE DES CHAMPS", "{n} BD VOLTAIRE"),
        ("75011 PARIS", "69002 LYON"),
        ("CAFE", "CROISSANT", "BAGUETTE", "EAU MINERALE", "PLAT DU JOUR", "VIN ROUGE", "DESSERT"),
        0.7,
    ),
    Locale(
        "ES",
        "EUR",
        True,
        ("%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y"),
        ("", "€", "EUR"),
        ("TOTAL", "IMPORTE", "TOTAL A PAGAR", "TOTAL EUROS", "IMPORTE TOTAL"),
        ("SUBTOTAL", "BASE IMPONIBLE"),
        ("IVA {rate}", "IVA"),
        ("21%", "10%"),
        ("EFECTIVO", "ENTREGADO"),
        ("CAMBIO", "DEVOLUCION"),
        ("TARJETA", "VISA"),
        ("REDONDEO",),
        ("TOTAL",),
        ("ARTICULOS", "UNIDADES"),
        ("DESCUENTO",),
        ("GRACIAS POR SU VISITA", "VUELVA PRONTO"),
        ("S.L.", "S.A."),
        ("C/ MAYOR {n}", "AVDA. DIAGONAL {n}{m}"),
        ("28013 MADRID", "08008 BARCELONA"),
        ("CAFE CON LECHE", "TOSTADA", "AGUA", "MENU DEL DIA", "CERVEZA", "TORTILLA"),
        0.7,
    ),
    Locale(
        "IT",
        "EUR",
        True,
        ("%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y"),
        ("", "€", "EUR"),
        ("TOTALE", "TOTALE EURO", "TOTALE COMPLESSIVO", "IMPORTO PAGATO", "DA PAGARE"),
        ("SUBTOTALE",),
        ("IVA {rate}", "DI CUI IVA"),
        ("22%", "10%"),
        ("CONTANTI", "CONTANTE"),
        ("RESTO",),
        ("CARTA", "BANCOMAT", "PAGAMENTO ELETTRONICO"),
        ("ARROTONDAMENTO",),
        ("TOTALE",),
        ("PEZZI", "N. ARTICOLI"),
        ("SCONTO",),
        ("GRAZIE E ARRIVEDERCI", "DOCUMENTO COMMERCIALE"),
        ("S.R.L.", "S.P.A.", "S.N.C."),
        ("VIA ROMA {n}", "CORSO ITALIA {n}{m}", "PIAZZA GARIBALDI {n}"),
        ("20121 MILANO", "00184 ROMA"),
        ("COPERTO", "ACQUA NAT", "SPAGHETTI", "PIZZA MARGHERITA", "CAFFE", "VINO ROSSO", "TIRAMISU"),
        0.8,
    ),
    Locale(
        "NL",
        "EUR",
        True,
        ("%d-%m-%Y", "%d/%m/%Y", "%d-%m-%y"),
        ("", "€", "EUR"),
        ("TOTAAL", "TE BETALEN", "TOTAAL BEDRAG", "BEDRAG"),
        ("SUBTOTAAL",),
        ("BTW {rate}", "BTW"),
        ("21%", "9%"),
        ("CONTANT",),
        ("WISSELGELD", "TERUG"),
        ("PIN", "PINNEN", "MAESTRO"),
        ("AFRONDING",),
        ("TOTAAL",),
        ("AANTAL ARTIKELEN", "AANTAL"),
        ("KORTING", "BONUS"),
        ("BEDANKT EN TOT ZIENS",),
        ("B.V.", "V.O.F."),
        ("KALVERSTRAAT {n}", "DORPSSTRAAT {n}{m}"),
        ("1012 NX AMSTERDAM", "3511 AB UTRECHT"),
        ("KOFFIE", "BROODJE KAAS", "MELK", "APPELTAART", "BIER", "FRIET"),
        0.7,
    ),
    Locale(
        "PT",
        "EUR",
        True,
        ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"),
        ("", "€", "EUR"),
        ("TOTAL", "TOTAL A PAGAR", "VALOR TOTAL", "A PAGAR"),
        ("SUBTOTAL",),
        ("IVA {rate}", "IVA"),
        ("23%", "13%", "6%"),
        ("NUMERARIO", "DINHEIRO"),
        ("TROCO",),
        ("MULTIBANCO", "CARTAO"),
        ("ARREDONDAMENTO",),
        ("TOTAL",),
        ("ARTIGOS", "QTD"),
        ("DESCONTO",),
        ("OBRIGADO PELA PREFERENCIA",),
        ("LDA", "S.A."),
        ("RUA AUGUSTA {n}", "AV. DA LIBERDADE {n}{m}"),
        ("1100-048 LISBOA", "4000-322 PORTO"),
        ("CAFE", "PASTEL DE NATA", "AGUA", "SOPA", "BACALHAU", "VINHO VERDE"),
        0.7,
    ),
    Locale(
        "GB",
        "GBP",
        False,
        ("%d/%m/%Y", "%d/%m/%y", "%d %b %Y"),
        ("", "£"),
        ("TOTAL", "BALANCE DUE", "TOTAL TO PAY", "AMOUNT DUE"),
        ("SUBTOTAL", "SUB TOTAL"),
        ("VAT {rate}", "VAT"),
        ("20%", "5%"),
        ("CASH",),
        ("CHANGE",),
        ("VISA", "CONTACTLESS", "MASTERCARD"),
        ("ROUNDING",),
        ("TOTAL",),
        ("ITEMS", "NO OF ITEMS"),
        ("DISCOUNT", "MULTIBUY SAVING"),
        ("THANK YOU FOR SHOPPING", "PLEASE RETAIN YOUR RECEIPT"),
        ("LTD", "PLC"),
        ("{n} HIGH STREET", "{n}{m} STATION ROAD"),
        ("LONDON EC1A 1BB", "LEEDS LS1 4AP"),
        ("SANDWICH", "CRISPS", "TEA", "FLAT WHITE", "PINT OF BITTER", "SCONE"),
        0.6,
    ),
    Locale(
        "SG",
        "SGD",
        False,
        ("%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y"),
        ("", "S$", "$"),
        ("TOTAL", "GRAND TOTAL", "NETT TOTAL", "AMOUNT PAYABLE"),
        ("SUBTOTAL", "SUB-TOTAL"),
        ("GST {rate}", "GST"),
        ("9%", "8%", "7%"),
        ("CASH",),
        ("CHANGE",),
        ("NETS", "VISA", "PAYNOW"),
        ("ROUNDING", "ROUNDING ADJ"),
        ("TOTAL", "NETT TOTAL"),
        ("QTY", "TOTAL ITEMS"),
        ("DISCOUNT",),
        ("THANK YOU", "PLEASE COME AGAIN"),
        ("PTE LTD", "PTE. LTD."),
        ("{n} ORCHARD ROAD #0{m}-12", "BLK {n} ANG MO KIO AVE {m}"),
        ("SINGAPORE 238801", "SINGAPORE 560123"),
        ("KAYA TOAST", "KOPI C", "LAKSA", "CHICKEN RICE", "BARLEY", "TEH PENG"),
        0.3,
    ),
)
_WEIGHTS = {
    "MY": 3.0,
    "US": 3.0,
    "DE": 3.0,
    "FR": 1.0,
    "ES": 1.0,
    "IT": 1.0,
    "NL": 1.0,
    "PT": 0.7,
    "GB": 1.0,
    "SG": 1.0,
}

_NAMES = (
    "GOLDEN",
    "SUNRISE",
    "ORCHID",
    "PHOENIX",
    "RIVERSIDE",
    "CORNER",
    "HAPPY",
    "LUCKY",
    "GREEN LEAF",
    "BLUE",
    "STAR",
    "ROYAL",
    "CITY",
    "MORNING",
    "OLD TOWN",
    "MAPLE",
    "HARBOUR",
    "EAST",
    "UNITED",
    "SUMMIT",
)
_KINDS = (
    "MART",
    "BAKERY",
    "CAFE",
    "HARDWARE",
    "STATIONERY",
    "PHARMACY",
    "KITCHEN",
    "BISTRO",
    "MARKT",
    "SUPERMARKET",
    "BOOKS",
    "TRADING",
    "GRILL",
    "FOOD COURT",
    "DRUGSTORE",
)
_CONFUSE = {
    "O": "0",
    "0": "O",
    "I": "1",
    "1": "I",
    "L": "1",
    "S": "5",
    "5": "S",
    "B": "8",
    "E": "F",
    "T": "I",
}


def _money(value: Decimal, locale: Locale, rng: random.Random) -> str:
    text = f"{value:.2f}"
    if value >= 1000 and rng.random() < 0.3:
        whole, cents = text.split(".")
        text = f"{int(whole):,}.{cents}"
    if locale.comma:
        text = text.translate(str.maketrans(".,", ",."))
    return text


def _amount(value: Decimal, locale: Locale, rng: random.Random, sign: str) -> str:
    text = _money(abs(value), locale, rng)
    if value < 0:
        text = f"({text})" if rng.random() < 0.2 else f"-{text}"
    if sign:
        if sign.strip() in ("EUR",) and rng.random() < 0.5:
            return f"{text} {sign.strip()}"
        return f"{sign}{text}" if sign.endswith(" ") or len(sign) <= 2 else f"{sign} {text}"
    return text


class _Page:
    """Rows laid out like a receipt: left text, optional middle, right-aligned amounts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.width = rng.choice((580, 640, 720, 900, 1200, 2480))
        self.char = self.width / rng.uniform(34, 48)  # a receipt prints 32-48 characters a row
        self.height = self.char * rng.uniform(1.5, 1.9)
        self.margin = self.width * rng.uniform(0.02, 0.08)
        self.y = self.margin
        self.lines: list[Line] = []

    def _words(self, text: str, x: float, y: float, scale: float) -> list[Word]:
        words = []
        for part in text.split():
            w = len(part) * self.char * scale
            jitter = self.rng.uniform(-0.15, 0.15) * self.height
            words.append(
                Word(
                    part,
                    int(x),
                    int(y + jitter),
                    int(x + w),
                    int(y + jitter + self.height * scale),
                    round(self.rng.uniform(0.75, 1.0), 3),
                )
            )
            x += w + self.char * scale
        return words

    def row(
        self, left: str = "", right: str = "", middle: str = "", centre: bool = False, scale: float = 1.0
    ) -> None:
        words: list[Word] = []
        span = self.width - 2 * self.margin
        if left:
            width = len(left) * self.char * scale
            x = self.margin + (max(0.0, (span - width) / 2) if centre else self.rng.uniform(0, self.char))
            words += self._words(left, x, self.y, scale)
        if middle:
            words += self._words(middle, self.margin + span * 0.55, self.y, scale)
        if right:
            width = len(right) * self.char * scale + self.char * (len(right.split()) - 1) * scale
            x = self.width - self.margin - width
            if words:  # a row too long for the paper: the amount follows the text
                x = max(x, words[-1].right + self.char * scale)
            words += self._words(right, x, self.y, scale)
        if words:
            self.lines.append(Line(tuple(words)))
        self.y += self.height * scale * self.rng.uniform(1.15, 1.5)


def _noisy(line: Line, rng: random.Random, rate: float) -> Line | None:
    """OCR's slips: a word glued to the next, a decimal split, a letter misread, a row half-read."""
    words = list(line.words)
    if rng.random() < rate * 0.3 and len(words) >= 2:
        i = rng.randrange(len(words) - 1)
        a, b = words[i], words[i + 1]
        words[i : i + 2] = [
            Word(a.text + b.text, a.left, min(a.top, b.top), b.right, max(a.bottom, b.bottom), a.confidence)
        ]
    out = []
    for w in words:
        text = w.text
        if rng.random() < rate * 0.15 and len(text) > 3 and text[-3] in ".,":
            text = text[:-3] + " " + text[-3:]  # "33 .92"
        if rng.random() < rate * 0.2:
            i = rng.randrange(len(text))
            if text[i] in _CONFUSE and not (text[i].isdigit() and any(c in text for c in ".,")):
                text = text[:i] + _CONFUSE[text[i]] + text[i + 1 :]
        out.append(Word(text, w.left, w.top, w.right, w.bottom, w.confidence))
    return Line(tuple(out))


def _round_to(value: Decimal, step: Decimal) -> Decimal:
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(_CENT)


def receipt(rng: random.Random) -> tuple[tuple[Line, ...], dict[str, str]]:
    """One generated receipt: its lines and its key (company, date, total, currency, country)."""
    locale = rng.choices(LOCALES, weights=[_WEIGHTS[lc.country] for lc in LOCALES])[0]
    page = _Page(rng)
    sign = rng.choice(locale.sign)

    def amt(value: Decimal) -> str:
        return _amount(value, locale, rng, sign if rng.random() < 0.7 else "")

    shout = rng.random() < 0.6  # printed in capitals

    def case(text: str) -> str:
        return text.upper() if shout else text

    # header: name, legal form, address, phone, tax number
    name = f"{rng.choice(_NAMES)} {rng.choice(_KINDS)}"
    company = f"{name} {rng.choice(locale.legal)}" if rng.random() < 0.6 else name
    page.row(company, centre=True, scale=rng.choice((1.0, 1.3, 1.6)))
    n, m = rng.randint(1, 99), rng.randint(1, 9)
    page.row(case(rng.choice(locale.streets).format(n=n, m=m)), centre=True)
    page.row(case(rng.choice(locale.towns)), centre=True)
    if rng.random() < 0.7:
        page.row(f"TEL: {rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}", centre=True)
    if rng.random() < 0.5:
        page.row(
            f"{rng.choice(('GST ID', 'REG NO', 'UST-ID', 'TAX ID', 'VAT NO'))}: {rng.randint(10**9, 10**12)}",
            centre=True,
        )

    # when, and who served
    date = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randint(0, 365 * 10))
    when = date.strftime(rng.choice(locale.date_formats)).upper()
    clock = f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}" + (
        f":{rng.randint(0, 59):02d}" if rng.random() < 0.5 else ""
    )
    label = rng.choice(("DATE:", "DATE", "", "DATUM", "FECHA", "DATA"))
    page.row(f"{label} {when}".strip() + (f" {clock}" if rng.random() < 0.8 else ""))
    for _ in range(rng.randint(0, 3)):
        page.row(
            f"{rng.choice(('INV NO', 'RECEIPT', 'TABLE', 'CASHIER', 'BON-NR', 'CHECK', 'TRN'))}: {rng.randint(1, 99999)}"
        )

    # items
    lines_total = Decimal(0)
    for _ in range(rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 14))):
        cents = rng.choices(
            (rng.randint(50, 2500), rng.randint(100, 9000), rng.randint(1000, 60000)), (6, 3, 1)
        )[0]
        price = Decimal(cents) / 100
        if locale.country in ("MY", "SG") or rng.random() < 0.3:
            price = _round_to(price, Decimal("0.10")) if rng.random() < 0.5 else price
        qty = rng.choice((1, 1, 1, 1, 2, 3))
        amount = price * qty
        lines_total += amount
        item = case(rng.choice(locale.items))
        if qty > 1 and rng.random() < 0.6:
            page.row(item)
            page.row(f"{qty} X {_money(price, locale, rng)}", amt(amount))
        else:
            page.row(
                f"{qty} {item}" if rng.random() < 0.5 else item,
                amt(amount) + (rng.choice((" A", " B", " SR", " T")) if rng.random() < 0.3 else ""),
            )
    discount = Decimal(0)
    if rng.random() < 0.15:
        discount = _round_to(lines_total * Decimal(rng.choice((5, 10, 15))) / 100, _CENT)
        page.row(case(rng.choice(locale.discount)), amt(-discount))
    net = lines_total - discount

    # tax, service, total, rounding
    rate_text = rng.choice(locale.tax_rates)
    rate = Decimal(rate_text.rstrip("%").replace(",", ".")) / 100
    inclusive = rng.random() < locale.tax_inclusive
    service = Decimal(0)
    if locale.country in ("MY", "SG") and rng.random() < 0.25:
        service = _round_to(net * Decimal("0.10"), _CENT)
    if inclusive:
        gross = net
        tax = _round_to(gross - gross / (1 + rate), _CENT)
    else:
        tax = _round_to((net + service) * rate, _CENT)
        gross = net + service + tax
    total = gross
    count_row = (case(rng.choice(locale.count)), str(rng.randint(1, 14)))
    if rng.random() < 0.3:
        page.row(*count_row)
    if not inclusive or rng.random() < 0.2:
        page.row(case(rng.choice(locale.subtotal)), amt(net))
    if service:
        page.row(case(rng.choice(("SERVICE CHARGE 10%", "SVC CHG 10%", "SERVICE CHG"))), amt(service))
    if not inclusive and tax:
        page.row(case(rng.choice(locale.tax).format(rate=rate_text)), amt(tax))
    page.row(case(rng.choice(locale.total)), amt(gross), scale=rng.choice((1.0, 1.0, 1.3, 2.0)))
    if locale.country in ("MY", "SG", "NL") and rng.random() < 0.45:
        rounded = _round_to(gross, Decimal("0.05"))
        if rounded != gross:
            page.row(
                case(rng.choice(locale.rounding)),
                amt(rounded - gross) if rng.random() < 0.7 else amt(abs(rounded - gross)),
            )
            page.row(case(rng.choice(locale.rounded_total)), amt(rounded))
            total = rounded
    if rng.random() < 0.2:
        page.row(*count_row)

    # payment
    pay = rng.random()
    if pay < 0.45:
        step = rng.choice((Decimal(1), Decimal(5), Decimal(10), Decimal(50), Decimal(100)))
        tendered = (total / step).to_integral_value(rounding="ROUND_CEILING") * step
        tendered = tendered + step if tendered == total and rng.random() < 0.5 else tendered
        page.row(case(rng.choice(locale.cash)), amt(tendered))
        page.row(case(rng.choice(locale.change)), amt(tendered - total))
    elif pay < 0.85:
        card = case(rng.choice(locale.card))
        page.row(card, amt(total))
        if rng.random() < 0.4:
            page.row(f"{card} ************{rng.randint(1000, 9999)}")
    if locale.country == "US" and rng.random() < 0.35:
        tips = rng.random()
        if tips < 0.5:  # a table of suggested tips: every row adds up to more than the total
            page.row("Suggested Gratuity")
            for pct in rng.sample((15, 18, 20, 22, 25), 3):
                tip = _round_to(total * pct / 100, _CENT)
                page.row(f"{pct}% ({_money(tip, locale, rng)})", amt(total + tip))
        elif tips < 0.8:  # lines left blank for a tip written by hand
            page.row("Tip:", "______")
            page.row("Total:", "______")
        else:  # a tip printed on the bill: the bill's total stays what was ordered
            tip = _round_to(total * Decimal("0.18"), _CENT)
            page.row("18% Gratuity", amt(tip))
            page.row("Total with tip", amt(total + tip))
    if (inclusive or locale.country in ("MY", "SG")) and tax and rng.random() < 0.6:
        # a tax table under the total: rate, net, tax, gross
        head = rng.choice(
            ("MWST NETTO STEUER BRUTTO", "GST SUMMARY AMOUNT TAX", "TVA HT TVA TTC", "VAT NET VAT GROSS")
        )
        page.row(head)
        page.row(
            rng.choice(("A", "SR", "1", "")) + f" {rate_text}",
            " ".join((amt(total - tax), amt(tax), amt(total)))
            if rng.random() < 0.6
            else " ".join((amt(total - tax), amt(tax))),
        )
    for _ in range(rng.randint(0, 2)):
        page.row(case(rng.choice(locale.thanks)), centre=True)
    if rng.random() < 0.2:
        page.row(f"POINTS {rng.randint(1, 500)}.00")

    rate_of_noise = rng.choice((0.0, 0.1, 0.3, 0.6))
    noisy = tuple(line for line in (_noisy(ln, rng, rate_of_noise) for ln in page.lines) if line is not None)
    key = {
        "company": company,
        "date": date.isoformat(),
        "total": f"{total:.2f}",
        "currency": locale.currency,
        "country": locale.country,
    }
    return noisy, key


def receipts(count: int, seed: int) -> list[tuple[tuple[Line, ...], dict[str, str]]]:
    rng = random.Random(seed)
    return [receipt(rng) for _ in range(count)]
