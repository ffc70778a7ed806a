"""Compare the OCR engines on a labelled receipt set and print a Markdown table.

    .venv/bin/python benchmarks/ocr_engines.py ../shared/data/sroie-dev [--limit N]

Each engine is measured with the same evaluation as ``expensebot eval-ocr`` (all cores, process pool).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr.engines import ENGINES
from ocr.model import OcrConfig
from ocr.scan import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    print(
        "| engine | total | date | merchant exact | merchant, spaces as printed | median s | p95 s | wall s/receipt | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        r = evaluate(args.directory, config=OcrConfig(engine=engine), limit=args.limit)
        acc, spr = r["accuracy"], r["seconds_per_receipt"]
        print(
            f"| {engine} | {acc['total']:.1%} | {acc['date']:.1%} | {acc['merchant']:.1%} | "
            f"{acc['merchant_spaced']:.1%} | {spr['median']:.2f} | {spr['p95']:.2f} | "
            f"{r['wall_seconds_per_receipt']:.2f} | {r['peak_memory_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
