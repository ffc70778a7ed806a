"""Customer matching on notes as people write them: a second, independent evaluation.

``match_bench.py`` is what the matcher was first tuned on. This generator shares none of its
sentence templates, word lists or distractor vocabulary. It builds a CRM the way a sales team's
CRM looks and writes notes the way salespeople type them:

* **The CRM.** The 7,854 real companies of ``sec_companies.csv`` padded to 100,000 with invented
  companies (own vocabulary, some reusing words of real names). Like a Salesforce account's
  ``TickerSymbol`` and a curated alias list, each real company's CRM record carries its ticker
  in the alias field, and about a hundred well-known companies also carry the brand, short and
  former names a CRM admin types in (P&G, Facebook, Citi, Goldman ...). Half the real companies
  have a web domain. Everything the matcher may know about a company comes from these fields.
* **Notes naming a customer**: the CRM alias (brand / former name), the ticker written in
  capitals, the first word people shorten a name to (when no other customer starts with it and
  it is not an everyday English word, Zipf frequency below 3.8: nobody calls State Street "State"), the name without its legal form, each
  inside sentences full of places, days, times, amounts and people, sometimes with a typo.
* **Notes naming no customer**: activities, places, products, vendors people pay (Uber,
  Marriott, Delta ...) and generic words that occur in company names ("airport parking",
  "hotel 3 nts", "uber to the office", "summit registration").

Notes are split by seed: ``--part tune`` (seed 11) is what the matcher may be tuned on;
``--part heldout`` (seed 29, the default) is never looked at while tuning. The held-out part also
uses its own half of the people, cities and topics, and a third of the sentence templates only
it uses. Printed per part: % of naming notes linked to the right customer, % of none-notes
answered "none", % of all notes linked to a wrong customer while confident, ms per query.

    .venv/bin/python benchmarks/note_bench.py                         # held-out part, 100k
    .venv/bin/python benchmarks/note_bench.py --part tune --show-misses 30
    .venv/bin/python benchmarks/note_bench.py --part both --sizes 7854,100000
    .venv/bin/python benchmarks/note_bench.py --write-crm crm.csv --write-notes notes.tsv
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wordfreq import zipf_frequency

from storage.customers import build_index
from workflows.matching import CustomerIndex, CustomerRecord

DEFAULT_SEC = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[2] / "shared" / "data" / "crm" / "sec_companies.csv",
            Path("/work/shared/data/crm/sec_companies.csv"),
        )
        if p.exists()
    ),
    Path("sec_companies.csv"),
)
SEEDS = {"tune": 11, "heldout": 29}
CRM_SEED = 4242

# ---------------------------------------------------------------------------- the generated CRM


def _split(text: str) -> list[str]:
    return text.split()


# What a CRM admin types into the alias field of well-known accounts (brands, short and former
# names). Keyed by SEC CIK. This is CRM data: the matcher only sees it through the alias field.
CRM_ALIASES: dict[int, list[str]] = {
    80424: ["P&G", "Procter and Gamble"],
    200406: ["J&J", "JnJ"],
    1326801: ["Facebook", "Meta"],
    1652044: ["Google"],
    886982: ["Goldman", "Goldman Sachs"],
    19617: ["JPMorgan", "J.P. Morgan", "Chase"],
    831001: ["Citi", "Citibank"],
    310158: ["Merck", "MSD"],
    21344: ["Coca-Cola", "Coke"],
    77476: ["Pepsi"],
    1744489: ["Disney"],
    51143: ["Big Blue"],
    1645590: ["HP Enterprise"],
    70858: ["BofA", "BoA"],
    72971: ["Wells"],
    34088: ["ExxonMobil", "Exxon"],
    1067983: ["Berkshire"],
    731766: ["UnitedHealth", "Optum"],
    63908: ["McDonald's"],
    1018724: ["Amazon", "AWS"],
    4962: ["Amex"],
    1166691: ["Xfinity", "NBCUniversal"],
    59478: ["Lilly"],
    14272: ["BMS", "Bristol-Myers"],
    40545: ["GE Aerospace"],
    101829: ["Raytheon"],
    1090727: ["UPS"],
    936468: ["Lockheed"],
    1156039: ["Anthem"],
    1666700: ["DuPont"],
    89800: ["Sherwin-Williams"],
    1512673: ["Square"],
    1437107: ["Warner Bros", "Discovery"],
    1390777: ["BNY", "BNY Mellon"],
    97745: ["Thermo Fisher"],
    8670: ["ADP"],
    7084: ["ADM"],
    55067: ["Kellogg's", "Kellogg"],
    87347: ["SLB"],
    1140536: ["WTW", "Willis Towers Watson"],
    1046179: ["TSMC"],
    1099219: ["MetLife"],
    5272: ["AIG"],
    1637459: ["Kraft Heinz", "Kraft"],
    62709: ["Marsh McLennan"],
    1059556: ["Moody's"],
    64040: ["S&P"],
    1283699: ["T-Mobile"],
    1730168: ["Broadcom", "Avago"],
    1739940: ["Cigna"],
    732717: ["AT&T"],
    37996: ["Ford"],
    1467858: ["GM"],
    1403161: ["Visa"],
    1467373: ["Accenture"],
    1613103: ["Medtronic"],
    1001250: ["Estee Lauder"],
    21665: ["Colgate"],
    1418135: ["Keurig", "Dr Pepper"],
    1121404: ["Sanofi"],
    1163165: ["Conoco"],
    773840: ["Honeywell"],
    1108524: ["Salesforce"],
}

# Invented companies: this generator's own vocabulary (none of match_bench.py's lists).
PAD_HEADS = _split("""Abernathy Alcott Ashby Bancroft Blackburn Bradwell Carrington Chadwick Colby Crawley Darby
Dunmore Easton Fairbanks Fenwick Galloway Gresham Hadley Halston Hartwell Kendall Kingsley Langford
Lockwood Marlow Merriweather Norcross Oakes Pemberton Radcliffe Renwick Rutherford Selby Stratton
Talbot Thackeray Wexford Whitmore Wolcott Ardent Bluefin Brightpath Clearwater Coldspring Deepwell
Everline Fairwind Firstlight Goldcrest Greenfield Highpoint Ironwood Kestrel Larkspur Longview
Moonstone Northgate Oakridge Pathway Quicksilver Redstone Riverstone Rosewood Silverline Southpoint
Starfield Stonegate Sunbridge Tallgrass Westbrook Whitewater Wildrose Windward Yellowstone Aerion
Brevia Corvana Dexora Equinor Fintrea Gravix Hexaro Juvara Kalvio Lumenta Mirava Nortiq Orvana
Pexora Quorra Rendia Sylvio Tavora Urbana Vexa Wyvora Zelmar Cardinal Heron Kingfisher Mallard
Pelican Puffin Wren Bison Cougar Lynx Otter Badger Marten Caribou Tern""")
PAD_SHARED = _split("""Pacific Atlantic Summit Liberty Pioneer Heritage Frontier Eagle Phoenix Apex Premier Central
Western Eastern Northern Southern Coastal Mountain Valley River Lake Bay Harbor Park Sterling Crown
Royal Imperial Golden Silver Diamond Star Sun Union Standard Continental Metro Urban Prime Alliance
Legacy Victory Paramount Keystone Meridian Horizon Vanguard""")
PAD_TRADES = _split("""Advisory Aerospace Agritech Aviation Bakeries Builders Cabinetry Canning Carriers Ceramics
Chemicals Clinics Composites Concrete Construction Controls Creamery Distribution Drilling Electronics
Elevators Environmental Fabrication Fertilizers Fisheries Flooring Forestry Foundry Glassworks Grain
Hardware Hydraulics Instruments Irrigation Kitchens Landscaping Leasing Lumber Millwork Orchards Outfitters
Paving Pipelines Plumbing Precision Pumps Quarries Railcar Refining Roofing Rubber Sensors Signage
Surveying Tanning Tiles Timberlands Towing Turbines Upholstery Vineyards Welding Wineries Yachts""")
PAD_TAILS = [
    "Group",
    "Holdings",
    "Partners",
    "Company",
    "Works",
    "Associates",
    "Industries",
    "Brothers",
    "Supply",
    "Solutions",
    "Worldwide",
    "America",
    "USA",
    "International",
]
PAD_FORMS = ["Inc.", "LLC", "Corp.", "Ltd", "Co.", "L.P.", "GmbH", "S.A.", "plc", "", "", "", ""]


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    aliases: tuple[str, ...]
    domain: str | None
    ticker: str | None
    real: bool


def key(name: str) -> str:
    """The generator's own idea of 'the same name' (for duplicate real names and padding)."""
    text = re.sub(r"[^a-z0-9 ]+", " ", name.lower().replace("&", " and "))
    drop = {
        "inc",
        "corp",
        "co",
        "ltd",
        "llc",
        "plc",
        "lp",
        "l",
        "p",
        "sa",
        "s",
        "a",
        "gmbh",
        "the",
        "de",
        "corporation",
        "company",
        "limited",
        "incorporated",
        "nv",
        "ag",
        "se",
    }
    return " ".join(w for w in text.split() if w not in drop)


def load_sec(path: Path) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    seen: set[int] = set()
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            cik, name = int(row["cik"]), " ".join(row["name"].split())
            if name and cik not in seen:
                seen.add(cik)
                out.append((cik, row.get("ticker", "").strip(), name))
    return out


def make_crm(real: list[tuple[int, str, str]], size: int) -> list[Company]:
    rng = random.Random(CRM_SEED)
    companies: list[Company] = []
    taken: set[str] = set()
    for cik, ticker, name in real:
        aliases = list(CRM_ALIASES.get(cik, []))
        if ticker and ticker not in aliases:
            aliases.append(ticker)
        first = re.sub(r"[^a-z0-9]", "", name.split()[0].lower())
        domain = f"{first}.com" if rng.random() < 0.5 and len(first) >= 3 else None
        companies.append(Company(cik, name, tuple(aliases), domain, ticker or None, True))
        taken.add(key(name))
    next_id = 50_000_000
    while len(companies) < size:
        shape = rng.random()
        if shape < 0.3:
            core = f"{rng.choice(PAD_HEADS)} {rng.choice(PAD_TRADES)}"
        elif shape < 0.5:
            core = f"{rng.choice(PAD_SHARED)} {rng.choice(PAD_TRADES)}"
        elif shape < 0.65:
            core = f"{rng.choice(PAD_HEADS)} {rng.choice(PAD_SHARED)} {rng.choice(PAD_TAILS)}"
        elif shape < 0.8:
            core = f"{rng.choice(PAD_SHARED)} {rng.choice(PAD_HEADS)} {rng.choice(PAD_TRADES)}"
        elif shape < 0.9:
            core = f"{rng.choice(PAD_HEADS)} & {rng.choice(PAD_HEADS)} {rng.choice(PAD_TRADES)}"
        else:
            core = f"{rng.choice(PAD_HEADS)} {rng.choice(PAD_TRADES)} {rng.choice(PAD_TAILS)}"
        name = f"{core} {rng.choice(PAD_FORMS)}".strip()
        if key(name) in taken:
            continue
        taken.add(key(name))
        domain = None
        if rng.random() < 0.3:
            domain = re.sub(r"[^a-z]", "", core.split()[0].lower()) + rng.choice(
                [".com", ".net", ".io", "-group.com"]
            )
        companies.append(Company(next_id, name, (), domain, None, False))
        next_id += 1
    return companies


# ---------------------------------------------------------------------------- the notes

PEOPLE = _split("""Aoife Bjorn Chidi Dagny Emeka Fatima Gunnar Halima Ingrid Jurgen Kalani Leilani Mateus Nadia
Oskar Paloma Quentin Rosalind Soren Tamsin Ulrich Valeria Wiebke Ximena Yousef Zofia Amara Bastian Cosima
Desmond Eamon Freya Greta Hugo Imogen Jasper Kiran Linnea Magnus Niamh Olu Pilar Rashid Saoirse Tobias
Una Viggo Wilhelmina Xander Yannick Zeynep""")
ROLES = [
    "their CFO",
    "the VP eng",
    "procurement",
    "the buyer",
    "legal",
    "their CTO",
    "the champion",
    "2 of their engineers",
    "the ops lead",
    "their IT director",
    "the econ buyer",
    "sales eng",
]
CITIES = _split("""Pittsburgh Sacramento Tucson Omaha Raleigh Spokane Tampa Richmond Madison Reno Lyon Porto Turin
Bremen Utrecht Krakow Seville Nantes Antwerp Basel Dijon Genoa Gdansk Bergen Aarhus Leeds Cork Galway
Quebec Winnipeg Halifax Perth Hobart Nagoya Sendai Pune Surat Cebu""")
DAYS = [
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "Monday",
    "Tuesday",
    "Thursday",
    "friday",
    "last wk",
    "tmrw",
    "yday",
    "3/14",
    "11/02",
    "Q3",
    "Q4",
    "EOQ",
    "wk 42",
    "this morning",
    "tonight",
]
TIMES = ["7pm", "8:30", "noon", "9am", "6.30pm", "late", "am", "pm"]
TOPICS = [
    "renewal",
    "pilot",
    "POC",
    "expansion",
    "security review",
    "SOW",
    "pricing",
    "rollout",
    "migration",
    "contract redlines",
    "exec sponsor",
    "upsell",
    "onboarding",
    "escalation",
    "RFP",
    "MSA",
    "year-end review",
    "integration",
    "training",
    "launch",
]

# {x} is the customer as the writer refers to it. "both": tune and held-out; else only that part.
MENTION_TEMPLATES: list[tuple[str, str]] = [
    ("both", "uber to the {x} offices after the {topic} mtg"),
    ("both", "dinner w/ the {x} folks re {topic}"),
    ("both", "{x} - lunch w {person} & {role}"),
    ("heldout", "cab {city} airport -> {x} HQ"),
    ("both", "steakhouse, {x} team ({n} ppl), {day}"),
    ("both", "coffee with {person} from {x}"),
    ("heldout", "{x} {topic} kickoff, catering"),
    ("both", "flight {city} for {x} onsite {day}"),
    ("both", "drinks {time} w/ {x} + {person}"),
    ("heldout", "parking at {x} campus"),
    ("both", "hotel {n} nts - {x} workshop in {city}"),
    ("both", "the {x} guys, dinner at {person}'s pick"),
    ("heldout", "{x}: {role} lunch, {topic}"),
    ("both", "gift basket for {x} after {topic} signed"),
    ("both", "train to {city} to meet {x} {day}"),
    ("heldout", "brkfst mtg {x} {time}"),
    ("both", "{x} {topic}"),
    ("both", "took {x} {role} to dinner"),
    ("heldout", "team offsite w/ {x} in {city}"),
    ("both", "lunch {day} - {x}"),
    ("both", "{x} visit, rental car + gas"),
    ("heldout", "conf booth mtg w {x} ({person})"),
    ("both", "{x} QBR {city} {day}"),
    ("both", "beers w/ {x} ppl, {topic} celebration"),
]
NONE_TEMPLATES: list[tuple[str, str]] = [
    ("both", "airport parking"),
    ("both", "hotel {n} nts"),
    ("both", "uber to the office"),
    ("heldout", "lyft home from {city} airport"),
    ("both", "parking garage {city} {day}"),
    ("both", "mileage {n}0 mi to {city}"),
    ("heldout", "per diem {city} {n} days"),
    ("both", "team lunch {day}"),
    ("both", "dinner w/ {person} and {person2}"),
    ("heldout", "coffee w {person} {time}"),
    ("both", "new monitor + usb-c hub"),
    ("both", "wifi on flight"),
    ("heldout", "marriott {city} {n} nights"),
    ("both", "delta flight to {city}"),
    ("both", "united baggage fee"),
    ("heldout", "starbucks before {topic} call"),
    ("both", "amazon order - office chair"),
    ("both", "summit registration"),
    ("heldout", "general admission ticket, industry expo"),
    ("both", "first class upgrade {city}"),
    ("both", "national park pass for team event"),
    ("heldout", "pacific coast hwy tolls"),
    ("both", "gas for the rental"),
    ("both", "dry cleaning before trade show"),
    ("heldout", "phone bill {day}"),
    ("both", "books for {topic} training"),
    ("both", "taxi {city} station to hotel"),
    ("heldout", "capital city parking meter"),
    ("both", "global entry renewal"),
    ("both", "energy drinks + snacks for hackathon"),
    ("heldout", "health insurance copay travel"),
    ("both", "power adapter EU plug"),
    ("both", "hilton {city} {day}, {n} nts"),
    ("heldout", "breakfast at the hotel {time}"),
    ("both", "{topic} prep - pizza for the team"),
    ("both", "printer toner"),
    ("heldout", "visa fee for {city} trip"),
    ("both", "subway card top-up"),
    ("both", "lunch w/ {person} (new hire)"),
    ("heldout", "pioneer square parking {day}"),
    ("tune", "parking at union station"),
    ("tune", "lunch at the pacific grill w/ {person}"),
    ("tune", "taxi to central station {time}"),
    ("tune", "first aid kit for the booth"),
    ("tune", "standard room upgrade {city}"),
    ("tune", "global sales kickoff registration"),
    ("tune", "energy bars for the drive"),
    ("tune", "united club day pass"),
    ("tune", "national rail ticket {city}"),
    ("tune", "royal mile walking tour, team event"),
    ("tune", "golden gate bridge toll"),
    ("tune", "silver line train to the airport"),
    ("tune", "continental breakfast {n} ppl"),
    ("tune", "international roaming charges {day}"),
    ("tune", "premier inn {city} {n} nts"),
    ("tune", "money transfer fee, bank of the hotel"),
    ("tune", "heritage walk team outing"),
    ("tune", "crown plaza {city} {n} nights"),
    ("tune", "office depot - notebooks and pens"),
    ("tune", "best western {city}"),
]
SHORT_WORDS_SKIP = {
    "american",
    "first",
    "united",
    "general",
    "national",
    "global",
    "international",
    "new",
    "the",
    "bank",
    "capital",
    "great",
    "north",
    "south",
    "east",
    "west",
    "western",
    "eastern",
    "pacific",
    "atlantic",
    "royal",
    "standard",
    "central",
    "southern",
    "northern",
    "community",
    "citizens",
    "peoples",
    "home",
    "green",
    "blue",
    "black",
    "red",
    "gold",
    "golden",
    "silver",
    "star",
    "sun",
    "alpha",
    "beta",
    "one",
    "us",
    "u",
    "china",
    "energy",
    "health",
    "power",
    "data",
    "digital",
    "real",
    "big",
    "best",
    "block",
    "target",
    "visa",
    "ford",
    "amazon",
    "uber",
    "delta",
    "marriott",
    "hilton",
    "starbucks",
    "lyft",
}
# People shorten a name to its first word when that word is a name, not an everyday English word.
SHORT_MAX_ZIPF = 3.8
KINDS = ["alias", "ticker", "short", "name", "typo", "none"]


@dataclass(frozen=True)
class Note:
    kind: str
    text: str
    truth: int | None


def _halves(items: list[str], part: str) -> list[str]:
    return items[0::2] if part == "tune" else items[1::2]


def short_form(name: str, first_count: dict[str, int]) -> str | None:
    """What people shorten a name to: its first word when that word is distinctive."""
    words = [w for w in re.split(r"[\s,]+", name) if w]
    if len(words) < 2:
        return None
    first = re.sub(r"[^A-Za-z0-9&'-]", "", words[0])
    low = first.lower()
    if len(low) < 4 or low in SHORT_WORDS_SKIP or first_count.get(low, 0) != 1 or not low.isalpha():
        return None
    if zipf_frequency(low, "en") >= SHORT_MAX_ZIPF:
        return None  # nobody calls State Street "State" or Take-Two "Take"
    return first.title() if first.isupper() else first


def plain_name(name: str) -> str:
    """The name without the legal form and filing tags, as people write it."""
    name = re.sub(r"\s*[/\\][A-Za-z]{2,4}[/\\]?\s*$", "", name)
    words = name.replace(",", " ").split()
    forms = {
        "inc",
        "inc.",
        "corp",
        "corp.",
        "co",
        "co.",
        "ltd",
        "ltd.",
        "llc",
        "plc",
        "l.p.",
        "lp",
        "n.v.",
        "s.a.",
        "sa",
        "ag",
        "se",
        "/de/",
        "/md/",
        "corporation",
        "company",
        "limited",
        "incorporated",
    }
    while len(words) > 1 and words[-1].lower() in forms:
        words.pop()
    out = " ".join(words)
    return out.title() if out.isupper() and len(out) > 4 else out


def typo(word_text: str, rng: random.Random) -> str | None:
    words = word_text.split()
    spots = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not spots:
        return None
    i = rng.choice(spots)
    w = words[i]
    p = rng.randrange(1, len(w) - 1)
    op = rng.random()
    if op < 0.3:
        w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]  # transposition
    elif op < 0.55:
        w = w[:p] + w[p + 1 :]  # missing letter
    elif op < 0.8:
        w = w[:p] + rng.choice("qwertyuiopasdfghjklzxcvbnm") + w[p + 1 :]  # wrong key
    else:
        w = w[:p] + w[p] + w[p:]  # doubled letter
    words[i] = w
    return " ".join(words)


def make_notes(crm: list[Company], per_kind: int, part: str) -> list[Note]:
    rng = random.Random(SEEDS[part])
    mention_t = [t for who, t in MENTION_TEMPLATES if who == "both" or who == part]
    none_t = [t for who, t in NONE_TEMPLATES if who == "both" or who == part]
    people, cities, topics = _halves(PEOPLE, part), _halves(CITIES, part), _halves(TOPICS, part)
    real = [c for c in crm if c.real]
    first_count: dict[str, int] = defaultdict(int)
    for c in crm:  # a short name is one only while no other customer starts that way
        first_count[c.name.split()[0].lower().strip(",")] += 1

    def fill(template: str, x: str = "") -> str:
        text = template.format(
            x=x,
            person=rng.choice(people),
            person2=rng.choice(people),
            role=rng.choice(ROLES),
            city=rng.choice(cities),
            day=rng.choice(DAYS),
            time=rng.choice(TIMES),
            topic=rng.choice(topics),
            n=rng.randint(2, 9),
        )
        style = rng.random()
        if style < 0.35:
            text = text.lower()
        elif style < 0.45:
            text = text[0].upper() + text[1:]
        return text

    def mention_note(kind: str, x: str, truth: int) -> Note:
        # A ticker or an alias written in capitals keeps its capitals in a lower-case note.
        template = rng.choice(mention_t)
        text = fill(template, "\0")
        return Note(kind, text.replace("\0", x), truth)

    notes: list[Note] = []
    with_alias = [c for c in real if c.id in CRM_ALIASES]
    for _ in range(per_kind):
        c = rng.choice(with_alias)
        alias = rng.choice(CRM_ALIASES[c.id])
        notes.append(mention_note("alias", alias if rng.random() < 0.7 else alias.lower(), c.id))
    tickered = [c for c in real if c.ticker and len(c.ticker) >= 2 and c.ticker.isalpha()]
    for _ in range(per_kind):
        c = rng.choice(tickered)
        notes.append(mention_note("ticker", c.ticker or "", c.id))
    made = 0
    for c in rng.sample(real, len(real)):
        short = short_form(c.name, first_count)
        if short is None:
            continue
        notes.append(mention_note("short", short if rng.random() < 0.6 else short.lower(), c.id))
        made += 1
        if made == per_kind:
            break
    for _ in range(per_kind):
        c = rng.choice(real)
        x = plain_name(c.name)
        notes.append(mention_note("name", x if rng.random() < 0.6 else x.lower(), c.id))
    made = 0
    for c in rng.sample(real, len(real)):
        base = short_form(c.name, first_count) if rng.random() < 0.4 else None
        x = typo(base or plain_name(c.name), rng)
        if x is None:
            continue
        notes.append(mention_note("typo", x if rng.random() < 0.6 else x.lower(), c.id))
        made += 1
        if made == per_kind:
            break
    for _ in range(per_kind):
        notes.append(Note("none", fill(rng.choice(none_t)), None))
    return notes


# ---------------------------------------------------------------------------- running


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def evaluate(
    index: CustomerIndex, crm: list[Company], notes: list[Note], show_misses: int
) -> dict[str, float]:
    same: dict[str, set[int]] = defaultdict(set)
    key_of: dict[int, str] = {}
    for c in crm:
        if c.real:
            same[key(c.name)].add(c.id)
            key_of[c.id] = key(c.name)
    names = {c.id: c.name for c in crm}
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    wrong_confident = 0
    times: list[float] = []
    cpu_times: list[float] = []
    misses: list[str] = []
    for note in notes:
        started, cpu_started = time.perf_counter(), time.thread_time()
        result = index.match(note.text)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.thread_time() - cpu_started) * 1000)
        got = result.customer.id if result.customer else None
        ok = got == note.truth or (
            got is not None and note.truth is not None and got in same.get(key_of[note.truth], set())
        )
        total[note.kind] += 1
        right[note.kind] += ok
        if not ok and result.confident:
            wrong_confident += 1
        if not ok and len(misses) < show_misses:
            want = names[note.truth] if note.truth else "none"
            gotn = result.customer.name if result.customer else "none"
            misses.append(
                f"  [{note.kind}] {note.text!r}: want {want!r}, got {gotn!r} {result.score:.0f}"
                f"{' CONFIDENT' if result.confident else ''} ({result.reason})"
            )
    naming = [k for k in KINDS if k != "none"]
    out = {
        "right": sum(right[k] for k in naming) / max(1, sum(total[k] for k in naming)),
        "none": right["none"] / max(1, total["none"]),
        "wrong_confident": wrong_confident / max(1, len(notes)),
        "ms_mean": statistics.fmean(times),
        "ms_p99": percentile(times, 0.99),
        "cpu_ms_mean": statistics.fmean(cpu_times),
    }
    for k in KINDS:
        if total[k]:
            print(f"    {k:7s} {right[k] / total[k]:7.1%}  ({right[k]}/{total[k]})")
    print(f"  notes naming a customer linked right: {out['right']:.1%}")
    print(f"  notes naming none answered none:      {out['none']:.1%}")
    print(f"  linked wrong while confident:         {out['wrong_confident']:.1%} of all notes")
    print(
        f"  ms per query: mean {out['ms_mean']:.2f}, p50 {percentile(times, 0.5):.2f}, p99 {out['ms_p99']:.2f}"
    )
    print(
        f"  CPU ms per query: mean {out['cpu_ms_mean']:.2f}, p50 {percentile(cpu_times, 0.5):.2f}, "
        f"p99 {percentile(cpu_times, 0.99):.2f}  (wall time includes waiting for a busy machine)"
    )
    for line in misses:
        print(line)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sec_csv", nargs="?", type=Path, default=DEFAULT_SEC, help="cik,ticker,name CSV")
    parser.add_argument("--sizes", default="100000", help="customer-list sizes, comma-separated")
    parser.add_argument("--per-kind", type=int, default=400, help="notes per kind")
    parser.add_argument("--part", choices=["tune", "heldout", "both"], default="heldout")
    parser.add_argument("--show-misses", type=int, default=0)
    parser.add_argument("--write-crm", type=Path, help="also write the CRM as an import CSV")
    parser.add_argument("--write-notes", type=Path, help="also write the notes (kind, truth, text) as TSV")
    args = parser.parse_args(argv)
    real = load_sec(args.sec_csv)
    parts = ["tune", "heldout"] if args.part == "both" else [args.part]
    for size in (int(s) for s in args.sizes.split(",")):
        crm = make_crm(real, max(size, len(real)))
        if args.write_crm:
            with args.write_crm.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["id", "name", "aliases", "domain"])
                writer.writerows((c.id, c.name, ";".join(c.aliases), c.domain or "") for c in crm)
        records = [CustomerRecord(c.id, c.name, c.aliases, c.domain) for c in crm]
        started = time.perf_counter()
        index = build_index(records)
        print(f"\n== {len(crm):,} customers (index built in {time.perf_counter() - started:.1f} s) ==")
        for part in parts:
            notes = make_notes(crm, args.per_kind, part)
            if args.write_notes:
                with args.write_notes.open("w", encoding="utf-8") as fh:
                    for n in notes:
                        fh.write(f"{n.kind}\t{n.truth or ''}\t{n.text}\n")
            print(f" -- {part} part: {len(notes):,} notes (seed {SEEDS[part]})")
            evaluate(index, crm, notes, args.show_misses)


if __name__ == "__main__":
    main()
