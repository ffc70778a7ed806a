"""Accuracy of the extraction alone, on the true text lines of a SROIE-style set (``DIR/box/*.csv``).

    .venv/bin/python benchmarks/ocr_truetext.py ../shared/data/sroie-dev [--show total,date,merchant]

Separates extraction errors from OCR misreads: the same layout grouping and rules as read_receipt,
fed with the dataset's own line boxes instead of an OCR engine's words.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr.extract import extract, merchant_key
from ocr.layout import group_lines
from ocr.model import Word
from ocr.scan import parse_key_date, parse_key_total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--show", default="", help="fields whose misses to print")
    args = parser.parse_args()
    root = Path(args.directory)
    show = set(filter(None, args.show.split(",")))
    hits = {"total": 0, "date": 0, "merchant": 0}
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
        key = json.loads(key_file.read_text(encoding="utf-8"))
        got_date = found.date.isoformat() if found.date else None
        results = {
            "total": parse_key_total(str(key.get("total", ""))) == found.total,
            "date": parse_key_date(str(key.get("date", ""))) == got_date,
            "merchant": merchant_key(str(key.get("company", ""))).replace(" ", "")
            == merchant_key(found.merchant or "").replace(" ", ""),
        }
        for name, ok in results.items():
            hits[name] += ok
            if not ok and name in show:
                want = key.get({"total": "total", "date": "date", "merchant": "company"}[name])
                print(f"{key_file.stem} {name}: want {want!r} got {getattr(found, name)!r}")
    n = len(keys)
    print(json.dumps({"receipts": n, "accuracy": {k: round(v / n, 4) for k, v in hits.items()}}))


if __name__ == "__main__":
    main()
