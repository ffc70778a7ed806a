"""Training the reader's ranking models from labelled receipts, deterministically.

A corpus holds, for each labelled receipt, the printed lines the OCR engine read (text and boxes)
and its key (merchant, date, total, currency). ``build_corpus`` reads labelled sets laid out as
``DIR/img/*`` + ``DIR/key/*.json``; ``train`` fits one LightGBM model per field on every receipt of
the corpus and calibrates its confidence on cross-validated predictions (each receipt scored by a
model that did not see it). Same corpus, same library versions: byte-identical model file.
"""

from __future__ import annotations

import datetime
import gzip
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocr import spaces
from ocr.candidates import DATE_FEATURES, MERCHANT_FEATURES, TOTAL_FEATURES, Candidate
from ocr.engines import page_from_measured
from ocr.layout import group_lines
from ocr.model import Line, OcrConfig, Word
from ocr.ranker import CONFIDENT, MODEL_FILE, RANKED_FIELDS, Calibration, choose, passes_gate
from ocr.spaces import Segment

MODEL_VERSION = "2026-12-08.1"
FOLDS = 5
SEED = 20261207
# LightGBM settings: small trees (the corpus is a few hundred receipts), one thread and
# deterministic mode so that the same corpus gives the same model on any machine.
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "lambda_l2": 1.0,
    "feature_fraction": 0.9,
    "feature_fraction_seed": SEED,
    "bagging_seed": SEED,
    "data_random_seed": SEED,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
ROUNDS = 250
WILSON_FLOOR = 0.95
FEATURES = {"total": TOTAL_FEATURES, "date": DATE_FEATURES, "merchant": MERCHANT_FEATURES}
# Generated receipts (``ocr.synthetic``) added to the training of these fields: how many, and the
# weight of each of their candidates against a real receipt's (1.0). Chosen on the development sets
# (5-fold cross-validation and each set read by a model trained without it); they never score or
# calibrate. The merchant model trains on real receipts only: generated shop names made it worse
# under cross-validation.
SYNTHETIC: dict[str, tuple[int, float]] = {"total": (2000, 0.3), "date": (2000, 0.3)}
SYNTHETIC_SEED = 20261207


@dataclass(frozen=True)
class Sample:
    set_name: str
    name: str
    lines: tuple[Line, ...]
    key: dict[str, Any]
    # each page's recognised segments with their measured gaps: the lines can be made again from
    # them with another gap model (see ``respaced``); empty for corpora written before
    pages: tuple[tuple[Segment, ...], ...] = ()


# ------------------------------------------------------------------------------------------ corpus


def lines_to_json(lines: Iterable[Line]) -> list[list[list[Any]]]:
    return [
        [[w.text, w.left, w.top, w.right, w.bottom, round(w.confidence, 4)] for w in ln.words] for ln in lines
    ]


def lines_from_json(data: Sequence[Sequence[Sequence[Any]]]) -> tuple[Line, ...]:
    return tuple(
        Line(
            tuple(Word(str(t), int(x0), int(y0), int(x1), int(y1), float(c)) for t, x0, y0, x1, y1, c in line)
        )
        for line in data
        if line
    )


def write_corpus(samples: Iterable[Sample], path: Path) -> None:
    """A gzip'd JSON-lines file, one receipt per line, written byte-for-byte reproducibly."""
    rows = [
        json.dumps(
            {
                "set": s.set_name,
                "name": s.name,
                "key": s.key,
                "lines": lines_to_json(s.lines),
                **({"pages": [[g.as_json() for g in page] for page in s.pages]} if s.pages else {}),
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        for s in samples
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(("\n".join(rows) + "\n").encode("utf-8"))


def read_corpus(path: Path) -> list[Sample]:
    samples = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in handle:
            if row.strip():
                data = json.loads(row)
                pages = tuple(tuple(Segment.from_json(g) for g in page) for page in data.get("pages", ()))
                samples.append(
                    Sample(data["set"], data["name"], lines_from_json(data["lines"]), data["key"], pages)
                )
    return samples


def default_corpus_path() -> Path:
    """The corpus kept with the source (training/ beside the packages)."""
    return Path(__file__).resolve().parent.parent / "training" / "reader-corpus.jsonl.gz"


def default_model_path() -> Path:
    return Path(__file__).resolve().parent / "models" / MODEL_FILE


def build_corpus(
    directories: Sequence[str], *, config: OcrConfig | None = None, workers: int | None = None
) -> list[Sample]:
    """Read every labelled receipt of ``directories`` with the OCR engine: the lines become the corpus."""
    from ocr.scan import labelled_set, scan_paths

    labelled = [(Path(d).name, image, key) for d in directories for image, key in labelled_set(d)]
    outcomes = scan_paths([str(image) for _, image, _ in labelled], config=config, workers=workers)
    return [
        Sample(set_name, image.stem, outcome.lines, key, outcome.pages)
        for (set_name, image, key), outcome in zip(labelled, outcomes, strict=True)
        if outcome.lines
    ]


def key_total(key: dict[str, Any]) -> Decimal | None:
    from ocr.scan import parse_key_total

    return parse_key_total(str(key.get("total") or ""))


def key_date(key: dict[str, Any]) -> datetime.date | None:
    from ocr.scan import parse_key_date

    text = parse_key_date(str(key.get("date") or ""))
    return datetime.date.fromisoformat(text) if text else None


def labelled_for(field: str, key: dict[str, Any]) -> bool:
    """Whether a key says what the field should read (world-dev leaves unreadable dates null, one
    SROIE key has no total): receipts without it neither train nor score that field."""
    if field == "total":
        return key_total(key) is not None
    if field == "date":
        return key_date(key) is not None
    return bool(str(key.get("company") or "").strip())


def _label(field: str, candidate: Candidate, key: dict[str, Any]) -> int:
    if field == "total":
        return int(candidate.value == key_total(key))
    if field == "date":
        return int(candidate.value == key_date(key))
    from ocr.scan import merchant_right

    return int(merchant_right(str(candidate.value), str(key.get("company") or "")))


# ------------------------------------------------------------------------------------------ spaces

# A gap scoring at least this is a space (the scores of gaps are far apart: 0.3 to 0.7 decided the
# same on the development receipts).
SPACE_THRESHOLD = 0.5
Decide = Callable[[spaces.SegmentGaps], list[bool]]


@dataclass(frozen=True)
class SpaceRows:
    rows: list[tuple[float, ...]]
    labels: list[int]
    owners: list[int]  # each row's receipt (index in the samples)
    ruled: list[bool]  # what the rule without a model decides (``ocr.spaces.ruled``)


def space_rows(samples: Sequence[Sample]) -> SpaceRows:
    """Gap features and labels (space or not) from the segments whose characters a key prints
    (merchant and, for SROIE, address; see ``ocr.spaces.labels_from_keys``)."""
    found = SpaceRows([], [], [], [])
    for i, sample in enumerate(samples):
        keys = [str(sample.key.get("company") or ""), str(sample.key.get("address") or "")]
        for page in sample.pages:
            for segment in page:
                truth = spaces.labels_from_keys(segment.gaps, keys) if segment.gaps is not None else None
                if segment.gaps is None or truth is None:
                    continue
                found.rows.extend(spaces.features(segment.gaps))
                found.labels.extend(int(t) for t in truth)
                found.owners.extend([i] * len(truth))
                found.ruled.extend(spaces.ruled(segment.gaps))
    return found


def _decider(booster: Any) -> Decide:
    return spaces.SpaceModel(booster, SPACE_THRESHOLD).decide


def respaced(sample: Sample, decide: Decide) -> Sample:
    """The sample with its lines made again from its segments, spaces decided by ``decide``."""
    if not sample.pages:
        return sample
    lines: list[Line] = []
    for page in sample.pages:
        text = page_from_measured(page, decide)
        lines.extend(group_lines(text.words, text.skew))
    return Sample(sample.set_name, sample.name, tuple(lines), sample.key, sample.pages)


@dataclass(frozen=True)
class SpaceTraining:
    booster: Any | None
    out_of_fold: list[Sample]  # each receipt spaced by a gap model that did not see it
    in_sample: list[Sample]  # each receipt spaced by the model trained on all
    figures: dict[str, int]  # labelled gaps, and gaps decided wrong by the rule and the model


def train_spaces(samples: Sequence[Sample]) -> SpaceTraining:
    """The gap model, and the corpus spaced by it (out of fold, for cross-validation, and in sample)."""
    import numpy as np

    found = space_rows(samples)
    if not found.rows or sum(found.labels) == 0:
        return SpaceTraining(None, list(samples), list(samples), {"gaps": len(found.rows)})
    fold = folds_of(samples)
    out_of_fold = list(samples)
    wrong = 0
    for k in range(FOLDS):
        train = [j for j, owner in enumerate(found.owners) if fold[owner] != k]
        test = [j for j, owner in enumerate(found.owners) if fold[owner] == k]
        booster = _fit([found.rows[j] for j in train], [found.labels[j] for j in train])
        decide = _decider(booster)
        for i, sample in enumerate(samples):
            if fold[i] == k:
                out_of_fold[i] = respaced(sample, decide)
        if test:
            scores = booster.predict(np.asarray([found.rows[j] for j in test], dtype=np.float64))
            wrong += sum(
                int((float(p) >= SPACE_THRESHOLD) != bool(found.labels[j]))
                for p, j in zip(scores, test, strict=True)
            )
    booster = _fit(found.rows, found.labels)
    figures = {
        "gaps": len(found.rows),
        "spaces": sum(found.labels),
        "wrong_by_rule": sum(int(r != bool(t)) for r, t in zip(found.ruled, found.labels, strict=True)),
        "wrong_cross_validated": wrong,
    }
    return SpaceTraining(booster, out_of_fold, [respaced(s, _decider(booster)) for s in samples], figures)


# ---------------------------------------------------------------------------------------- training


def sample_candidates(sample: Sample) -> dict[str, list[Candidate]]:
    from ocr.extract import field_candidates

    return field_candidates(sample.lines)


@dataclass(frozen=True)
class Extra:
    """Training rows that are not real receipts (generated ones), with their weight."""

    rows: list[tuple[float, ...]]
    labels: list[int]
    weight: float


def synthetic_rows(field: str) -> Extra | None:
    """The generated receipts' candidates for ``field`` (see ``SYNTHETIC``), or None."""
    if field not in SYNTHETIC:
        return None
    from ocr.synthetic import receipts

    count, weight = SYNTHETIC[field]
    samples = [
        Sample("synthetic", str(i), lines, key)
        for i, (lines, key) in enumerate(receipts(count, SYNTHETIC_SEED))
    ]
    rows, labels = _rows(samples, [sample_candidates(s)[field] for s in samples], field)
    return Extra(rows, labels, weight)


def _fit(rows: list[tuple[float, ...]], labels: list[int], extra: Extra | None = None) -> Any:
    import lightgbm
    import numpy as np

    weights = [1.0] * len(rows)
    if extra is not None:
        rows = rows + extra.rows
        labels = labels + extra.labels
        weights += [extra.weight] * len(extra.rows)
    data = lightgbm.Dataset(
        np.asarray(rows, dtype=np.float64),
        label=np.asarray(labels),
        weight=np.asarray(weights),
        free_raw_data=True,
    )
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def _rows(
    samples: Sequence[Sample], candidates: Sequence[list[Candidate]], field: str
) -> tuple[list[tuple[float, ...]], list[int]]:
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    for sample, found in zip(samples, candidates, strict=True):
        if not labelled_for(field, sample.key):
            continue
        for candidate in found:
            rows.append(candidate.features)
            labels.append(_label(field, candidate, sample.key))
    return rows, labels


def folds_of(samples: Sequence[Sample], folds: int = FOLDS) -> list[int]:
    """Each receipt's fold, by a stable hash of its set and name (not by order or chance)."""
    import hashlib

    return [
        int.from_bytes(hashlib.sha256(f"{s.set_name}/{s.name}".encode()).digest()[:4], "big") % folds
        for s in samples
    ]


@dataclass(frozen=True)
class OutOfFold:
    """A receipt's reading by a model that did not see it."""

    value: object | None
    score: float
    right: bool
    answerable: bool  # a candidate held the right value
    gated: bool = True  # the reading passes its field's gate (ocr.ranker.passes_gate)


def cross_validate(
    samples: Sequence[Sample],
    candidates: Sequence[dict[str, list[Candidate]]],
    field: str,
    extra: Extra | None = None,
) -> list[OutOfFold]:
    import numpy as np

    fold = folds_of(samples)
    results: list[OutOfFold | None] = [None] * len(samples)
    for k in range(FOLDS):
        train = [i for i in range(len(samples)) if fold[i] != k]
        rows, labels = _rows([samples[i] for i in train], [candidates[i][field] for i in train], field)
        if not rows or sum(labels) == 0:
            continue
        booster = _fit(rows, labels, extra)
        for i in (i for i in range(len(samples)) if fold[i] == k and labelled_for(field, samples[i].key)):
            found = candidates[i][field]
            scores = (
                [float(p) for p in booster.predict(np.asarray([c.features for c in found]))] if found else []
            )
            chosen = choose(found, scores, Calibration((), ()), field)
            answerable = any(_label(field, c, samples[i].key) for c in found)
            right = chosen.value is not None and any(
                _label(field, c, samples[i].key) for c in found if c.value == chosen.value
            )
            gated = passes_gate(field, found, chosen.value)
            results[i] = OutOfFold(chosen.value, chosen.score, right, answerable, gated)
    return [r if r is not None else OutOfFold(None, 0.0, False, False) for r in results]


def _scored(outcomes: Sequence[OutOfFold], samples: Sequence[Sample], field: str) -> list[OutOfFold]:
    return [o for o, s in zip(outcomes, samples, strict=True) if labelled_for(field, s.key)]


def calibrate(outcomes: Sequence[OutOfFold], target: float = 0.99) -> Calibration:
    """Scores to confidences from out-of-fold readings.

    Below the confident range the confidence is the share of right readings among those scoring
    about the same (isotonic regression, capped under ``CONFIDENT``). The confident range starts
    at the lowest score above which the out-of-fold readings were right at least ``target`` of the
    time, with a margin: at least 50 readings lie above it and the Wilson lower bound (95%) of
    their share is at least ``WILSON_FLOOR``. Only readings that pass their field's gate count
    there (a total the receipt's arithmetic confirms); the others are never confident. Scores there map from ``CONFIDENT`` up
    to 1. Where no score qualifies, nothing is confident.
    """
    from sklearn.isotonic import IsotonicRegression

    scored = sorted((o.score, 1.0 if o.right else 0.0) for o in outcomes if o.value is not None)
    gated = sorted((o.score, 1.0 if o.right else 0.0) for o in outcomes if o.value is not None and o.gated)
    if len(scored) < 10:
        return Calibration((0.0, 1.0), (0.0, 0.5))
    xs = [s for s, _ in scored]
    ys = [r for _, r in scored]
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(xs, ys)
    threshold = None
    gated_ys = [r for _, r in gated]
    for i in range(len(gated)):
        above = gated_ys[i:]
        if len(above) < 50:
            break
        share = sum(above) / len(above)
        if share >= target and _wilson_lower(sum(above), len(above)) >= WILSON_FLOOR:
            threshold = gated[i][0]
            break
    grid = sorted({round(x, 4) for x in xs} | {0.0, 1.0})
    points: list[tuple[float, float]] = []
    for x in grid:
        if threshold is not None and x >= threshold:
            continue
        points.append((x, min(float(iso.predict([x])[0]), CONFIDENT - 0.01)))
    if threshold is not None:
        points.append((threshold, CONFIDENT))
        points.append((1.0, 1.0) if threshold < 1.0 else (1.0 + 1e-9, 1.0))
    # keep it monotone and small
    cleaned: list[tuple[float, float]] = []
    for x, y in points:
        y = max(y, cleaned[-1][1]) if cleaned else y
        if cleaned and abs(cleaned[-1][1] - y) < 1e-6 and x != points[-1][0]:
            continue
        cleaned.append((round(x, 6), round(y, 4)))
    return Calibration(tuple(x for x, _ in cleaned), tuple(y for _, y in cleaned))


def _wilson_lower(right: float, n: int, z: float = 1.96) -> float:
    if n == 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


@dataclass(frozen=True)
class TrainingReport:
    model: dict[str, Any]
    cross_validated: dict[str, dict[str, dict[str, float]]]  # set -> field -> figures


def train(samples: Sequence[Sample], progress: Callable[[str], None] | None = None) -> TrainingReport:
    say = progress or (lambda _: None)
    say("spaces: learning where the spaces go from the keys' merchants and addresses")
    spaced = train_spaces(samples)
    say(
        f"spaces: {spaced.figures.get('gaps', 0)} labelled gaps; decided wrong by the rule "
        f"{spaced.figures.get('wrong_by_rule', 0)}, by the model (cross-validated) "
        f"{spaced.figures.get('wrong_cross_validated', 0)}"
    )
    # cross-validation reads each receipt spaced by a gap model that did not see it; the final
    # models train on the receipts as the shipped gap model spaces them
    held_out = [sample_candidates(s) for s in spaced.out_of_fold]
    candidates = [sample_candidates(s) for s in spaced.in_sample]
    document: dict[str, Any] = {
        "version": MODEL_VERSION,
        "corpus": _corpus_summary(samples),
        "synthetic": {
            "seed": SYNTHETIC_SEED,
            **{f: {"receipts": n, "weight": w} for f, (n, w) in SYNTHETIC.items()},
        },
        "fields": {},
    }
    if spaced.booster is not None:
        document["spaces"] = {
            "features": list(spaces.GAP_FEATURES),
            "threshold": SPACE_THRESHOLD,
            "figures": spaced.figures,
            "model": spaced.booster.model_to_string(num_iteration=-1),
        }
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for field in RANKED_FIELDS:
        extra = synthetic_rows(field)
        if extra is not None:
            say(f"{field}: {SYNTHETIC[field][0]} generated receipts join the training, weight {extra.weight}")
        say(f"{field}: cross-validating ({FOLDS} folds)")
        outcomes = cross_validate(spaced.out_of_fold, held_out, field, extra)
        calibration = calibrate(_scored(outcomes, samples, field))
        for sample, outcome in zip(samples, outcomes, strict=True):
            if not labelled_for(field, sample.key):
                continue
            entry = figures.setdefault(sample.set_name, {}).setdefault(field, _empty())
            entry["receipts"] += 1
            entry["right"] += outcome.right
            confidence = calibration(outcome.score) if outcome.value is not None and outcome.gated else 0.0
            if confidence >= CONFIDENT:
                entry["confident"] += 1
                entry["confident_right"] += outcome.right
        say(f"{field}: training on {len(samples)} receipts")
        rows, labels = _rows(spaced.in_sample, [c[field] for c in candidates], field)
        booster = _fit(rows, labels, extra)
        document["fields"][field] = {
            "features": list(FEATURES[field]),
            "calibration": calibration.as_json(),
            "model": booster.model_to_string(num_iteration=-1),
        }
    return TrainingReport(document, figures)


def _empty() -> dict[str, float]:
    return {"receipts": 0, "right": 0, "confident": 0, "confident_right": 0}


def _corpus_summary(samples: Sequence[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.set_name] = counts.get(s.set_name, 0) + 1
    return dict(sorted(counts.items()))


def model_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"
