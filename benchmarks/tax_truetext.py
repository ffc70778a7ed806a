"""How often the reader finds a receipt's tax, its rate and its item lines, and how often the card
would say the tax lines do not add up, on the true text lines of a SROIE-style set
(``DIR/box/*.csv``; the keys carry no tax, so this counts findings and their consistency).

    .venv/bin/python benchmarks/tax_truetext.py ../shared/data/sroie-val
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr.extract import extract
from ocr.layout import group_lines
from ocr.model import Word
from workflows.tax import mismatch, tax_facts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    args = parser.parse_args()
    root = Path(args.directory)
    counts = {
        "tax": 0,
        "subtotal": 0,
        "rate_printed": 0,
        "rate_kept": 0,
        "adds_up": 0,
        "does_not": 0,
        "items": 0,
    }
    keys = sorted((root / "key").glob("*.json"))
    for key_file in keys:
        words: list[Word] = []
        with (root / "box" / f"{key_file.stem}.csv").open(encoding="utf-8", errors="replace") as handle:
            for row in csv.reader(handle):
                if len(row) < 9:
                    continue
                xs, ys = [int(row[i]) for i in (0, 2, 4, 6)], [int(row[i]) for i in (1, 3, 5, 7)]
                words.append(Word(",".join(row[8:]), min(xs), min(ys), max(xs), max(ys)))
        found = extract([line.text for line in group_lines(words)])
        currency = found.currency or "MYR"
        facts = tax_facts(found.subtotal, found.tax, found.total, currency, found.tax_rate)
        counts["tax"] += found.tax is not None
        counts["subtotal"] += found.subtotal is not None
        counts["rate_printed"] += found.tax_rate is not None
        counts["rate_kept"] += facts.rate is not None
        counts["items"] += bool(found.items)
        if facts.tax is not None and facts.net is not None and found.total is not None:
            if mismatch(facts, found.total, currency) is None:
                counts["adds_up"] += 1
            else:
                counts["does_not"] += 1
    print(json.dumps({"receipts": len(keys), **counts}))


if __name__ == "__main__":
    main()
