"""The trained part of the reader: a ranking model per field and its calibrated confidence.

``ocr/models/reader.json`` holds, for each field (total, date, merchant), a LightGBM model that
scores every candidate (see ``ocr.candidates``) and a calibration table learned on receipts the
model did not see while training (cross-validation), mapping the winning score to how often such
a reading is right. ``expensebot train-reader`` writes the file; it is loaded once per process.
"""

from __future__ import annotations

import bisect
import json
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ocr import spaces
from ocr.candidates import Candidate, total_is_checked

MODEL_FILE = "reader.json"
RANKED_FIELDS: tuple[str, ...] = ("total", "date", "merchant")
# Confidence at or above this value promises "right at least 99 times in 100" (see calibrate()).
CONFIDENT = 0.9


@dataclass(frozen=True)
class Calibration:
    """Winning score -> confidence, piecewise linear through learned points (scores ascending)."""

    scores: tuple[float, ...]
    confidences: tuple[float, ...]

    def __call__(self, score: float) -> float:
        if not self.scores:
            return 0.0
        i = bisect.bisect_right(self.scores, score)
        if i == 0:
            return self.confidences[0]
        if i >= len(self.scores):
            return self.confidences[-1]
        x0, x1 = self.scores[i - 1], self.scores[i]
        y0, y1 = self.confidences[i - 1], self.confidences[i]
        if x1 == x0:
            return y1
        return y0 + (y1 - y0) * (score - x0) / (x1 - x0)

    def as_json(self) -> dict[str, list[float]]:
        return {"scores": list(self.scores), "confidences": list(self.confidences)}


@dataclass(frozen=True)
class Choice:
    value: object | None
    score: float  # the model's score of the winner, 0..1
    confidence: float  # calibrated, 0..1
    runner_up: object | None = None


_IMPORT_LOCK = threading.RLock()
_LOAD_LOCK = threading.Lock()


def _import_lightgbm() -> Any:
    """LightGBM, loaded with the first model (not with the package), without scikit-learn.

    LightGBM imports scikit-learn when it is installed, for its optional scikit-learn API: about
    a second and 60 MB more in every process that reads a receipt, for nothing the reader uses
    (it needs only ``Booster``). Hiding scikit-learn while LightGBM loads leaves that API off in
    this process; training (``ocr.training``) uses LightGBM's own ``train`` and still imports
    scikit-learn itself for calibration.
    """
    with _IMPORT_LOCK:  # two threads loading the model at once must not see a half-imported module
        if "lightgbm" in sys.modules:
            return sys.modules["lightgbm"]
        hide = "sklearn" not in sys.modules
        if hide:
            sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` fail
        try:
            import lightgbm
        finally:
            if hide:
                del sys.modules["sklearn"]
        return lightgbm


class FieldModel:
    """One field's scorer: LightGBM's own text model format, evaluated by LightGBM."""

    def __init__(
        self, model_text: str, features: Sequence[str], calibration: Calibration, field: str = ""
    ) -> None:
        lightgbm = _import_lightgbm()
        self._booster = lightgbm.Booster(model_str=model_text)
        self._lock = threading.Lock()
        self.features = tuple(features)
        self.calibration = calibration
        self.field = field

    def scores(self, candidates: Sequence[Candidate]) -> list[float]:
        if not candidates:
            return []
        import numpy as np

        matrix = np.asarray([c.features for c in candidates], dtype=np.float64)
        with self._lock:  # a Booster's predict is not documented as thread-safe
            predicted = self._booster.predict(matrix, num_threads=1)
        return [float(p) for p in predicted]

    def choose(self, candidates: Sequence[Candidate]) -> Choice:
        return choose(candidates, self.scores(candidates), self.calibration, self.field)


def passes_gate(field: str, candidates: Sequence[Candidate], value: object) -> bool:
    """Whether a field's reading may be confident at all (see ``calibrate``): a total only when the
    receipt's arithmetic confirms it; other fields always."""
    if field == "total":
        return total_is_checked(candidates, value)
    return value is not None


def choose(
    candidates: Sequence[Candidate], scores: Sequence[float], calibration: Calibration, field: str = ""
) -> Choice:
    """The value with the best score over all its candidates (a total printed twice is one value).

    A reading that does not pass the field's gate is never reported confident."""
    best: dict[object, float] = {}
    for candidate, score in zip(candidates, scores, strict=True):
        if score > best.get(candidate.value, -1.0):
            best[candidate.value] = score
    if not best:
        return Choice(None, 0.0, 0.0)
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    value, score = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else None
    confidence = calibration(score)
    if not passes_gate(field, candidates, value):
        confidence = min(confidence, CONFIDENT - 0.01)
    return Choice(value, score, round(confidence, 3), runner_up)


@dataclass(frozen=True)
class ReaderModel:
    version: str
    fields: dict[str, FieldModel]
    spaces: spaces.SpaceModel | None = None  # where a segment's spaces go (ocr.spaces)


def parse_model(document: dict[str, Any]) -> ReaderModel:
    fields = {}
    for name, entry in document["fields"].items():
        calibration = Calibration(
            tuple(entry["calibration"]["scores"]), tuple(entry["calibration"]["confidences"])
        )
        fields[name] = FieldModel(entry["model"], entry["features"], calibration, name)
    gaps = document.get("spaces")
    space_model = None
    if gaps is not None:
        booster = _import_lightgbm().Booster(model_str=gaps["model"])
        space_model = spaces.SpaceModel(booster, float(gaps["threshold"]))
    return ReaderModel(str(document["version"]), fields, space_model)


def space_decisions(segment: spaces.SegmentGaps) -> list[bool]:
    """Whether each gap of a recognised segment is a space: by the shipped gap model, or by the
    rule (``ocr.spaces.ruled``) when the package has none."""
    model = shipped_model()
    if model is None or model.spaces is None:
        return spaces.ruled(segment)
    return model.spaces.decide(segment)


def shipped_model() -> ReaderModel | None:
    """The model shipped in ``ocr/models``, loaded once per process (the first of several threads
    asking loads it, the others wait); None when the package has none (a fresh training run)."""
    with _LOAD_LOCK:
        return _load_shipped()


@cache
def _load_shipped() -> ReaderModel | None:
    path = resources.files("ocr") / "models" / MODEL_FILE
    if not path.is_file():
        return None
    return parse_model(json.loads(path.read_text(encoding="utf-8")))
