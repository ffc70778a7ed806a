"""Where the spaces go in a recognised text segment, learned from labelled receipts.

The recogniser often runs words together ("BOOKTA.K(TAMANDAYA)SDNBHD") and sometimes puts a space
inside one ("RES TAURANT"). Whether two characters are separated by a space shows in the pixels:
the blank run between them, measured against the line's height and against the other gaps of the
same segment (narrow type has narrow spaces), and in what the two characters are. ``measure``
takes those measurements for every gap between two characters of a segment; a small LightGBM
model (trained by ``expensebot train-reader`` on the gaps of the development receipts whose keys
print the same characters, see ``labels_from_keys``) decides each gap. Two digits side by side
keep the recogniser's decision, so that amounts and codes stay as read.

Without a trained model the older rule applies: in a segment where the recogniser put no space at
all, a blank run of at least ``SPACE_GAP_RATIO`` of the line's height is a space.
"""

from __future__ import annotations

import itertools
import re
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# A blank run between two characters of at least this share of the line's height is a space (the
# rule used when no model is shipped).
SPACE_GAP_RATIO = 0.28
# Punctuation whose presence on either side of a gap is a feature of its own.
PUNCTUATION = ".,()&-"
GAP_FEATURES: tuple[str, ...] = (
    "blank_per_height",
    "distance_per_height",
    "blank_against_median",
    "distance_against_median",
    "blank_above_median_per_height",
    "blank_rank",
    "recogniser_space",
    "kind_before",
    "kind_after",
    "gaps_in_segment",
    "height",
    "segment_has_space",
    "blank_above_neighbours",
    "contrast",
    *(f"before_is_{ord(p)}" for p in PUNCTUATION),
    *(f"after_is_{ord(p)}" for p in PUNCTUATION),
)


@dataclass(frozen=True)
class Gap:
    """Two neighbouring characters and what lies between them."""

    before: str
    after: str
    recogniser_space: bool  # the recogniser itself put a space here
    distance: float  # between the characters' centres, in pixels
    blank: float  # longest run of blank columns between the centres, in pixels


@dataclass(frozen=True)
class SegmentGaps:
    """One recognised segment's gaps, with the line's height and contrast (grey levels)."""

    height: int
    contrast: float
    gaps: tuple[Gap, ...]

    @property
    def characters(self) -> str:
        """The segment's characters without spaces."""
        if not self.gaps:
            return ""
        return self.gaps[0].before + "".join(g.after for g in self.gaps)

    def as_json(self) -> list[Any]:
        return [
            self.height,
            round(self.contrast, 1),
            [[g.before, g.after, int(g.recogniser_space), g.distance, g.blank] for g in self.gaps],
        ]

    @staticmethod
    def from_json(data: Sequence[Any]) -> SegmentGaps:
        height, contrast, gaps = data
        return SegmentGaps(
            int(height),
            float(contrast),
            tuple(Gap(str(a), str(b), bool(s), float(d), float(k)) for a, b, s, d, k in gaps),
        )


@dataclass(frozen=True)
class Segment:
    """A text segment as the recogniser read it: its corner points on the page, text, score, and
    the measured gaps between its characters (None where they could not be measured)."""

    quad: tuple[tuple[float, float], ...]
    text: str
    score: float
    gaps: SegmentGaps | None

    def as_json(self) -> list[Any]:
        return [
            [[x, y] for x, y in self.quad],
            self.text,
            round(self.score, 4),
            self.gaps.as_json() if self.gaps is not None else None,
        ]

    @staticmethod
    def from_json(data: Sequence[Any]) -> Segment:
        quad, text, score, gaps = data
        return Segment(
            tuple((float(x), float(y)) for x, y in quad),
            str(text),
            float(score),
            SegmentGaps.from_json(gaps) if gaps is not None else None,
        )


def measure(
    chars: Sequence[str], boxes: Sequence[Sequence[tuple[float, float]]], strip: Any
) -> SegmentGaps | None:
    """The gaps of one segment: ``chars`` and their ``boxes`` as the recogniser gives them (spaces
    may be among the characters), ``strip`` the grey-level rows of the page that hold the segment.
    None when there is nothing to measure (fewer than two characters, no contrast)."""
    import numpy as np

    if len(chars) != len(boxes) or len(chars) < 2 or strip.size == 0:
        return None
    lo, hi = np.percentile(strip, [5, 95])
    if hi - lo < 20:
        return None
    ink = strip < (lo + hi) / 2
    centres = [sum(p[0] for p in box) / len(box) for box in boxes]
    shown = [i for i, c in enumerate(chars) if c.strip()]
    gaps: list[Gap] = []
    for i, j in itertools.pairwise(shown):
        a, b = max(int(centres[i]), 0), min(int(centres[j]), ink.shape[1])
        best = 0
        if b > a:
            run = 0
            for is_blank in ~ink[:, a:b].any(axis=0):
                run = run + 1 if is_blank else 0
                best = max(best, run)
        space = any(not chars[k].strip() for k in range(i + 1, j))
        gaps.append(Gap(chars[i], chars[j], space, round(centres[j] - centres[i], 1), float(best)))
    if not gaps:
        return None
    return SegmentGaps(int(strip.shape[0]), float(hi - lo), tuple(gaps))


def _kind(char: str) -> int:
    if char.isdigit():
        return 0
    if char.isalpha():
        return 1 if char.isupper() else 2
    return 3


def features(segment: SegmentGaps) -> list[tuple[float, ...]]:
    """One row of ``GAP_FEATURES`` per gap."""
    height = max(segment.height, 1)
    gaps = segment.gaps
    blanks = sorted(g.blank for g in gaps)
    median_blank = statistics.median(blanks)
    median_distance = max(statistics.median(g.distance for g in gaps), 1e-6)
    has_space = float(any(g.recogniser_space for g in gaps))
    rows: list[tuple[float, ...]] = []
    for i, gap in enumerate(gaps):
        neighbours = max(gaps[i - 1].blank if i > 0 else 0.0, gaps[i + 1].blank if i + 1 < len(gaps) else 0.0)
        rank = sum(1 for b in blanks if b < gap.blank) / len(gaps)
        rows.append(
            (
                gap.blank / height,
                gap.distance / height,
                (gap.blank + 1) / (median_blank + 1),
                gap.distance / median_distance,
                (gap.blank - median_blank) / height,
                rank,
                float(gap.recogniser_space),
                float(_kind(gap.before)),
                float(_kind(gap.after)),
                float(len(gaps)),
                float(height),
                has_space,
                (gap.blank - neighbours) / height,
                segment.contrast / 255.0,
                *(float(gap.before == p) for p in PUNCTUATION),
                *(float(gap.after == p) for p in PUNCTUATION),
            )
        )
    return rows


def labels_from_keys(segment: SegmentGaps, keys: Sequence[str]) -> list[bool] | None:
    """Whether each gap is a space, where a labelled text (a key's merchant or address) holds the
    segment's characters exactly once (case aside): the key's spacing is the truth. Keys written
    in small letters only (short names, not as printed) are not used. None where no key holds it."""
    wanted = segment.characters.upper()
    if len(wanted) < 4:
        return None
    for key in keys:
        if not key or key == key.lower():
            continue
        letters: list[str] = []
        space_before: list[bool] = []
        pending = False
        for char in key.upper():
            if char == " ":
                pending = True
                continue
            letters.append(char)
            space_before.append(pending)
            pending = False
        text = "".join(letters)
        at = text.find(wanted)
        if at >= 0 and text.find(wanted, at + 1) < 0:
            return [space_before[at + k] for k in range(1, len(wanted))]
    return None


def ruled(segment: SegmentGaps) -> list[bool]:
    """The rule without a model: the recogniser's spaces, and where it put none in the whole
    segment, blank runs of at least ``SPACE_GAP_RATIO`` of the height (never between digits)."""
    if any(g.recogniser_space for g in segment.gaps):
        return [g.recogniser_space for g in segment.gaps]
    min_gap = max(3.0, SPACE_GAP_RATIO * segment.height)
    return [
        not (g.before.isdigit() and g.after.isdigit()) and g.distance > min_gap and g.blank >= min_gap
        for g in segment.gaps
    ]


class SpaceModel:
    """The trained gap classifier: a LightGBM booster and the score from which a gap is a space."""

    def __init__(self, booster: Any, threshold: float) -> None:
        self._booster = booster
        self._lock = threading.Lock()
        self.threshold = threshold

    def decide(self, segment: SegmentGaps) -> list[bool]:
        import numpy as np

        with self._lock:
            scores = self._booster.predict(np.asarray(features(segment), dtype=np.float64), num_threads=1)
        return [
            gap.recogniser_space
            if gap.before.isdigit() and gap.after.isdigit()
            else float(score) >= self.threshold
            for gap, score in zip(segment.gaps, scores, strict=True)
        ]


def spaced(segment: SegmentGaps, decisions: Sequence[bool]) -> str:
    """The segment's characters with a space at every gap decided so."""
    if not segment.gaps:
        return ""
    out = [segment.gaps[0].before]
    for gap, space in zip(segment.gaps, decisions, strict=True):
        if space:
            out.append(" ")
        out.append(gap.after)
    return re.sub(r" +", " ", "".join(out)).strip()
