"""Deal suggestion: several open deals per customer, notes as salespeople write them.

Customers are real company names from ``sec_companies.csv``; each gets 2-6 open deals and 0-3
closed ones, named the ways CRM users name deals ("Acme - Platform renewal 2027", "Data
pipeline pilot (EMEA)", "Q3 expansion - 50 seats"), owned by a team of salespeople. Notes:

* ``named``: the note names the deal by words of its name the other open deals lack (the
  product, the kind, the region, a year), among people, places and filler, sometimes misspelt;
* ``owner``: the note names no deal and exactly one open deal is the employee's;
* ``only``: the customer has one open deal (and closed ones);
* ``ask``: the note names no deal and the employee owns none or several: the right answer is
  no suggestion (the card asks).

Prints % right per kind and overall (target: 95%).

    .venv/bin/python benchmarks/deal_bench.py --notes 4000
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.deals import DealOption, suggest_deal

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
PRODUCTS = [
    "Platform",
    "Analytics",
    "Data pipeline",
    "Payments",
    "Security suite",
    "Mobile app",
    "API gateway",
    "Warehouse",
    "CRM connector",
    "Billing",
    "Forecasting",
    "Compliance",
    "Helpdesk",
    "Fleet tracking",
    "Identity",
    "Observability",
    "Search",
    "Messaging",
    "Scheduling",
    "Inventory",
]
KINDS = [
    "renewal",
    "pilot",
    "expansion",
    "upsell",
    "migration",
    "rollout",
    "POC",
    "onboarding",
    "phase 2",
    "integration",
]
REGIONS = ["EMEA", "APAC", "LATAM", "North America", "DACH", "Nordics", "UK"]
SHAPES = ["{c} - {p} {k} {y}", "{p} {k} ({r})", "{c} {p} {k}", "{y} {p} {k}", "{k} - {p} - {r}", "{p} {k}"]
NOTES_NAMED = [
    "dinner w/ {c} folks re the {x}",
    "{x} kickoff lunch",
    "uber to {c} for the {x} workshop",
    "coffee with {person} about {x}",
    "{c} {x} - drinks after the demo",
    "hotel 2 nts, {x} onsite",
    "lunch {day} w {person} ({x})",
    "{x}: steering committee dinner",
]
NOTES_PLAIN = [
    "dinner w/ the {c} team",
    "lunch with {person} from {c}",
    "uber to {c} HQ",
    "{c} QBR drinks",
    "coffee w {person} ({c})",
    "hotel 3 nts for {c} visit",
]
PEOPLE = ["Priya", "Tom", "Ines", "Kofi", "Lena", "Marco", "Yuki", "Omar", "Sofia", "Dev"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "Q3", "EOQ"]
OWNERS = [f"owner{i}@example.com" for i in range(8)]


@dataclass(frozen=True)
class Case:
    kind: str
    customer: str
    deals: tuple[DealOption, ...]
    note: str
    owner: str
    truth: int | None


def load_names(path: Path, count: int, rng: random.Random) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        names = [" ".join(r["name"].split()) for r in csv.DictReader(fh) if r["name"].strip()]
    return rng.sample(names, count)


def short(name: str) -> str:
    return name.replace(",", " ").split()[0].title()


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    spots = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    w = words[i]
    p = rng.randrange(1, len(w) - 1)
    words[i] = w[:p] + w[p + 1 :] if rng.random() < 0.5 else w[:p] + w[p + 1] + w[p] + w[p + 2 :]
    return " ".join(words)


def make_deals(
    customer: str, open_count: int, closed_count: int, rng: random.Random, ids: list[int]
) -> list[DealOption]:
    out: list[DealOption] = []
    used: set[str] = set()
    while len(out) < open_count + closed_count:
        name = rng.choice(SHAPES).format(
            c=short(customer),
            p=rng.choice(PRODUCTS),
            k=rng.choice(KINDS),
            y=rng.choice(["2026", "2027"]),
            r=rng.choice(REGIONS),
        )
        if name in used:
            continue
        used.add(name)
        ids[0] += 1
        closed = len(out) >= open_count
        out.append(DealOption(ids[0], name, is_closed=closed, owner=rng.choice(OWNERS)))
    rng.shuffle(out)
    return out


def distinctive(deal: DealOption, others: list[DealOption]) -> str | None:
    """A phrase of the deal's name that no other open deal's name has: what a note would say."""
    for part in [*PRODUCTS, *KINDS, *REGIONS]:
        if part in deal.name and not any(part in o.name for o in others):
            return part
    return None


def make_cases(count: int, seed: int, sec: Path) -> list[Case]:
    rng = random.Random(seed)
    customers = load_names(sec, count, rng)
    ids = [0]
    cases: list[Case] = []
    for i, customer in enumerate(customers):
        kind = ["named", "named", "owner", "only", "ask"][i % 5]
        open_count = 1 if kind == "only" else rng.randint(2, 6)
        deals = make_deals(customer, open_count, rng.randint(0, 3), rng, ids)
        open_deals = [d for d in deals if not d.is_closed]
        fill = {"c": short(customer), "person": rng.choice(PEOPLE), "day": rng.choice(DAYS)}
        employee = rng.choice(OWNERS)
        truth: int | None
        if kind == "named":
            target = rng.choice(open_deals)
            phrase = distinctive(target, [d for d in open_deals if d.id != target.id])
            if phrase is None:
                continue
            if rng.random() < 0.2:
                phrase = typo(phrase, rng)
            note = rng.choice(NOTES_NAMED).format(x=phrase if rng.random() < 0.6 else phrase.lower(), **fill)
            truth = target.id
        else:
            note = rng.choice(NOTES_PLAIN).format(**fill)
            mine = [d for d in open_deals if d.owner == employee]
            if kind == "owner":
                target = rng.choice(open_deals)
                employee = target.owner or employee
                mine = [d for d in open_deals if d.owner == employee]
                if len(mine) != 1:
                    continue
                truth = target.id
            elif kind == "only":
                truth = open_deals[0].id
            else:
                if len(mine) == 1:
                    continue
                truth = None
        cases.append(Case(kind, customer, tuple(deals), note, employee, truth))
    return cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sec_csv", nargs="?", type=Path, default=DEFAULT_SEC)
    parser.add_argument("--notes", type=int, default=4000, help="customers (one note each) to generate")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args(argv)
    cases = make_cases(args.notes, args.seed, args.sec_csv)
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    misses: list[str] = []
    started = time.thread_time()
    for case in cases:
        got = suggest_deal(case.deals, case.note, customer_name=case.customer, owner=case.owner)
        ok = (got.deal.id if got.deal else None) == case.truth
        total[case.kind] += 1
        right[case.kind] += ok
        if not ok and len(misses) < args.show_misses:
            names = {d.id: d.name for d in case.deals}
            misses.append(
                f"  [{case.kind}] {case.note!r}: want {names.get(case.truth or -1)!r}, "
                f"got {got.deal and got.deal.name!r} ({got.reason}); open: "
                f"{[d.name for d in got.options]}"
            )
    cpu_ms = (time.thread_time() - started) * 1000 / max(1, len(cases))
    print(
        f"{len(cases):,} notes, {sum(len(c.deals) for c in cases) / max(1, len(cases)):.1f} deals per customer"
    )
    for kind in ("named", "owner", "only", "ask"):
        if total[kind]:
            print(f"  {kind:6s} {right[kind] / total[kind]:7.1%}  ({right[kind]}/{total[kind]})")
    print(
        f"deal suggestion right: {sum(right.values()) / max(1, sum(total.values())):.1%}  ({cpu_ms:.3f} ms CPU each)"
    )
    for line in misses:
        print(line)


if __name__ == "__main__":
    main()
