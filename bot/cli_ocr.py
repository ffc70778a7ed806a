"""Command-line receipt reading: ``expensebot scan`` and ``expensebot eval-ocr``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import click

from ocr.engines import ENGINES, RUNTIMES
from ocr.model import OcrConfig, ReceiptHint
from ocr.scan import ScanOutcome, evaluate, scan_paths


def _config(engine: str | None, runtime: str | None = None) -> OcrConfig:
    config = OcrConfig(engine=engine) if engine else OcrConfig()
    return replace(config, runtime=runtime) if runtime else config


_runtime_option = click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default=None,
    help="What runs RapidOCR's networks (default auto: onnxruntime for one file, else openvino).",
)


@click.command("scan")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per file, in order.")
@click.option(
    "--engine", type=click.Choice(ENGINES), default=None, help="OCR engine (default: the measured best)."
)
@click.option("--country", default=None, help="Country hint (ISO 3166 code) for dates and currency.")
@click.option("--currency", default=None, help="Currency hint (ISO 4217 code).")
@click.option("--workers", type=int, default=None, help="Processes to use (default: one per core).")
@_runtime_option
def scan(
    files: tuple[str, ...],
    as_json: bool,
    engine: str | None,
    country: str | None,
    currency: str | None,
    workers: int | None,
    runtime: str | None,
) -> None:
    """Read receipts (JPEG, PNG, WebP, HEIC, PDF) and print merchant, date, total and currency."""
    hint = ReceiptHint(country=country, currency=currency) if country or currency else None
    outcomes = scan_paths(list(files), config=_config(engine, runtime), hint=hint, workers=workers)
    if as_json:
        for outcome in outcomes:
            click.echo(json.dumps(outcome.result, ensure_ascii=False))
        return
    header = f"{'file':<32} {'merchant':<34} {'date':<10} {'total':>12} {'cur':<4}  note"
    click.echo(header)
    click.echo("-" * len(header))
    for outcome in outcomes:
        r = outcome.result
        note = r["error"] or ""
        if not note:
            low = [k for k, v in r["confidence"].items() if v < 0.6]
            note = f"check {', '.join(low)}" if low else ""
        click.echo(
            f"{_cut_left(r['file'], 32):<32} {_cut(r['merchant'] or '-', 34):<34} {r['date'] or '-':<10} "
            f"{r['total'] or '-':>12} {r['currency'] or '-':<4}  {note}"
        )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cut_left(text: str, width: int) -> str:
    """Paths keep their end, where the file's name is."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _progress(outcomes: Iterator[ScanOutcome], total: int) -> Iterator[ScanOutcome]:
    from tqdm import tqdm

    yield from tqdm(outcomes, total=total, file=sys.stderr, unit="receipt", desc="reading")


@click.command("eval-ocr")
@click.argument("directories", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the figures.")
@click.option("--engine", type=click.Choice(ENGINES), default=None, help="OCR engine to measure.")
@click.option("--workers", type=int, default=None, help="Processes to use (default: one per core).")
@click.option("--limit", type=int, default=None, help="Measure only the first N receipts of each set.")
@click.option("--misses", type=int, default=10, show_default=True, help="Worst misses to show.")
@_runtime_option
def eval_ocr(
    directories: tuple[str, ...],
    as_json: bool,
    engine: str | None,
    workers: int | None,
    limit: int | None,
    misses: int,
    runtime: str | None,
) -> None:
    """Accuracy, confidence and speed of `scan` on labelled sets: each DIR holds img/*.jpg and
    key/*.json (SROIE keys: company, date, total; optionally currency and country)."""
    config = _config(engine, runtime)
    try:
        report = evaluate(list(directories), config=config, workers=workers, limit=limit, progress=_progress)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        report["worst_misses"] = report["worst_misses"][:misses] if misses >= 0 else report["worst_misses"]
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    _print_report(report, misses)


_FIELD_NAMES = {
    "total": "total",
    "date": "date",
    "merchant": "merchant",
    "merchant_spaced": "merchant, spaces as printed",
    "currency": "currency",
    "currency_wrong": "currency wrong",
}


def _print_figures(title: str, figures: dict[str, Any]) -> None:
    click.echo(f"{title}: {figures['receipts']} receipts")
    click.echo(
        f"  {'field':<28} {'right':>7}   {'confident (>=0.9): right/all':>28}   {'wrong: flagged/all':>18}"
    )
    for name, acc in figures["accuracy"].items():
        conf = figures["confidence"].get(name)
        confident = f"{conf['confident_right']}/{conf['confident']}" if conf else ""
        flagged = f"{conf['wrong_flagged']}/{conf['wrong']}" if conf else ""
        click.echo(f"  {_FIELD_NAMES.get(name, name):<28} {acc:>7.1%}   {confident:>28}   {flagged:>18}")


def _print_report(report: dict[str, Any], misses: int) -> None:
    runtime = f" on {report['runtime']}" if report.get("runtime") else ""
    click.echo(f"engine {report['engine']}{runtime}")
    for directory, figures in report["sets"].items():
        _print_figures(directory, figures)
    if len(report["sets"]) > 1:
        _print_figures("all sets", report)
    spr = report["seconds_per_receipt"]
    click.echo(
        f"time per receipt: median {spr['median']:.2f} s, p95 {spr['p95']:.2f} s "
        f"(CPU median {report['cpu_seconds_per_receipt']:.2f} s)"
    )
    click.echo(
        f"batch wall time: {report['wall_seconds']:.1f} s, {report['wall_seconds_per_receipt']:.2f} s per receipt"
    )
    click.echo(f"peak memory per process: {report['peak_memory_mb']:.0f} MB")
    if misses > 0 and report["worst_misses"]:
        click.echo("worst misses (most confident first):")
        for miss in report["worst_misses"][:misses]:
            where = "in text" if miss["in_text"] else "misread"
            click.echo(
                f"  {miss['file']:<24} {miss['field']:<9} want {miss['expected']!r:<36} "
                f"got {miss['got']!r} ({where}, confidence {miss['confidence']:.2f})"
            )


@click.command("train-reader")
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False),
    default=None,
    help="The training corpus (OCR lines + keys); default: training/reader-corpus.jsonl.gz.",
)
@click.option(
    "--from",
    "sources",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Rebuild the corpus first by reading these labelled sets (DIR/img + DIR/key) with the OCR engine.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the model; default: the package's ocr/models/reader.json.",
)
@click.option("--workers", type=int, default=None, help="Processes for reading (with --from).")
@_runtime_option
def train_reader(
    corpus: str | None, sources: tuple[str, ...], out: str | None, workers: int | None, runtime: str | None
) -> None:
    """Train the reader's field models from labelled receipts, deterministically, and print the
    cross-validated figures per set."""
    from pathlib import Path

    from ocr import training

    corpus_path = Path(corpus) if corpus else training.default_corpus_path()
    if sources:
        samples = training.build_corpus(list(sources), config=_config(None, runtime), workers=workers)
        training.write_corpus(samples, corpus_path)
        click.echo(f"corpus: {len(samples)} receipts written to {corpus_path}", err=True)
    elif not corpus_path.exists():
        raise click.ClickException(
            f"no corpus at {corpus_path}: give --from DIR (a labelled set) to build one"
        )
    samples = training.read_corpus(corpus_path)
    report = training.train(samples, progress=lambda line: click.echo(line, err=True))
    out_path = Path(out) if out else training.default_model_path()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(training.model_json(report.model), encoding="utf-8")
    click.echo(f"model {report.model['version']} written to {out_path}")
    click.echo("cross-validated (each receipt read by a model trained without it):")
    for set_name, fields in report.cross_validated.items():
        for field_name, e in fields.items():
            click.echo(
                f"  {set_name:<12} {field_name:<9} right {e['right'] / e['receipts']:>6.1%}  "
                f"confident {e['confident_right']}/{e['confident']} right"
            )
