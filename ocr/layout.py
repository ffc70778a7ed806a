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


# Boxes given to lines that come without any (a PDF's text layer, tests): one word per line, each
# line the same height, stacked top to bottom, about 10 px per character.
_TEXT_LINE_HEIGHT = 20
_TEXT_CHAR_WIDTH = 10


def text_lines(texts: list[str] | tuple[str, ...]) -> list[Line]:
    """Lines of plain text as positioned lines: each one word, left-aligned, stacked evenly."""
    lines = []
    for i, text in enumerate(t for t in texts if t.strip()):
        top = i * _TEXT_LINE_HEIGHT
        word = Word(text.strip(), 0, top, _TEXT_CHAR_WIDTH * len(text.strip()), top + _TEXT_LINE_HEIGHT - 4)
        lines.append(Line((word,)))
    return lines
