"""The extractor's text primitives, shared by the rules (``ocr.extract``) and the candidate
features (``ocr.candidates``): one normalisation, the hand-made total-label weights, the cleaning of
a shop name."""

from __future__ import annotations

import re
import unicodedata

from ocr import rules


def normalise(text: str) -> str:
    """Upper case, compatible Unicode forms (full-width digits become ASCII), single spaces."""
    text = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"\s+", " ", text).strip()


def label_weight(line: str) -> float:
    weight = 0.0
    for label in rules.TOTAL_LABELS:
        if label.pattern.search(line):
            weight = max(weight, label.weight)
    if weight == 0:
        return 0.0
    if any(p.search(line) for p in rules.NOT_TOTAL_HARD):
        return 0.0
    if weight < 9 and any(p.search(line) for p in rules.NOT_TOTAL_SOFT):
        return 0.0
    return weight


def clean_name(line: str) -> str:
    line = rules.OWNER_PREFIX.sub("", line)
    for pattern, replacement in rules.NAME_FIXES:
        line = pattern.sub(replacement, line)
    for pattern in rules.NAME_TAIL_NOISE:
        line = pattern.sub("", line)
    return re.sub(r"\s+", " ", line).strip()
