"""Batch reading for the command line: one JSON-ready result per file, in order, on all cores."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import json
import multiprocessing
import os
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from ocr.engines import effective_runtime, get_engine
from ocr.errors import OcrError
from ocr.extract import merchant_key
from ocr.fields import find_dates
from ocr.model import FIELDS, Line, OcrConfig, ReceiptFacts, ReceiptHint
from ocr.reader import read_receipt
from ocr.spaces import Segment


def facts_json(file: str, facts: ReceiptFacts) -> dict[str, Any]:
    return {
        "file": file,
        "merchant": facts.merchant,
        "date": facts.date.isoformat() if facts.date else None,
        "total": str(facts.total) if facts.total is not None else None,
        "currency": facts.currency,
        "confidence": {name: float(facts.confidence.get(name, 0.0)) for name in FIELDS},
        "error": None,
        "subtotal": str(facts.subtotal) if facts.subtotal is not None else None,
        "tax": str(facts.tax) if facts.tax is not None else None,
        "tax_rate": str(facts.tax_rate) if facts.tax_rate is not None else None,
        "lines": [{"text": text, "amount": str(amount)} for text, amount in facts.items],
    }


def error_json(file: str, message: str) -> dict[str, Any]:
    return {
        "file": file,
        "merchant": None,
        "date": None,
        "total": None,
        "currency": None,
        "confidence": dict.fromkeys(FIELDS, 0.0),
        "error": message,
    }


def scan_result_json(
    file: str, data: bytes, *, hint: ReceiptHint | None = None, config: OcrConfig | None = None
) -> dict[str, Any]:
    """The ``scan --json`` object for one file. Never raises for bad files: the error is in ``error``."""
    try:
        return facts_json(file, read_receipt(data, hint=hint, config=config))
    except OcrError as exc:
        return error_json(file, exc.user_message)
    except MemoryError:
        return error_json(file, "This file is too large to read: send a smaller photo.")
    except Exception:
        return error_json(file, "This file could not be read as a receipt.")


# ---------------------------------------------------------------------------------- batch running


@dataclass(frozen=True)
class ScanOutcome:
    result: dict[str, Any]
    seconds: float
    text: str
    peak_rss_mb: float
    cpu_seconds: float = 0.0
    lines: tuple[Line, ...] = ()
    pages: tuple[tuple[Segment, ...], ...] = ()  # the recognised segments (ocr.spaces), for training


_worker_config: OcrConfig | None = None
_worker_hint: ReceiptHint | None = None


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _init_worker(config: OcrConfig, hint: ReceiptHint | None) -> None:
    global _worker_config, _worker_hint
    _worker_config, _worker_hint = config, hint
    get_engine(
        config.engine, config.threads, config.runtime
    )  # load the models once, before the first receipt


def _scan_path(path: str) -> ScanOutcome:
    config = _worker_config or OcrConfig()
    start, cpu_start = time.perf_counter(), time.process_time()
    text = ""
    lines: tuple[Line, ...] = ()
    pages: tuple[tuple[Segment, ...], ...] = ()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        result = error_json(path, f"This file could not be opened ({exc.strerror or 'unreadable'}).")
    else:
        if len(data) > config.max_bytes:
            result = error_json(path, f"This file is larger than {config.max_bytes // 1_048_576} MB.")
        else:
            try:
                facts = read_receipt(data, hint=_worker_hint, config=config)
                result, text, lines, pages = facts_json(path, facts), facts.text, facts.lines, facts.pages
            except OcrError as exc:
                result = error_json(path, exc.user_message)
            except Exception:
                result = error_json(path, "This file could not be read as a receipt.")
    return ScanOutcome(
        result,
        time.perf_counter() - start,
        text,
        _peak_rss_mb(),
        time.process_time() - cpu_start,
        lines,
        pages,
    )


def default_workers(count: int) -> int:
    return max(1, min(count, len(os.sched_getaffinity(0))))


def scan_paths(
    paths: Sequence[str],
    *,
    config: OcrConfig | None = None,
    hint: ReceiptHint | None = None,
    workers: int | None = None,
) -> Iterator[ScanOutcome]:
    """Read every file, yielding outcomes in the order of ``paths``.

    With several files and cores, receipts are read in parallel by worker processes, each engine
    single-threaded (parallel receipts use the cores better than threads inside one receipt).
    """
    config = config or OcrConfig()
    if config.runtime == "auto" and len(paths) == 1:
        # one receipt in a fresh process: onnxruntime starts ~1 s sooner (2.2 s against 3.2 s)
        config = replace(config, runtime="onnxruntime")
    n = workers if workers is not None else default_workers(len(paths))
    if n <= 1 or len(paths) <= 1:
        _init_worker(config, hint)
        for path in paths:
            yield _scan_path(path)
        return
    pooled = replace(config, threads=1)
    # Fresh worker processes (not forks) so that glibc reads MALLOC_ARENA_MAX at start: one malloc
    # arena per process keeps the runtime's memory in one heap, which each reading hands back to the
    # system when it ends (see ocr.engines).
    os.environ.setdefault("MALLOC_ARENA_MAX", "1")
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=n, mp_context=context, initializer=_init_worker, initargs=(pooled, hint)
    ) as pool:
        with _workers_import_only_the_reader():
            outcomes = pool.map(_scan_path, paths, chunksize=1)  # submits all, starting the workers
        yield from outcomes


@contextlib.contextmanager
def _workers_import_only_the_reader() -> Iterator[None]:
    """Keep spawned workers from importing the parent's ``__main__`` again.

    By default each worker re-runs the main module's imports; for ``expensebot`` that is the whole
    command line (database, settings, Slack), about 50 MB and a second or more per worker, none of
    which reading needs: the workers run ``ocr.scan`` functions only.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


# ------------------------------------------------------------------------------------- evaluation


def parse_key_total(text: str) -> Decimal | None:
    cleaned = re.sub(r"[^\d.,-]", "", text)
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    cleaned = cleaned.replace(",", "")
    try:
        return Decimal(cleaned) if cleaned else None
    except InvalidOperation:
        return None


def parse_key_date(text: str) -> str | None:
    compact = re.fullmatch(r"\s*((?:19|20)\d\d)(\d\d)(\d\d)\s*", text)
    if compact:
        try:
            return datetime.date(*(int(g) for g in compact.groups())).isoformat()
        except ValueError:
            return None
    for match in find_dates(text.upper()):
        for order in ("name", "dmy", "ymd", "mdy"):
            for o, value in match.readings:
                if o == order:
                    return value.isoformat()
    return None


@dataclass(frozen=True)
class Miss:
    file: str
    field: str
    expected: str
    got: str | None
    similarity: float
    in_text: bool  # the expected value is in the OCR text: the extraction missed it
    confidence: float = 0.0


def _similar(a: str, b: str | None) -> float:
    return fuzz.ratio(a, b or "") / 100


def merchant_right(got: str | None, expected: str, *, spaces: bool = False) -> bool:
    """Whether a reading names the labelled merchant. A key in small letters only is a short name
    the printed one contains ("aldi" in "ALDI SUD", as world-dev labels German shops); otherwise the
    whole name must be the same, compared in upper case without punctuation, and without spaces
    unless ``spaces`` (then "GARDENI A B AKERIES" is not "GARDENIA BAKERIES")."""
    if not got or not expected.strip():
        return False
    want, have = merchant_key(expected), merchant_key(got)
    if expected == expected.lower():
        if spaces:
            return re.search(rf"(^| ){re.escape(want)}( |$)", have) is not None
        return want.replace(" ", "") in have.replace(" ", "")
    if not spaces:
        want, have = want.replace(" ", ""), have.replace(" ", "")
    return want == have


CONFIDENT = 0.9  # a reading at or above this confidence should be right at least 99 times in 100
SCORED_FIELDS = ("total", "date", "merchant", "currency")


def labelled_set(directory: str, limit: int | None = None) -> list[tuple[Path, dict[str, Any]]]:
    root = Path(directory)
    images = sorted(
        p for p in (root / "img").glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".pdf", ".heic"}
    )
    found = []
    for image in images:
        key_path = root / "key" / f"{image.stem}.json"
        if key_path.exists():
            found.append((image, json.loads(key_path.read_text(encoding="utf-8"))))
    if not found:
        raise FileNotFoundError(f"no labelled receipts in {directory} (expected img/*.jpg and key/*.json)")
    return found[:limit]


def score_reading(
    name: str, result: dict[str, Any], text: str, key: dict[str, Any]
) -> tuple[dict[str, bool | None], list[Miss]]:
    """Which fields of one reading are right (None: the key does not say), and the misses."""
    right: dict[str, bool | None] = {}
    misses: list[Miss] = []
    confidence = result.get("confidence") or {}
    flat_text = re.sub(r"\s+", "", text)
    want_total = parse_key_total(str(key.get("total") or ""))
    got_total = parse_key_total(result["total"]) if result.get("total") else None
    want_date = parse_key_date(str(key.get("date") or ""))
    company = str(key.get("company") or "")
    checks: list[tuple[str, str, str | None, bool | None, bool]] = [
        (
            "total",
            str(want_total),
            str(got_total) if got_total is not None else None,
            want_total is not None and got_total == want_total,
            str(key.get("total", "")).strip() in flat_text,
        ),
        (
            "date",
            str(want_date),
            result.get("date"),
            None
            if key.get("date") is None and "currency" in key
            else want_date is not None and want_date == result.get("date"),
            str(key.get("date", "")).strip().replace(" ", "") in flat_text,
        ),
        (
            "merchant",
            company,
            result.get("merchant"),
            merchant_right(result.get("merchant"), company),
            merchant_key(company).replace(" ", "") in merchant_key(text).replace(" ", ""),
        ),
    ]
    if key.get("currency"):
        checks.append(
            (
                "currency",
                str(key["currency"]),
                result.get("currency"),
                result.get("currency") == key["currency"],
                True,
            )
        )
    for field_name, want, have, ok, in_text in checks:
        right[field_name] = ok
        if ok is False:
            sim = _similar(want, have)
            misses.append(
                Miss(
                    name,
                    field_name,
                    want,
                    have,
                    round(sim, 3),
                    in_text,
                    float(confidence.get(field_name, 0.0)),
                )
            )
    right["merchant_spaced"] = merchant_right(result.get("merchant"), company, spaces=True)
    return right, misses


def _tally(rows: Sequence[tuple[dict[str, bool | None], dict[str, Any]]]) -> dict[str, Any]:
    """Accuracy and confidence figures over scored readings."""
    n = len(rows)
    accuracy: dict[str, float] = {}
    confidence: dict[str, dict[str, int]] = {}
    for field_name in (*SCORED_FIELDS, "merchant_spaced"):
        judged = [(r[field_name], res) for r, res in rows if r.get(field_name) is not None]
        if not judged:
            continue
        accuracy[field_name] = round(sum(1 for ok, _ in judged if ok) / len(judged), 4)
        if field_name == "merchant_spaced":
            continue
        conf = [(bool(ok), float((res.get("confidence") or {}).get(field_name, 0.0))) for ok, res in judged]
        confidence[field_name] = {
            "judged": len(judged),
            "confident": sum(1 for _, c in conf if c >= CONFIDENT),
            "confident_right": sum(1 for ok, c in conf if c >= CONFIDENT and ok),
            "wrong": sum(1 for ok, _ in conf if not ok),
            "wrong_flagged": sum(1 for ok, c in conf if not ok and c < CONFIDENT),
        }
        if field_name == "currency":
            wrong = sum(1 for ok, res in judged if not ok and res.get("currency"))
            accuracy["currency_wrong"] = round(wrong / len(judged), 4)
    return {"receipts": n, "accuracy": accuracy, "confidence": confidence}


def evaluate(
    directory: str | Sequence[str],
    *,
    config: OcrConfig | None = None,
    workers: int | None = None,
    limit: int | None = None,
    progress: Callable[[Iterator[ScanOutcome], int], Iterator[ScanOutcome]] | None = None,
) -> dict[str, Any]:
    """Accuracy, confidence and speed of scanning labelled sets, each laid out as ``DIR/img/*.jpg`` +
    ``DIR/key/*.json`` (SROIE keys: company, date, total; optionally currency and country).

    The top-level figures are the whole's; ``sets`` holds each directory's own.
    """
    directories = [directory] if isinstance(directory, str) else list(directory)
    labelled = [(d, image, key) for d in directories for image, key in labelled_set(d, limit)]
    started = time.perf_counter()
    outcomes_iter = scan_paths([str(image) for _, image, _ in labelled], config=config, workers=workers)
    if progress is not None:
        outcomes_iter = progress(outcomes_iter, len(labelled))
    outcomes = list(outcomes_iter)
    wall = time.perf_counter() - started

    per_set: dict[str, list[tuple[dict[str, bool | None], dict[str, Any]]]] = {d: [] for d in directories}
    misses: list[Miss] = []
    for (d, image, key), outcome in zip(labelled, outcomes, strict=True):
        right, missed = score_reading(image.name, outcome.result, outcome.text, key)
        per_set[d].append((right, outcome.result))
        misses.extend(missed)
    n = len(labelled)
    seconds = sorted(o.seconds for o in outcomes)
    p95 = seconds[min(n - 1, max(0, round(0.95 * n) - 1))]
    peak = max([o.peak_rss_mb for o in outcomes] + [_peak_rss_mb()])
    misses.sort(key=lambda m: (-m.confidence, m.similarity))
    whole = _tally([row for rows in per_set.values() for row in rows])
    config = config or OcrConfig()
    return {
        "directory": directories[0] if len(directories) == 1 else directories,
        "engine": config.engine,
        "runtime": effective_runtime(config.engine, config.runtime),
        "receipts": n,
        "accuracy": whole["accuracy"],
        "confidence": whole["confidence"],
        "sets": {d: _tally(rows) for d, rows in per_set.items()},
        "seconds_per_receipt": {"median": round(statistics.median(seconds), 3), "p95": round(p95, 3)},
        # CPU time is steadier than elapsed time on a machine busy with other work
        "cpu_seconds_per_receipt": round(statistics.median(o.cpu_seconds for o in outcomes), 3),
        "wall_seconds": round(wall, 2),
        "wall_seconds_per_receipt": round(wall / n, 3),
        "peak_memory_mb": round(peak, 1),
        "misses_in_text": {
            name: sum(1 for m in misses if m.field == name and m.in_text)
            for name in ("total", "date", "merchant")
        },
        "worst_misses": [m.__dict__ for m in misses],
    }
