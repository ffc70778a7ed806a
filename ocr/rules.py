"""Receipt knowledge kept as data: labels, currencies, month names, header noise.

Every pattern is matched against upper-case text. Extraction code reads these tables; adding a
language or a currency is a change here, not in the logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A word boundary between letters and anything else. OCR often drops spaces ("GST6%", "TOTAL:9.00",
# "RM9.00"), so a letter next to a digit or a sign still ends a word here, unlike the regex \b.
_LETTER_BOUNDARY = r"(?:(?<=[A-Z])(?![A-Z])|(?<![A-Z])(?=[A-Z]))"


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace(r"\b", _LETTER_BOUNDARY))


@dataclass(frozen=True)
class Label:
    pattern: re.Pattern[str]
    weight: float


def _labels(*items: tuple[str, float]) -> tuple[Label, ...]:
    return tuple(Label(_re(p), w) for p, w in items)


# OCR often reads O as 0 and L as I/1 in TOTAL: accept those forms.
_TOTAL = r"(?:T[O0Q][TL]|\bOT)[A4][L1I]"  # TOTAL, T0TAL, TOTAI, TOLAL, OTAL

# Lines whose amount is the amount paid. The weight ranks labels: a grand total beats a plain total.
TOTAL_LABELS: tuple[Label, ...] = _labels(
    (rf"GRAND\s*{_TOTAL}", 10),
    (rf"{_TOTAL}\s*(AMOUNT|AMT)?\s*(DUE|PAYABLE|TO\s*PAY)", 10),
    (r"(AMOUNT|AMT|BALANCE)\s*(DUE|PAYABLE|TO\s*PAY)", 9),
    (rf"(NET+|ROUNDED|FINAL)\s*{_TOTAL}|{_TOTAL}\s*(NET+|ROUNDED|AFTER\s*ROUND\w*)", 9.5),
    (rf"{_TOTAL}.*(\b[IL1]NC[IL1]\w*|\bINC\b)", 9),
    # "TOTAL:", "TOTAL 12.00", and "TOTA1 12.00" (a misread L, so no letter boundary after it)
    (rf"{_TOTAL}\s*(AMOUNT|AMT|SALES?|PRICE|BILL|RM|\(RM\)|:|(?![A-Z]))", 8),
    (r"JUMLAH\s*(BESAR|KESELURUHAN|BAYARAN|BERSIH)", 9),
    (r"JUMLAH", 7),
    (r"合\s*计|总\s*计|總\s*計|合\s*計|應\s*付|应\s*付", 8),
    (r"\b(MONTANT|SUMME|GESAMT|TOTALE|TOTAAL|IMPORTE|ZU\s*ZAHLEN|À\s*PAYER|A\s*PAYER)\b", 8),
    (r"\bNET+\s*(AMOUNT|AMT|SALES?|PAYABLE)\b", 8),
    (r"\bNET+\b", 5),
    (r"\b(AMOUNT|AMT)\b", 4),
    (r"\bTTL\b", 6),
)

# Labels that look like totals but are not the amount paid: the line's amount is never the total.
NOT_TOTAL_HARD: tuple[re.Pattern[str], ...] = tuple(
    _re(p)
    for p in (
        rf"SUB\s*-?\s*{_TOTAL}|SUBTTL|小\s*计|小\s*計|ZWISCHENSUMME|SOUS\s*-?\s*TOTAL",
        rf"{_TOTAL}\s*(NO\.?\s*(OF)?\s*)?(QTY|QUANTITY|ITEMS?|PCS|UNITS?|ARTICLES?|COUNT|DISC\w*|SAVINGS?|POINTS?)",
        r"\b(QTY|ITEMS?|PCS)\b\s*:?\s*\d+\s*$",
        rf"{_TOTAL}\s*(EXCL|EXCLUSIVE|EXCLUDING|BEFORE|W/O|WITHOUT)",
        r"(EXCL|EXCLUSIVE|EXCLUDING|BEFORE)\s*\.?\s*(OF\s*)?(GST|TAX|VAT|SST)",
    )
)
# Softer signs that a labelled line is not the total; a strong total label (weight >= 9) overrides them.
NOT_TOTAL_SOFT: tuple[re.Pattern[str], ...] = tuple(
    _re(p)
    for p in (
        rf"({_TOTAL}\s*)?\b(GST|VAT|SST|TAX|MWST|TVA|IVA)\b(?!\s*\)?\s*([IL1]NC[IL1]|INC\b))",
        r"\b(CHANGE|CHG|BAKI|KEMBALI\w*|RESTGELD|RENDU)\b",
        r"\b(CASH|TUNAI|TENDER\w*|PAID|PAYMENT|CARD|VISA|MASTER\w*|AMEX|DEBIT|CREDIT|E-?WALLET)\b",
        r"\bROUND\w*|PEMBUNDARAN|\bADJ\w*\b",
        r"\b(DISCOUNT|DISC|SAVINGS?|VOUCHER|DEPOSIT)\b",
        r"\bSERVICE\s*(CHARGE|CHRG|TAX)\b",
    )
)

SUBTOTAL_LABELS: tuple[re.Pattern[str], ...] = tuple(
    _re(p)
    for p in (
        rf"SUB\s*-?\s*{_TOTAL}|SUBTTL|小\s*计|小\s*計|ZWISCHENSUMME|SOUS\s*-?\s*TOTAL",
        rf"{_TOTAL}\s*(EXCL|EXCLUSIVE|EXCLUDING|BEFORE|W/O|WITHOUT)",
        r"(EXCL|EXCLUSIVE|EXCLUDING|BEFORE)\s*\.?\s*(OF\s*)?(GST|TAX|VAT|SST)",
    )
)

# A tax amount line: "GST 6%", "TOTAL GST", "VAT 20%", "SST". Not lines saying the total includes it.
TAX_LABELS: tuple[re.Pattern[str], ...] = (
    _re(r"^(?!.*([IL1]NC[IL1]|EXCL|SUMMARY)).*\b(GST|VAT|SST|TAX|MWST|TVA|IVA|税)\b"),
    # "TOTALTAX 1.56": OCR often drops the space after TOTAL
    _re(rf"^(?!.*([IL1]NC[IL1]|EXCL|SUMMARY)).*{_TOTAL}(GST|VAT|SST|TAX)\b"),
)
TENDER_LABELS: tuple[re.Pattern[str], ...] = (
    _re(r"\b(CASH|TUNAI|TENDER\w*|PAID|PAYMENT|CARD|VISA|MASTER\w*|AMEX|DEBIT|CREDIT|E-?WALLET)\b"),
)
# Change given back; "SRV CHG" / "SVC CHG" is a service charge, not change.
CHANGE_LABELS: tuple[re.Pattern[str], ...] = (
    _re(r"\b(CHANGE|BAKI|KEMBALI\w*|RESTGELD|RENDU)\b|(?<!SRV )(?<!SVC )(?<!SERVICE )\bCHG\b"),
)
ROUNDING_LABELS: tuple[re.Pattern[str], ...] = (_re(r"\bROUND\w*\b|PEMBUNDARAN|\bADJ\w*\b"),)

# Labels for the receipt's date (a nearby date beats one found elsewhere) and for other dates.
DATE_LABELS: tuple[re.Pattern[str], ...] = (
    _re(r"\b(DATE|DATED|TARIKH|TGL|TANGGAL|DATUM|FECHA|DATA)\b|日期|日付"),
)
NOT_RECEIPT_DATE_LABELS: tuple[re.Pattern[str], ...] = (
    _re(r"\b(EXP\w*|VALID\w*|BEST\s*BEFORE|USE\s*BY|DUE\s*DATE|BIRTH|DOB|EXPIRY)\b"),
)

# Month names and abbreviations (English, Malay, Indonesian, French, German, Spanish, Italian, Dutch).
MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "JAN JANUARY JANUARI JANVIER JANUAR ENE ENERO GEN GENNAIO JANUARI JANNER",
        "FEB FEBRUARY FEBRUARI FEVRIER FÉVRIER FEBRUAR FEBRERO FEBBRAIO FEV FÉV",
        "MAR MARCH MAC MAC MARET MARS MÄRZ MARZ MARZO MAART MRT",
        "APR APRIL AVRIL ABRIL APRILE ABR AVR",
        "MAY MEI MAI MAYO MAGGIO MAG",
        "JUN JUNE JUNI JUIN JUNIO GIUGNO GIU",
        "JUL JULY JULAI JULI JUILLET JUIL JULIO LUGLIO LUG",
        "AUG AUGUST OGOS AGUSTUS AGU AOUT AOÛT AGOSTO AGO",
        "SEP SEPT SEPTEMBER SEPTEMBRE SEPTIEMBRE SETTEMBRE SET",
        "OCT OCTOBER OKT OKTOBER OCTOBRE OCTUBRE OTTOBRE OTT",
        "NOV NOVEMBER NOVEMBRE NOVIEMBRE",
        "DEC DECEMBER DIS DISEMBER DES DESEMBER DECEMBRE DÉCEMBRE DEZ DEZEMBER DICIEMBRE DIC DICEMBRE",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number

# Countries whose receipts print numeric dates month first (the rest print day first, or year first
# when the year comes first).
MONTH_FIRST_COUNTRIES: frozenset[str] = frozenset({"US", "PH", "FM", "PW", "MH", "BZ", "GU", "PR", "AS"})

# The main currency of countries, to decide the currency (and the date order) from a country.
COUNTRY_CURRENCY: dict[str, str] = {
    "MY": "MYR",
    "SG": "SGD",
    "US": "USD",
    "GB": "GBP",
    "IE": "EUR",
    "DE": "EUR",
    "FR": "EUR",
    "ES": "EUR",
    "IT": "EUR",
    "NL": "EUR",
    "BE": "EUR",
    "AT": "EUR",
    "PT": "EUR",
    "FI": "EUR",
    "GR": "EUR",
    "JP": "JPY",
    "CN": "CNY",
    "HK": "HKD",
    "TW": "TWD",
    "KR": "KRW",
    "IN": "INR",
    "ID": "IDR",
    "TH": "THB",
    "PH": "PHP",
    "VN": "VND",
    "AU": "AUD",
    "NZ": "NZD",
    "CA": "CAD",
    "CH": "CHF",
    "SE": "SEK",
    "NO": "NOK",
    "DK": "DKK",
    "PL": "PLN",
    "CZ": "CZK",
    "HU": "HUF",
    "BR": "BRL",
    "MX": "MXN",
    "ZA": "ZAR",
    "AE": "AED",
    "SA": "SAR",
    "TR": "TRY",
    "IL": "ILS",
    "EG": "EGP",
    "NG": "NGN",
    "KE": "KES",
    "PK": "PKR",
    "BD": "BDT",
    "LK": "LKR",
}

# The country a currency implies, where one country (for the euro, the union) dominates its use.
CURRENCY_COUNTRY: dict[str, str] = {
    "USD": "US",
    "MYR": "MY",
    "SGD": "SG",
    "GBP": "GB",
    "JPY": "JP",
    "CNY": "CN",
    "HKD": "HK",
    "KRW": "KR",
    "INR": "IN",
    "IDR": "ID",
    "THB": "TH",
    "PHP": "PH",
    "AUD": "AU",
    "NZD": "NZ",
    "CAD": "CA",
    "CHF": "CH",
    "TWD": "TW",
    "VND": "VN",
    "EUR": "EU",  # ISO 3166's reserved code for the union: its countries print the day first
}

# Printed currency marks, most specific first: (signs, words, ISO code). A sign (€, £, S$, "RM 9.00")
# names its currency wherever it stands. A word (an ISO code, EURO, RINGGIT) counts fully only next to
# an amount or in brackets ("TOTAL EUR 6,30", "AMOUNT (EUR)"): alone, three capital letters are as
# often an abbreviation (SEK for seksyen, AED, CAD on a card slip) as a currency. "$" alone is
# ambiguous and resolved by the hint or the country cues.
_MARKS: tuple[tuple[str | None, str | None, str], ...] = (
    (r"\bS\$", r"\bSGD\b", "SGD"),
    (r"\bHK\$", r"\bHKD\b", "HKD"),
    (r"\bNZ\$", r"\bNZD\b", "NZD"),
    (r"\bA\$|\bAU\$", r"\bAUD\b", "AUD"),
    (r"\bC\$|\bCA\$", r"\bCAD\b", "CAD"),
    (r"\bUS\$", r"\bUSD\b", "USD"),
    (r"\bNT\$", r"\bTWD\b", "TWD"),
    (r"\bRM\s?\d|\d\s?RM\b|\(RM\)", r"\bMYR\b|\bRINGGIT\b", "MYR"),
    (r"€", r"\bEUR\b|\bEURO?S?\b", "EUR"),
    (r"£", r"\bGBP\b", "GBP"),
    (r"₹|\bRS\.?\s?\d", r"\bINR\b", "INR"),
    (r"\bRP\.?\s?\d", r"\bIDR\b", "IDR"),
    (r"฿", r"\bTHB\b|บาท", "THB"),
    (r"₱", r"\bPHP\b", "PHP"),
    (r"₩", r"\bKRW\b|원", "KRW"),
    (r"円", r"\bJPY\b", "JPY"),
    (r"元|人民币", r"\bRMB\b|\bCNY\b", "CNY"),
    (None, r"\bCHF\b|\bSFR\b", "CHF"),
    (r"₫", r"\bVND\b", "VND"),
    (r"₺", r"\bTRY\b", "TRY"),
    (r"₽", r"\bRUB\b", "RUB"),
    (None, r"\bZ[ŁL]\b|\bPLN\b", "PLN"),
    (None, r"\bKČ\b|\bCZK\b", "CZK"),
    (None, r"\bAED\b|\bDHS?\b", "AED"),
    (None, r"\bSAR\b", "SAR"),  # not "SR": Malaysian receipts print it as a tax code before amounts
    (None, r"\bSEK\b", "SEK"),
    (None, r"\bNOK\b", "NOK"),
    (None, r"\bDKK\b", "DKK"),
    (r"\bR\s?\d+[.,]\d{2}\b", r"\bZAR\b", "ZAR"),
)
CURRENCY_MARKS: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (_re(pattern), code, is_sign)
    for sign, word, code in _MARKS
    for pattern, is_sign in ((sign, True), (word, False))
    if pattern is not None
)
# What makes a currency word count: an amount right after it or right before it (a few signs or
# spaces between), or brackets around it. An amount has decimals, thousands groups or three digits:
# "SEK 13" is section 13, "TOTAL SEK 120,00" is kronor.
_MONEY = r"(\d[\d.,' ]*[.,]\d{2}(?!\d)|\d{1,3}([.,' ]\d{3})+(?!\d)|\d{3,})"
CURRENCY_WORD_AMOUNT_AFTER = re.compile(rf"^[\s:=*.)\]-]{{0,3}}-?{_MONEY}")
CURRENCY_WORD_AMOUNT_BEFORE = re.compile(rf"{_MONEY}[\s*]{{0,2}}$")
CURRENCY_WORD_BRACKETS = re.compile(r"[(\[]\s*$")

# Yen sign: Japanese yen unless the receipt reads Chinese; resolved in the extractor.
YEN_SIGN = "¥"
DOLLAR_SIGN = "$"
DOLLAR_CURRENCIES: frozenset[str] = frozenset(
    {"USD", "SGD", "HKD", "AUD", "NZD", "CAD", "TWD", "BND", "FJD", "JMD", "TTD", "BSD", "BBD", "XCD", "MXN"}
)

# Words on a receipt that place it in a country, when no currency is printed: legal forms, tax
# names, address forms (a US state and ZIP code, a Canadian postal code), words of the language.
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY"
    "|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_US_STATE_NAMES = (
    "ALABAMA|ALASKA|ARIZONA|ARKANSAS|CALIFORNIA|COLORADO|CONNECTICUT|DELAWARE|FLORIDA|GEORGIA|HAWAII"
    "|IDAHO|ILLINOIS|INDIANA|IOWA|KANSAS|KENTUCKY|LOUISIANA|MAINE|MARYLAND|MASSACHUSETTS|MICHIGAN"
    "|MINNESOTA|MISSISSIPPI|MISSOURI|MONTANA|NEBRASKA|NEVADA|NEW\\s*HAMPSHIRE|NEW\\s*JERSEY|NEW\\s*MEXICO"
    "|NEW\\s*YORK|NORTH\\s*CAROLINA|NORTH\\s*DAKOTA|OHIO|OKLAHOMA|OREGON|PENNSYLVANIA|RHODE\\s*ISLAND"
    "|SOUTH\\s*CAROLINA|SOUTH\\s*DAKOTA|TENNESSEE|TEXAS|UTAH|VERMONT|VIRGINIA|WASHINGTON|WISCONSIN|WYOMING"
)
COUNTRY_CUES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (_re(p), country)
    for p, country in (
        # long place names also inside words OCR glued together ("KUALASELANGOR", "TAMANSEJATI");
        # GST at 6% was Malaysia's (2015-2018; SST since), 7-9% Singapore's
        (
            r"\bSDN\.?\s*BHD\b|\bBHD\b|MALAYSIA|SELANGOR|\bJOHOR\b|KUALA\s*LUMPUR|PULAU\s*PINANG"
            r"|\bPERAK\b|\bSABAH\b|\bSARAWAK\b|\bMELAKA\b|\bKEDAH\b|\bPAHANG\b|\bJALAN|\bJLN\b|\bTAMAN"
            r"|\bGST\s*[@:]?\s*6(\.0+)?\s*%|(?<![\d.])6(\.0+)?\s*%\s*GST\b|\bSST\b",
            "MY",
        ),
        (
            r"\bPTE\.?\s*LTD\b|\bSINGAPORE\b|\bUEN\b|\bGST\s*[@:]?\s*[789](\.0+)?\s*%|(?<![\d.])[789](\.0+)?\s*%\s*GST\b",
            "SG",
        ),
        (r"\bGSTIN\b|\bPVT\.?\s*LTD\b", "IN"),
        (
            r"\bGMBH\b|\bMWST\b|\bUST\.?\s*-?\s*I[D0]|\bSTEUER\s*-?\s*(NR|NUMMER)|\bSTRA(SS|B|ß)E\b|\bQUITTUNG\b"
            r"|\bKASSE\b|\bBON\s*-?\s*NR|\bVIELEN\s*DANK\b|\bEINKAUF\b|\bRUCKGELD\b|\bZU\s*ZAHLEN\b|\bSUMME\s*EUR",
            "DE",
        ),
        (r"\bTVA\b|\bSIRET\b|\bSARL\b|\bTTC\b|\bMERCI\b|\bCAISSE\b", "FR"),
        (r"\bP\.?\s*IVA\b|\bRISTORANTE\b|\bCOPERTI\b|\bSCONTRINO\b|\bTELEF[O0]NO\b|\bGRAZIE\b", "IT"),
        (r"\bABN\b|\bPTY\.?\s*LTD\b|\bAUSTRALIA\b", "AU"),
        (r"\bVAT\s*REG|\bUNITED\s*KINGDOM\b|\bLONDON\b", "GB"),
        (r"\bGST\s*/\s*HST\b|\bHST\b|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b|\bCANADA\b", "CA"),
        (
            r"\bLLC\b|\bUSA\b|\bSALES\s*TAX\b"
            rf"|[,.]\s*({_US_STATES})\s*\d{{5}}(-\d{{4}})?(?!\d)|\b({_US_STATES})\s+\d{{5}}(-\d{{4}})?\s*$"
            rf"|\b({_US_STATE_NAMES})\b|\(\s?\d{{3}}\s?\)\s?\d{{3}}\s?-\s?\d{{4}}|(?<![\d-])\d{{3}}-\d{{3}}-\d{{4}}(?![\d-])"
            r"|\bGRATUITY\b|\bSUGGESTED\s*TIP",
            "US",
        ),
    )
)

# Legal forms of companies: a header line carrying one is the merchant's registered name.
LEGAL_FORMS: re.Pattern[str] = _re(
    r"\b(SDN\.?\s*BHD|BHD|BERHAD|S/B|LTD|LIMITED|INC|LLC|L\.L\.C|CORP|CORPORATION|CO\.|COMPANY|PTE|PLC"
    r"|GMBH|AG|S\.?A\.?R\.?L|S\.?P\.?A|B\.?V|PTY|N\.?V|OY|AB|AS|KG)(?!\w)"
)
# Words naming a kind of business: a header line carrying one is likely the trading name.
BUSINESS_WORDS: re.Pattern[str] = _re(
    r"\b(ENTERPRISES?|ENT|TRADING|TRADERS?|RESTAURANTS?|RESTORAN|CAFE|KEDAI|SYARIKAT|PERNIAGAAN|HARDWARE"
    r"|BAKERY|STATIONERY|PHARMACY|FARMASI|MART|SUPERMARKET|HYPERMARKET|STORES?|SHOP|BOOKSTORE|BOOKS"
    r"|INDUSTRIES|HOLDINGS|MARKETING|SERVICES?|ELECTRICAL|MACHINERY|MOTOR|FOODS?|KITCHEN|BISTRO|HOTEL"
    r"|GROUP|PASARAYA|MINIMARKET|BAR|GRILL|PIZZERIA|DINER|DELI|BOUTIQUE|CLINIC|KLINIK|GARAGE|STATION)(?!\w)"
)
COMPANY_SUFFIXES: re.Pattern[str] = re.compile(f"{LEGAL_FORMS.pattern}|{BUSINESS_WORDS.pattern}")
# Words that end a company name: a line starting with one continues the line above.
NAME_ENDINGS: re.Pattern[str] = _re(
    r"^\(?\s*(SDN\.?\s*BHD|BHD|BERHAD|S/B|LTD|LIMITED|INC|LLC|CO\.|PTE|PLC|GMBH|ENTERPRISES?|TRADING"
    r"|TRADERS|INDUSTRIES|HOLDINGS|MARKETING|SERVICES)(?!\w)"
)
# A line below the name ending in one of these nouns carries the name on: "RESTAURANT JIAWEI" +
# "JIAWEI HOUSE", "GOLDEN" + "DRAGON CAFE".
NAME_CONTINUATION_TAIL: re.Pattern[str] = _re(
    r"\b(HOUSE|CAFE|BISTRO|KITCHEN|BAKERY|RESTAURANT|RESTORAN|EATERY|CANTEEN|DELI|GRILL|PUB|TAVERN"
    r"|TEAHOUSE|PATISSERIE|BOULANGERIE|PIZZERIA|TRATTORIA|BRASSERIE|STEAKHOUSE|BAR)\s*$"
)
# Words introducing the legal owner of a shop: "DIMILIKI: ABC SDN BHD", "OPERATED BY ...".
OWNER_PREFIX: re.Pattern[str] = _re(
    r"^\s*(DIMILIKI\s*(OLEH)?|MILIK|OWNED\s*BY|OWN\s*BY|OPERATED\s*BY|A\s*MEMBER\s*OF|MANAGED\s*BY)\s*:?\s*"
)

# Header lines that are not the merchant's name: documents titles, addresses, identifiers, contacts.
HEADER_NOISE: tuple[re.Pattern[str], ...] = tuple(
    _re(p)
    for p in (
        r"\b(TAX|CASH|SIMPLIFIED|OFFICIAL|SALES?)\s*(INVOICE|RECEIPT|BILL)\b|^\s*(INVOICE|RECEIPT|BILL|RESIT)\b",
        r"\b(WELCOME|THANK\s*YOU|SELAMAT|CUSTOMER\s*COPY|MERCHANT\s*COPY|DUPLICATE|REPRINT|COPY)\b",
        r"\b(CO\.?\s*REG|CO\.?\s*NO\b|COMPANY\s*(REG|NO)|REG\.?\s*(NO|NUMBER)|ROC\b|SSM\b|BRN\b|BUSINESS\s*REG)",
        r"\b(GST|SST|VAT|TAX)\s*(REG\w*|ID|NO|NUMBER|#)|\bGSTIN\b|\bABN\b|\bUEN\b|\bTIN\b|\bNPWP\b",
        r"\b(TEL|TELE?PHONE|PHONE|FAX|H/?P|MOBILE|HOTLINE|WHATSAPP|CALL)\b",
        r"WWW\.|HTTPS?:|@|\.COM\b|\.MY\b",
        r"^(?!.*\b(SDN\.?\s*BHD|BHD|BERHAD|LTD|LIMITED|INC|LLC|GMBH|PTE|PLC)\b)"  # not in a company's name
        r".*\b(JALAN|JLN|LORONG|LRG|TAMAN|TMN|LOT|PERSIARAN|LEBUH|KAMPUNG|KG|BANDAR|BDR|SEKSYEN|SECTION"
        r"|ROAD|RD|STREET|ST|AVENUE|AVE|BLVD|BOULEVARD|LANE|HIGHWAY|FLOOR|LEVEL|SUITE|UNIT|BLOCK|BLK"
        r"|PLAZA|MALL|BUILDING|BANGUNAN|KOMPLEKS|COMPLEX|WISMA|STRASSE|STR\.|RUE|AVENIDA|VIA)\b",
        r"^\s*(NO|LOT)\s*\.?\s*[:#]?\s*\d",
        r"\b\d{5}\b\s+[A-Z]",  # postcode before a town
        r"(^|,)\s*(KUALA\s*LUMPUR|SELANGOR|JOHOR|PULAU\s*PINANG|PENANG|PERAK|MELAKA|NEGERI\s*SEMBILAN"
        r"|KEDAH|PAHANG|TERENGGANU|KELANTAN|SABAH|SARAWAK|PUTRAJAYA|MALAYSIA|SINGAPORE)\b\.?\s*$",
        r"\(\s*\d{3,}[\s-]*[A-Z]\s*\)|\b\d{5,}-[A-Z]\b",  # company registration numbers like (123456-X)
        r"\b(DATE|TIME|CASHIER|TABLE|INVOICE\s*NO|RECEIPT\s*NO|BILL\s*NO|DOC\s*NO|SLIP|POS|TERMINAL|COUNTER)\b",
        r"^[\W\d]*$",  # no letters at all
    )
)

# Common misreads of legal forms in names, put right: "SAN BHD" -> "SDN BHD", "C0." -> "CO.".
NAME_FIXES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (_re(p), r)
    for p, r in (
        (r"\bS[A-Z0-9]N\.?\s*BH[A-Z0-9]\b\.?", "SDN BHD"),
        (r"\bS[A-Z0-9]NBH[A-Z0-9]\b", "SDN BHD"),
        (r"\bSDN\.?\s*BH[A-Z0-9]\b\.?", "SDN BHD"),
        (r"\bS/[BD8]\b", "S/B"),
        (r"\bC0(?=[.(\s])", "CO"),
        (r"\bENTERFRISE\b|\bENTERPRlSE\b", "ENTERPRISE"),
    )
)

# Header noise that may be cut off the end of a name line rather than rejecting the line.
NAME_TAIL_NOISE: tuple[re.Pattern[str], ...] = (
    _re(r"\s*[\(\[][^()\[\]]*\d{4,}[^()\[\]]*[\)\]]?\s*$"),  # "(CO. NO. 113825-W)"
    # a registration number: "CO. NO 12345", "ROC 123", "965857-A" (short bare numbers such as
    # "99" or "666" are often part of the name)
    _re(r"\s*(CO\.?\s*(REG|NO)\.?\s*(NO)?\.?|ROC|SSM)\s*:?\s*\d{3,}[\s-]*[A-Z]?\s*$"),
    _re(r"\s*\d{5,}[\s-]*[A-Z]?\s*$|\s*\d{3,}\s*-\s*[A-Z]\s*$"),
    _re(r"\s*\b(GST|SST)\s*(REG\w*|ID|NO)\b.*$"),
    _re(r"[\s.,:;*#-]+$"),
    _re(r"^[\s.,:;*#-]+"),
)
