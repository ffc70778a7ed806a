"""Grouping positioned words into printed lines, tolerant of skewed photos."""

from __future__ import annotations

import statistics

from ocr.model import Line, Word


def group_lines(words: tuple[Word, ...] | list[Word], skew: float = 0.0) -> list[Line]:
    """Lines of words, top to bottom, each left to right.

    A word joins a line when its vertical centre (corrected for the page's skew) lies within half a
    text height of the line's centre. Receipts print labels on the left and amounts far on the right;
    this keeps them on one line.
    """
    if not words:
        return []
    heights = [w.height for w in words if w.height > 0]
    typical = statistics.median(heights) if heights else 10.0

    def level(w: Word) -> float:
        return w.cy - skew * (w.left + w.right) / 2

    ordered = sorted(words, key=level)
    rows: list[list[Word]] = []
    centres: list[float] = []
    for word in ordered:
        y = level(word)
        tolerance = 0.5 * max(min(word.height, 2 * typical), typical * 0.5)
        if rows and abs(y - centres[-1]) <= tolerance:
            rows[-1].append(word)
            n = len(rows[-1])
            centres[-1] += (y - centres[-1]) / n
        else:
            rows.append([word])
            centres.append(y)
    return [Line(tuple(sorted(row, key=lambda w: w.left))) for row in rows]
