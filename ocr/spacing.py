"""Spaces in a shop's name put back where OCR lost or added them.

The recognizer often runs words together ("UNIHAKKAINTERNATIONALSDNBHD") and sometimes splits one
("RES TAURANT"). Both are undone only with known words: a run-together token is split where it
reads as words of ``NAME_WORDS`` (and at most one unknown name in front of them, a shop's own
name such as "UNIHAKKA"); two fragments are joined where together they make such a word and apart
they do not. Anything else is left as read: "MR D I Y" keeps its spaces.
"""

from __future__ import annotations

import re
from functools import cache

from ocr import keywords

# Words that occur in shop names, by language; with the receipt vocabulary of ocr.keywords they
# decide where a run-together name splits. Adding a word here is a data change.
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "legal": (
        "SDN",
        "BHD",
        "BERHAD",
        "LTD",
        "LIMITED",
        "INC",
        "LLC",
        "CORP",
        "CORPORATION",
        "COMPANY",
        "PTE",
        "PLC",
        "GMBH",
        "CO",
        "KG",
        "OHG",
        "SARL",
        "SAS",
        "SRL",
        "SPA",
        "BV",
        "NV",
        "PTY",
    ),
    "en": (
        "THE",
        "AND",
        "OF",
        "AT",
        "INTERNATIONAL",
        "TRADING",
        "TRADERS",
        "ENTERPRISE",
        "ENTERPRISES",
        "HARDWARE",
        "STATIONERY",
        "BOOKS",
        "BOOK",
        "STORE",
        "STORES",
        "SHOP",
        "MARKET",
        "MART",
        "SUPER",
        "MINI",
        "FOOD",
        "FOODS",
        "BEVERAGE",
        "BEVERAGES",
        "RESTAURANT",
        "RESTAURANTS",
        "CAFE",
        "COFFEE",
        "BAKERY",
        "BAKERIES",
        "SUPERMARKET",
        "MINIMARKET",
        "HYPERMARKET",
        "FOODCOURT",
        "KITCHEN",
        "HOUSE",
        "GRILL",
        "BAR",
        "PUB",
        "DINER",
        "PIZZA",
        "BURGER",
        "BURGERS",
        "CHICKEN",
        "SEAFOOD",
        "SUSHI",
        "NOODLE",
        "NOODLES",
        "STEAK",
        "STEAKHOUSE",
        "TEA",
        "JUICE",
        "VEGETARIAN",
        "FUSION",
        "ASIAN",
        "CITY",
        "WORLD",
        "TASTE",
        "SERVICE",
        "SERVICES",
        "AREA",
        "REST",
        "STATION",
        "PHARMACY",
        "HEALTH",
        "BEAUTY",
        "FASHION",
        "HOME",
        "DECO",
        "GIFT",
        "GIFTS",
        "ELECTRICAL",
        "ELECTRONICS",
        "MACHINERY",
        "MOTOR",
        "MOTORS",
        "AUTO",
        "PARTS",
        "SUPPLY",
        "SUPPLIES",
        "INDUSTRIES",
        "HOLDINGS",
        "GROUP",
        "MARKETING",
        "DEPOT",
        "CENTRE",
        "CENTER",
        "PLAZA",
        "MALL",
        "HOTEL",
        "TRAVEL",
        "FRESH",
        "GOLDEN",
        "ROYAL",
        "GRAND",
        "NEW",
        "OLD",
        "BIG",
        "LITTLE",
        "GREEN",
        "RED",
        "BLUE",
        "HAPPY",
        "LUCKY",
        "STAR",
        "SUN",
        "MOON",
        "GARDEN",
        "CORNER",
        "EXPRESS",
        "PLUS",
        "OUTLET",
        "BRANCH",
        "SPORTS",
        "BISTRO",
        "DELI",
        "BUFFET",
        "TAVERN",
        "BREWERY",
        "WINE",
        "WINES",
        "LIQUOR",
        "GROCERY",
        "GROCERIES",
        "PRINTING",
        "OFFICE",
        "CLINIC",
        "DENTAL",
        "OPTICAL",
        "LAUNDRY",
        "TAILOR",
        "TAILORING",
        "HANDICRAFT",
    ),
    "ms": (
        "SYARIKAT",
        "PERNIAGAAN",
        "KEDAI",
        "RESTORAN",
        "PASARAYA",
        "BORONG",
        "RUNCIT",
        "MAKANAN",
        "MINUMAN",
        "KOPI",
        "FARMASI",
        "KLINIK",
        "PERABOT",
        "JAYA",
        "MAJU",
        "BARU",
        "SEGAR",
        "NASI",
        "MEE",
        "GERAI",
        "EMAS",
        "BESI",
        "ALAT",
        "TULIS",
        "BUKU",
        "DAN",
        "TEKSTIL",
    ),
    "de": (
        "BACKEREI",
        "BAECKEREI",
        "METZGEREI",
        "APOTHEKE",
        "MARKT",
        "SUPERMARKT",
        "DROGERIE",
        "KAUFHAUS",
        "GASTSTATTE",
        "GASTHAUS",
        "GASTHOF",
        "KNEIPE",
        "RESTAURANT",
        "TANKSTELLE",
        "BUCHHANDLUNG",
        "UND",
        "HANDEL",
        "HANDELS",
        "BAU",
        "HAUS",
        "GARTEN",
        "ELEKTRO",
        "MODE",
        "SCHUHE",
        "BLUMEN",
    ),
    "fr": (
        "BOULANGERIE",
        "PATISSERIE",
        "BOUCHERIE",
        "PHARMACIE",
        "BRASSERIE",
        "EPICERIE",
        "LIBRAIRIE",
        "TABAC",
        "PRESSE",
        "CAVE",
        "CHEZ",
        "LE",
        "LA",
        "LES",
        "DU",
        "DES",
        "ET",
    ),
    "es": (
        "PANADERIA",
        "FARMACIA",
        "CERVECERIA",
        "TIENDA",
        "MERCADO",
        "LIBRERIA",
        "EL",
        "LOS",
        "LAS",
        "DEL",
        "Y",
    ),
    "it": (
        "RISTORANTE",
        "TRATTORIA",
        "PIZZERIA",
        "OSTERIA",
        "PANIFICIO",
        "FARMACIA",
        "TABACCHERIA",
        "IL",
        "DI",
        "DEL",
        "DELLA",
        "E",
    ),
    "nl": ("BAKKERIJ", "SLAGERIJ", "APOTHEEK", "WINKEL", "DE", "HET", "EN", "VAN"),
    "pt": ("PADARIA", "FARMACIA", "MERCEARIA", "LOJA", "DO", "DA", "DOS", "DAS"),
}

_MIN_TOKEN = 6  # shorter run-together tokens are left alone
_MIN_UNKNOWN = 4  # "HAMBURGERS" is not "HAM BURGERS"


@cache
def vocabulary() -> frozenset[str]:
    words = {w for group in NAME_WORDS.values() for w in group}
    for by_language in keywords.KEYWORDS.values():
        for phrases in by_language.values():
            words.update(keywords.fold(p) for phrase in phrases for p in phrase.split())
    return frozenset(w for w in words if w.isalpha())


def _known(piece: str) -> bool:
    return piece in vocabulary() and (len(piece) >= 3 or piece in NAME_WORDS["legal"])


def split_token(token: str) -> list[str]:
    """A run-together token as the words it reads as, or ``[token]`` when it does not."""
    if len(token) < _MIN_TOKEN or not token.isalpha() or token in vocabulary():
        return [token]
    n = len(token)
    # best[i]: (cost, pieces) for token[:i]; a known word costs 1, one unknown leading piece more
    best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    for end in range(1, n + 1):
        for start in range(0, end):
            if best[start] is None:
                continue
            piece = token[start:end]
            cost, pieces = best[start]  # type: ignore[misc]
            if _known(piece):
                step = 1.0
            elif start == 0 and len(piece) >= _MIN_UNKNOWN:
                step = 2.0 + 0.5 * len(piece)  # an unknown name costs more the more it covers
            else:
                continue
            candidate = (cost + step, [*pieces, piece])
            current = best[end]
            if current is None or candidate[0] < current[0]:
                best[end] = candidate
    result = best[n]
    if result is None or len(result[1]) < 2:
        return [token]
    last = result[1][-1]
    if len(last) <= 3 and last not in NAME_WORDS["legal"]:
        return [token]  # "CHICKENLAND" does not end in "AND": short words only between others
    return result[1]


def _join_letter_spaced(tokens: list[str]) -> list[str]:
    """Letters printed apart ("A L D I", "T O O M B A U M A R K T"): a run of four or more single
    letters is one word set in spaced type. Three or fewer stay apart, as initials do ("D I Y")."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        out.extend(["".join(run)] if len(run) >= 4 else run)
        run = []
        if token:
            out.append(token)
    return out


def respace(name: str) -> str:
    """``name`` with run-together words split and split words joined, as far as known words tell."""
    tokens = _join_letter_spaced(name.split())
    joined: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if i + 1 < len(tokens):
            pair = token + tokens[i + 1]
            apart_known = _known(token) and _known(tokens[i + 1])
            if pair.isalpha() and pair in vocabulary() and len(pair) >= 3 and not apart_known:
                joined.append(pair)
                i += 2
                continue
        joined.append(token)
        i += 1
    out: list[str] = []
    for token in joined:
        letters = re.fullmatch(r"([^A-Z]*)([A-Z]+)([^A-Z]*)", token)
        if letters is None:
            out.append(token)
            continue
        lead, core, tail = letters.groups()
        pieces = split_token(core)
        pieces[0] = lead + pieces[0]
        pieces[-1] = pieces[-1] + tail
        out.extend(pieces)
    return " ".join(out)
