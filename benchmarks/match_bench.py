"""Customer-matching benchmark: accuracy, "no customer" answers, speed and import time.

Customers are the real company names in ``sec_companies.csv`` (cik,ticker,name), padded with
plausible, deterministic distractor names to 100,000. Queries are written the way employees
write expense notes: the exact name, lower case, the legal form dropped or changed, a common
short name, typos, the name inside a sentence, and notes that name no customer at all.

Query generation is split in two halves that share no sentence templates, typo placement or
seed: ``--split tune`` is what the matcher may be tuned on, ``--split report`` (the default)
is held out and is what the published figures come from.

    .venv/bin/python benchmarks/match_bench.py                      # report split, 7.8k and 100k
    .venv/bin/python benchmarks/match_bench.py --split tune --sizes 100000 --show-misses 20
    .venv/bin/python benchmarks/match_bench.py --baseline 300     # also the plain rapidfuzz matcher
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.customers import build_index, import_csv, load_records
from storage.db import make_engine, make_sessionmaker, migrate
from workflows.matching import CustomerRecord

DEFAULT_SEC = Path(__file__).resolve().parents[2] / "shared" / "data" / "crm" / "sec_companies.csv"

# The benchmark's own idea of legal forms and filler words, independent of the matcher's tables.
SUFFIXES = [
    "Inc",
    "Inc.",
    "Corp",
    "Corp.",
    "Corporation",
    "LLC",
    "Ltd",
    "Ltd.",
    "Limited",
    "PLC",
    "Co",
    "Co.",
    "Company",
    "Holdings",
    "Group",
    "GmbH",
    "AG",
    "SA",
    "S.A.",
    "N.V.",
    "BV",
    "Pty Ltd",
    "LP",
    "L.P.",
    "Incorporated",
    "Trust",
]
BENCH_SUFFIX_WORDS = {
    "inc",
    "corp",
    "corporation",
    "llc",
    "ltd",
    "limited",
    "plc",
    "co",
    "company",
    "incorporated",
    "lp",
    "l.p.",
    "sa",
    "s.a.",
    "nv",
    "n.v.",
    "ag",
    "gmbh",
    "bv",
    "pty",
    "de",
    "the",
    "/de/",
    "/md/",
    "/ny/",
}
FILLER = {
    "group",
    "holdings",
    "holding",
    "international",
    "global",
    "corp",
    "inc",
    "company",
    "co",
    "trust",
    "fund",
    "capital",
    "financial",
    "technologies",
    "technology",
    "systems",
    "services",
    "partners",
    "industries",
    "bancorp",
    "bank",
    "the",
    "of",
    "and",
    "&",
    "acquisition",
    "income",
    "energy",
    "resources",
    "therapeutics",
    "pharmaceuticals",
    "properties",
    "realty",
    "brands",
    "enterprises",
}


def _words(text: str) -> list[str]:
    return text.split()


# Distractor vocabulary: invented yet plausible company names.
ROOTS = _words("""Acorn Alder Alpine Amber Anchor Apex Arbor Arcadia Argent Aspen Atlas Aurora Avalon Axiom Azure
Bayside Beacon Bedrock Birch Blackwood Bluewater Bolt Boulder Bramble Brightwater Brookfield Cascade Cedar
Cobalt Compass Copper Coral Cornerstone Crescent Crimson Crown Crystal Cypress Dawn Delta Driftwood Eagle
Echo Elm Ember Emerald Evergreen Falcon Fern Firefly Flint Foxglove Frontier Galaxy Garnet Glacier Granite
Greenleaf Harbor Harvest Hawthorn Heritage Highland Horizon Indigo Iron Ivy Jade Juniper Keystone Lakeshore
Lantern Laurel Legacy Liberty Lighthouse Linden Lotus Magnolia Maple Marble Meadow Meridian Mesa Monarch
Mosaic Nimbus Northstar Nova Oak Oasis Obsidian Onyx Orchid Osprey Pacifica Palisade Panorama Paragon
Pinnacle Pine Polaris Prairie Prism Quarry Quartz Radiant Rainier Raven Redwood Ridge Riverbend Rock Rowan
Saffron Sage Sapphire Sequoia Shoreline Sierra Silver Skyline Solstice Sparrow Spruce Starling Sterling
Stonebridge Summit Sunrise Tamarack Tidewater Timber Topaz Trident Trillium Tundra Twin Valley Vanguard
Verdant Vertex Vista Willow Windmill Zenith Zephyr""")
SURNAMES = _words("""Abbott Ainsley Barlow Becker Bennett Blake Bowman Brennan Calloway Carver Chen Collins Dalton
Delgado Donovan Ellison Farrow Fischer Fleming Garrison Goldberg Hale Hammond Harper Hayes Holloway Ingram
Jensen Kaplan Keller Kimura Lambert Larsen Lowell Maddox Mercer Moreau Nakamura Novak Okafor Oliveira
Pearson Prescott Quinn Ramirez Reyes Rhodes Rosen Sandoval Schultz Sinclair Stanton Sullivan Takahashi
Thornton Underwood Vance Vargas Walsh Weber Whitaker Winslow Yamamoto Zimmerman""")
COINED = _words("""Acme Aeris Altura Brightly Calyx Cinder Corvid Datara Elevra Fluxon Genova Helix Inovia Kinetiq
Lumora Medora Nexora Novanta Omnix Optera Qualis Revana Solvane Synthra Telora Ultrix Veridia Voxel Xylen
Zentro Quantix Bravura Celestia Dynamo Futura Integra Lucent Maxima Nuvola Orbis Primo Sonata Tessera""")
INDUSTRY = _words("""Analytics Apparel Logistics Biotech Brewing Capital Cloud Consulting Dental Design Devices
Diagnostics Energy Engineering Farms Fashion Foods Freight Furniture Genomics Hospitality Imaging Insurance
Labs Learning Lending Lighting Machinery Marine Materials Media Medical Metals Mining Mobility Motors
Networks Nutrition Optics Packaging Paper Pharma Plastics Power Printing Properties Publishing Realty Robotics
Security Semiconductors Shipping Software Solar Sports Staffing Steel Storage Systems Telecom Textiles
Therapeutics Tools Transport Travel Ventures Water Wellness Wireless""")
GENERIC_TAIL = [
    "Group",
    "Holdings",
    "Partners",
    "Industries",
    "International",
    "Global",
    "Services",
    "Technologies",
    "Solutions",
    "Enterprises",
    "Associates",
    "Company",
]
DISTRACTOR_SUFFIXES = [
    "Inc",
    "Inc.",
    "LLC",
    "Corp",
    "Ltd",
    "Co",
    "PLC",
    "GmbH",
    "AG",
    "SA",
    "BV",
    "Pty Ltd",
    "LP",
    "S.A.",
    "N.V.",
    "Limited",
    "",
    "",
    "",
]

# Sentences employees write. Even and odd positions form the two disjoint halves.
MENTION_TEMPLATES = [
    "lunch w/ {x} folks re renewal",
    "dinner with the {x} team",
    "{x} QBR prep, coffee",
    "taxi to {x} HQ",
    "client dinner - {x}",
    "Uber to {x} office for kickoff",
    "drinks after the {x} demo",
    "breakfast meeting with {x} procurement",
    "{x} onsite, parking",
    "hotel for the {x} workshop (2 nights)",
    "team lunch with {x} account team",
    "flight to Chicago to see {x}",
    "coffee w {x} CFO",
    "sushi with {x} people after contract signing",
    "{x}",
    "working dinner, {x} integration project",
]
NONE_TEMPLATES = [
    "team lunch",
    "taxi to the airport",
    "office supplies",
    "coffee with the sales team",
    "uber home after late shift",
    "hotel 2 nights for the offsite",
    "conference registration fee",
    "parking downtown",
    "dinner with {first} from marketing",
    "monthly phone bill",
    "train ticket to {city}",
    "printer ink and paper",
    "lunch with new hire {first}",
    "books for training course",
    "team building event",
    "mileage to {city} office",
    "pizza for the engineering all hands",
    "flowers for {first}'s farewell",
    "internet for home office",
    "snacks for the quarterly planning session",
    "airport shuttle",
    "visa application fee",
    "laptop charger replacement",
    "breakfast before early flight",
    "gift for {first}",
    "coworking day pass in {city}",
    "bagels for standup",
    "rental car {city} trip",
    "happy hour with the support team",
    "software subscription renewal",
    "dinner on the road, {city}",
    "car service to hotel",
]
# People and places in notes; the report half uses its own lists, partly names no table knows.
FIRST_NAMES = {
    "tune": [
        "Anna",
        "Ben",
        "Carla",
        "Dev",
        "Elena",
        "Farid",
        "Grace",
        "Hiro",
        "Ines",
        "Jon",
        "Kofi",
        "Lena",
        "Marco",
        "Nina",
        "Omar",
        "Priya",
        "Raj",
        "Sofia",
        "Tom",
        "Yuki",
    ],
    "report": [
        "Siobhan",
        "Thabo",
        "Kwame",
        "Bartosz",
        "Henrique",
        "Anneliese",
        "Rasmus",
        "Yara",
        "Dmitry",
        "Keanu",
        "Noor",
        "Priyanka",
        "Lucia",
        "Gustavo",
        "Hamid",
        "Signe",
        "Marek",
        "Ayumi",
        "Tariq",
        "Lorenzo",
    ],
}
CITIES = {
    "tune": [
        "Boston",
        "Denver",
        "Austin",
        "Seattle",
        "Atlanta",
        "Toronto",
        "Dublin",
        "Lisbon",
        "Munich",
        "Osaka",
    ],
    "report": [
        "Graz",
        "Aachen",
        "Arnhem",
        "Malmo",
        "Kaunas",
        "Brno",
        "Plovdiv",
        "Cluj",
        "Tartu",
        "Odense",
        "Gijon",
        "Padua",
        "Leuven",
        "Bern",
        "Innsbruck",
    ],
}
KINDS = ["exact", "lower", "suffix", "short", "typo", "sentence", "none"]


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    truth: int | None  # cik, or None when the note names no customer


def load_sec(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8") as fh:
        rows = [(int(r["cik"]), r["name"].strip()) for r in csv.DictReader(fh) if r["name"].strip()]
    seen: set[int] = set()
    out = []
    for cik, name in rows:
        if cik not in seen:
            seen.add(cik)
            out.append((cik, name))
    return out


def bench_key(name: str) -> str:
    words = [w.strip(".,()'/").lower() for w in name.replace("&", " and ").split()]
    words = [w for w in words if w and w not in BENCH_SUFFIX_WORDS]
    return " ".join(words)


def distractors(count: int, taken: set[str], seed: int, real_words: list[str]) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        shape = rng.random()
        if shape < 0.25:
            name = f"{rng.choice(ROOTS)} {rng.choice(INDUSTRY)}"
        elif shape < 0.45:
            name = f"{rng.choice(SURNAMES)} {rng.choice(['&', 'and'])} {rng.choice(SURNAMES)}"
        elif shape < 0.6:
            name = f"{rng.choice(COINED)}{rng.choice(['', 'a', 'ix', 'on', 'ia'])} {rng.choice(INDUSTRY)}"
        elif shape < 0.75:
            name = f"{rng.choice(ROOTS)} {rng.choice(ROOTS)} {rng.choice(GENERIC_TAIL)}"
        elif shape < 0.9:
            # Real lists have many companies sharing a word with a well-known one.
            name = f"{rng.choice(real_words)} {rng.choice(INDUSTRY)} {rng.choice(GENERIC_TAIL)}"
        else:
            name = f"{rng.choice(SURNAMES)} {rng.choice(INDUSTRY)}"
        suffix = rng.choice(DISTRACTOR_SUFFIXES)
        full = f"{name}, {suffix}" if suffix and rng.random() < 0.3 else f"{name} {suffix}".strip()
        key = bench_key(full)
        if key in taken:
            continue
        taken.add(key)
        out.append(full)
    return out


def change_suffix(name: str, rng: random.Random) -> str | None:
    words = name.replace(",", " ").split()
    core = list(words)
    while len(core) > 1 and core[-1].strip(".").lower() in BENCH_SUFFIX_WORDS | {"/de/", "/md/"}:
        core.pop()
    if core == words:
        return None
    if rng.random() < 0.5:
        return " ".join(core)
    return f"{' '.join(core)} {rng.choice(SUFFIXES)}"


def short_name(name: str, prefix_count: dict[str, int]) -> str | None:
    """The first word, or first two words, when no other real company starts that way (people
    shorten a name only as far as it stays unambiguous)."""
    words = [w.strip(",.") for w in name.split()]
    words = [w for w in words if w.lower() not in BENCH_SUFFIX_WORDS and not w.startswith("/")]
    if len(words) < 2:
        return None
    for size in (1, 2):
        short = words[:size]
        if short == words or short[-1].lower() in FILLER:
            continue
        key = bench_key(" ".join(short))
        if len(key) >= 4 and prefix_count.get(key, 0) == 1:
            text = " ".join(short)
            return text.title() if text.isupper() and size == 1 else text
    return None


def prefix_counts(real: list[tuple[int, str]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for _cik, name in real:
        words = bench_key(name).split()
        for size in (1, 2):
            if len(words) >= size:
                counts[" ".join(words[:size])] += 1
    return counts


def typo(text: str, rng: random.Random, positions: str) -> str | None:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.lower() not in FILLER]
    if not candidates:
        return None
    i = rng.choice(candidates)
    w = words[i]
    # The two halves put typos in different places of the word.
    p = rng.randrange(1, len(w) - 1) if positions == "middle" else rng.choice([len(w) - 2, len(w) - 1, 1])
    op = rng.choice(["swap", "drop", "double", "replace"])
    if op == "swap" and p < len(w) - 1:
        w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]
    elif op == "drop":
        w = w[:p] + w[p + 1 :]
    elif op == "double":
        w = w[:p] + w[p] + w[p:]
    else:
        w = w[:p] + rng.choice("aeiourstnl") + w[p + 1 :]
    words[i] = w
    return " ".join(words)


def make_queries(real: list[tuple[int, str]], per_kind: int, split: str) -> list[Query]:
    seed = 1001 if split == "tune" else 2002
    half = 0 if split == "tune" else 1
    rng = random.Random(seed)
    mention_templates = MENTION_TEMPLATES[half::2]
    none_templates = NONE_TEMPLATES[half::2]
    first_word_count = prefix_counts(real)
    queries: list[Query] = []
    makers: dict[str, Callable[[int, str], str | None]] = {
        "exact": lambda _c, n: n,
        "lower": lambda _c, n: n.lower(),
        "suffix": lambda _c, n: change_suffix(n, rng),
        "short": lambda _c, n: short_name(n, first_word_count),
        "typo": lambda _c, n: typo(
            n if rng.random() < 0.5 else n.lower(), rng, "middle" if half else "edges"
        ),
    }
    for kind, make in makers.items():
        made = 0
        for cik, name in rng.sample(real, len(real)):
            text = make(cik, name)
            if text and text.strip():
                queries.append(Query(kind, text, cik))
                made += 1
                if made == per_kind:
                    break
    for _ in range(per_kind):
        cik, name = rng.choice(real)
        style = rng.random()
        mention = short_name(name, first_word_count) if style < 0.4 else None
        if mention is None:
            mention = change_suffix(name, rng) or name
        if rng.random() < 0.5:
            mention = mention.lower()
        queries.append(Query("sentence", rng.choice(mention_templates).format(x=mention), cik))
    for _ in range(per_kind):
        template = rng.choice(none_templates)
        text = template.format(first=rng.choice(FIRST_NAMES[split]), city=rng.choice(CITIES[split]))
        if rng.random() < 0.3:
            text = text.capitalize()
        queries.append(Query("none", text, None))
    return queries


def to_csv(rows: list[tuple[int, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "name"])
    writer.writerows(rows)
    return buf.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    size: int,
    real: list[tuple[int, str]],
    queries: list[Query],
    seed: int,
    show_misses: int,
    baseline_sample: int = 0,
    baseline_threshold: float = 85.0,
) -> None:
    taken = {bench_key(n) for _c, n in real}
    # Words that several real companies already share ("pacific", "summit"), reused by distractors.
    word_count: dict[str, int] = defaultdict(int)
    for _c, n in real:
        for w in set(bench_key(n).split()):
            word_count[w] += 1
    real_words = sorted(
        w for w, c in word_count.items() if c >= 3 and len(w) >= 4 and w.isalpha() and w not in FILLER
    )
    extra = distractors(max(0, size - len(real)), taken, seed, real_words)
    rows = list(real) + [(10_000_000 + i, name) for i, name in enumerate(extra)]
    same_name: dict[str, set[int]] = defaultdict(set)
    for cik, name in real:
        same_name[bench_key(name)].add(cik)

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        factory = make_sessionmaker(make_engine(url))
        csv_path = Path(tmp) / "customers.csv"
        csv_path.write_text(to_csv(rows), encoding="utf-8")
        started = time.perf_counter()
        report = import_csv(factory, csv_path)
        import_s = time.perf_counter() - started
        assert report.created == len(rows) and not report.errors, report.summary()
        started = time.perf_counter()
        with factory() as session:
            records = load_records(session)
        load_s = time.perf_counter() - started
    # Match on the CSV ids (what the CLI prints) so answers compare with the truth directly.
    assert len(records) == len(rows)
    records = [CustomerRecord(cik, name) for cik, name in rows]
    started, cpu_started = time.perf_counter(), time.process_time()
    index = build_index(records)
    build_s, build_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    correct: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    times: list[float] = []
    cpu_times: list[float] = []
    misses: list[str] = []
    name_of = dict(rows)
    for q in queries:
        started, cpu_started = time.perf_counter(), time.thread_time()
        result = index.match(q.text)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.thread_time() - cpu_started) * 1000)
        got = result.customer.id if result.customer else None
        ok = got == q.truth or (
            got is not None
            and q.truth is not None
            and got in same_name.get(bench_key(name_of[q.truth]), set())
        )
        total[q.kind] += 1
        correct[q.kind] += ok
        if not ok and len(misses) < show_misses:
            want = name_of[q.truth] if q.truth else "none"
            misses.append(
                f"  [{q.kind}] {q.text!r}: want {want!r}, got {result.customer and result.customer.name!r} "
                f"{result.score:.0f} ({result.reason})"
            )
    named = [k for k in KINDS if k != "none"]
    top1 = sum(correct[k] for k in named) / max(1, sum(total[k] for k in named))
    overall = sum(correct.values()) / max(1, sum(total.values()))
    print(f"\n== {len(rows):,} customers ==")
    print(
        f"import_csv into SQLite: {import_s:.2f} s; load_records: {load_s:.2f} s; "
        f"index build: {build_s:.2f} s ({build_cpu:.2f} s CPU)"
    )
    for k in KINDS:
        if total[k]:
            print(f"  {k:9s} {correct[k] / total[k]:7.1%}  ({correct[k]}/{total[k]})")
    print(f"top-1 accuracy (notes naming a customer): {top1:.1%}")
    print(f"'no customer' answered correctly:          {correct['none'] / max(1, total['none']):.1%}")
    print(f"overall:                                   {overall:.1%}")
    print(
        f"ms per query (wall): p50 {percentile(times, 0.5):.2f}  p99 {percentile(times, 0.99):.2f}  "
        f"mean {statistics.fmean(times):.2f}"
    )
    print(
        f"ms per query (CPU):  p50 {percentile(cpu_times, 0.5):.2f}  p99 {percentile(cpu_times, 0.99):.2f}  "
        f"mean {statistics.fmean(cpu_times):.2f}"
    )
    for line in misses:
        print(line)
    if baseline_sample:
        baseline(rows, queries, baseline_sample, baseline_threshold)


def baseline(rows: list[tuple[int, str]], queries: list[Query], sample: int, threshold: float) -> None:
    """The plain approach for comparison: rapidfuzz WRatio over suffix-normalised whole names."""
    from rapidfuzz import fuzz, process

    names = [bench_key(name) for _cik, name in rows]
    ids = [cik for cik, _name in rows]
    rng = random.Random(5)
    picked = rng.sample(queries, min(sample, len(queries)))
    correct: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    times: list[float] = []
    for q in picked:
        started = time.thread_time()
        best = process.extractOne(bench_key(q.text), names, scorer=fuzz.WRatio, score_cutoff=threshold)
        times.append((time.thread_time() - started) * 1000)
        got = ids[best[2]] if best else None
        total[q.kind] += 1
        correct[q.kind] += got == q.truth
    named = [k for k in KINDS if k != "none"]
    top1 = sum(correct[k] for k in named) / max(1, sum(total[k] for k in named))
    print(
        f"baseline (rapidfuzz WRatio >= {threshold:.0f}, {len(picked)} queries): top-1 {top1:.1%}, "
        f"'none' {correct['none'] / max(1, total['none']):.1%}, ms/query p50 {percentile(times, 0.5):.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sec_csv", nargs="?", type=Path, default=DEFAULT_SEC, help="cik,ticker,name CSV")
    parser.add_argument("--sizes", default="7854,100000", help="customer-list sizes, comma-separated")
    parser.add_argument("--per-kind", type=int, default=400, help="queries per kind")
    parser.add_argument("--split", choices=["tune", "report"], default="report")
    parser.add_argument("--seed", type=int, default=7, help="seed of the distractor names")
    parser.add_argument("--show-misses", type=int, default=0)
    parser.add_argument("--baseline", type=int, default=0, help="also run the plain matcher on N queries")
    parser.add_argument("--baseline-threshold", type=float, default=85.0)
    args = parser.parse_args(argv)
    real = load_sec(args.sec_csv)
    queries = make_queries(real, args.per_kind, args.split)
    print(f"{len(real):,} real companies from {args.sec_csv}; {len(queries):,} queries ({args.split} split)")
    for size in (int(s) for s in args.sizes.split(",")):
        run(
            max(size, len(real)),
            real,
            queries,
            args.seed,
            args.show_misses,
            args.baseline,
            args.baseline_threshold,
        )


if __name__ == "__main__":
    main()
