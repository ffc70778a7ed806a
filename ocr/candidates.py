"""Candidates for each receipt field, each with the features a trained model ranks it by.

A receipt is a list of printed lines with their boxes. Every amount is a candidate total, every
reading of every printed date a candidate date, every header-like line (and pairs of lines) a
candidate merchant. Features describe what a reader of any country would look at: the words on the
line and around it (by meaning, see ``ocr.keywords``), where it sits on the page, how large it is
printed, and whether the numbers agree with each other (subtotal + tax, cash - change, items).

Pure functions over text and boxes; the model lives in ``ocr.ranker``.
"""

from __future__ import annotations

import datetime
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ocr import keywords, rules
from ocr.fields import DateMatch, find_amounts, find_currency_marks, find_dates, followed_by_time
from ocr.model import Line
from ocr.text import clean_name as _clean_name
from ocr.text import label_weight as _label_weight  # the hand-made label weights: one feature among many
from ocr.text import normalise  # the one normalisation of the extractor
from workflows.money import ABSURD_AMOUNT

_CENT = Decimal("0.01")
_EARLIEST = datetime.date(1990, 1, 1)
_LATEST = datetime.date(2099, 12, 31)


@dataclass(frozen=True)
class Doc:
    """A receipt's lines, normalised, with the page's measures."""

    lines: tuple[Line, ...]
    texts: tuple[str, ...]  # upper case, NFKC
    classes: tuple[dict[str, int], ...]  # keyword classes per line (start offset, -1 when absent)
    width: float
    height: float
    line_height: float  # median


def make_doc(lines: Sequence[Line]) -> Doc:
    kept = [line for line in lines if normalise(line.text)]
    texts = tuple(normalise(line.text) for line in kept)
    heights = [line.bottom - line.top for line in kept if line.bottom > line.top]
    width = max((w.right for line in kept for w in line.words), default=1)
    height = max((line.bottom for line in kept), default=1)
    return Doc(
        lines=tuple(kept),
        texts=texts,
        classes=tuple(keywords.classes_in(t) for t in texts),
        width=float(max(width, 1)),
        height=float(max(height, 1)),
        line_height=float(statistics.median(heights)) if heights else 10.0,
    )


def _has(doc: Doc, i: int, kind: str) -> float:
    return 1.0 if 0 <= i < len(doc.texts) and doc.classes[i][kind] >= 0 else 0.0


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


# ------------------------------------------------------------------------------------------ totals

_MONEY_CLASSES = ("total", "subtotal", "tax", "tender", "change", "rounding", "discount", "tip", "quantity")

TOTAL_FEATURES: tuple[str, ...] = (
    *(f"line_{c}" for c in _MONEY_CLASSES),
    *(f"above_{c}" for c in _MONEY_CLASSES),
    *(f"above2_{c}" for c in ("total", "subtotal", "tender", "change")),
    *(f"below_{c}" for c in ("total", "tender", "change", "tax")),
    "label_weight",
    "label_weight_above",
    "label_left_of_amount",
    "label_hard_not",
    "label_soft_not",
    "line_has_percent",
    "amounts_on_line",
    "amount_from_right",
    "letters_on_line",
    "line_is_only_amount",
    "y_frac",
    "line_frac",
    "x_right_frac",
    "height_rel",
    "log_value",
    "rank_desc",
    "rank_frac",
    "is_max",
    "occurrences",
    "occurrences_labelled",
    "whole_units",
    "currency_adjacent",
    "after_last_total_label",
    "eq_subtotal_plus_tax",
    "eq_tender_minus_change",
    "eq_tender",
    "plus_change_eq_tender",
    "eq_items_sum",
    "eq_labelled_plus_rounding",
    "rounded_below",
    "eq_tax_summary_gross",
    "eq_subtotal",
    "n_total_labels",
    "n_lines",
    "inside_date",
    "tip_line_percent",
    "ocr_confidence",
    "has_subtotal_and_tax",
)

# A total the other numbers confirm: subtotal + tax, tendered - change, a VAT summary's gross, a
# labelled total plus its rounding. (The items' sum is no confirmation: it is the subtotal's.)
_CORROBORATING = (
    "eq_subtotal_plus_tax",
    "eq_tender_minus_change",
    "plus_change_eq_tender",
    "eq_tax_summary_gross",
    "eq_labelled_plus_rounding",
)
_ROUNDING_GAP = Decimal("0.10")


def total_is_checked(candidates: Sequence[Candidate], value: object) -> bool:
    """Whether a chosen total may be reported as confident: the receipt's other numbers confirm it,
    and no other total, rounding or payment within a rounding step of it competes (the amount
    before and after rounding: which one counts is for a person to say)."""
    if not isinstance(value, Decimal):
        return False
    index = [TOTAL_FEATURES.index(name) for name in _CORROBORATING]
    labelled = TOTAL_FEATURES.index("label_weight")
    rivals = [TOTAL_FEATURES.index(n) for n in ("line_rounding", "line_tender", "eq_tender_minus_change")]
    mine = [c for c in candidates if c.value == value]
    if not any(c.features[i] for c in mine for i in index):
        return False
    sums_to = TOTAL_FEATURES.index("eq_subtotal_plus_tax")
    printed_sum = TOTAL_FEATURES.index("has_subtotal_and_tax")
    if any(c.features[printed_sum] for c in mine) and not any(c.features[sums_to] for c in mine):
        return False  # the receipt's own subtotal and tax add up to something else
    # another total, a rounding, or what was paid, a few cents away
    return not any(
        isinstance(c.value, Decimal)
        and c.value != value
        and abs(c.value - value) <= _ROUNDING_GAP
        and (c.features[labelled] >= 7 or any(c.features[i] for i in rivals))
        for c in candidates
    )


@dataclass(frozen=True)
class Candidate:
    value: object  # Decimal, datetime.date or str
    features: tuple[float, ...]
    line: int


def _amounts(doc: Doc, decimals: int) -> list[list[tuple[Decimal, int, int]]]:
    return [
        [(a.value, a.start, a.end) for a in find_amounts(text, decimals) if abs(a.value) < ABSURD_AMOUNT]
        for text in doc.texts
    ]


def _x_of(line: Line, text: str, offset: int) -> float:
    """The right edge in pixels of the character at ``offset`` of the line's text (approximately)."""
    pos = 0
    for word in line.words:
        end = pos + len(word.text)
        if offset < end + 1:
            return float(word.right)
        pos = end + 1
    return float(line.words[-1].right) if line.words else 0.0


def _last(values: list[tuple[Decimal, int, int]]) -> Decimal | None:
    return values[-1][0] if values else None


def total_candidates(doc: Doc, decimals: int = 2) -> list[Candidate]:
    per_line = _amounts(doc, decimals)
    n = len(doc.texts)
    if n == 0:
        return []
    weights = [_label_weight(t) for t in doc.texts]

    def amounts_of(kind: str) -> list[Decimal]:
        found = []
        for i in range(n):
            value = None
            if doc.classes[i][kind] >= 0:
                value = _last(per_line[i])
                if value is None and i + 1 < n and _letters(doc.texts[i + 1]) <= 2:
                    value = _last(per_line[i + 1])
            if value is not None:
                found.append(value)
        return found

    subtotals = amounts_of("subtotal")
    taxes = [t for t in amounts_of("tax") if t >= 0]
    tenders = amounts_of("tender")
    changes = [c for c in amounts_of("change") if c >= 0]
    roundings = [r for r in amounts_of("rounding") if 0 < abs(r) < 1]
    # a rounding line, and the labelled amounts above it: the amount below that differs from one of
    # them by the rounding (its sign is often lost: "-RM 0.02", "ADJUSTMENT RM 0.01") is the total
    # after rounding, what was paid
    rounding_lines = [
        (i, abs(v))
        for i in range(n)
        if doc.classes[i]["rounding"] >= 0
        for v, _, _ in per_line[i][-1:]
        if 0 < abs(v) < 1
    ]
    labelled_at = [
        (i, v) for i in range(n) if doc.classes[i]["total"] >= 0 or weights[i] >= 7 for v, _, _ in per_line[i]
    ]
    labelled = [
        v for i in range(n) if doc.classes[i]["total"] >= 0 or weights[i] >= 7 for v, _, _ in per_line[i]
    ]
    positive = sorted({v for amounts in per_line for v, _, _ in amounts if v > 0}, reverse=True)
    largest = positive[0] if positive else Decimal(0)
    total_label_lines = [i for i in range(n) if doc.classes[i]["total"] >= 0 or weights[i] >= 7]
    last_total_label = max(total_label_lines, default=-1)
    # a tax summary prints net, tax and gross on one line: the gross adds up to the total
    gross = {
        amounts[-1][0]
        for amounts in per_line
        if len(amounts) >= 3 and abs(amounts[-3][0] + amounts[-2][0] - amounts[-1][0]) <= _CENT
    }
    items_sums = _items_sums(doc, per_line)
    sub_tax = {s + t for s in subtotals for t in taxes} | {
        s + t + r for s in subtotals for t in taxes for r in roundings
    }
    paid = {t - c for t in tenders for c in changes if t - c > 0}
    counts: dict[Decimal, int] = {}
    for amounts in per_line:
        for v, _, _ in amounts:
            counts[v] = counts.get(v, 0) + 1

    out: list[Candidate] = []
    for i, amounts in enumerate(per_line):
        line, text = doc.lines[i], doc.texts[i]
        only_amount = _letters(text) <= 2
        date_spans = [(d.start, d.end) for d in find_dates(text)]
        for k, (value, start, end) in enumerate(amounts):
            if value <= 0:
                continue
            classes = doc.classes[i]
            label_left = any(
                0 <= classes[c] < start for c in ("total", "subtotal", "tax", "tender", "change")
            )
            above = i - 1
            rank = positive.index(value)
            x_right = _x_of(line, text, end - 1)
            around = text[max(0, start - 3) : end + 3]
            feats: list[float] = [
                *(_has(doc, i, c) for c in _MONEY_CLASSES),
                *(_has(doc, above, c) for c in _MONEY_CLASSES),
                *(_has(doc, i - 2, c) for c in ("total", "subtotal", "tender", "change")),
                *(
                    max(_has(doc, j, c) for j in (i + 1, i + 2, i + 3))
                    for c in ("total", "tender", "change", "tax")
                ),
                weights[i],
                weights[above] if above >= 0 else 0.0,
                1.0 if label_left else 0.0,
                1.0 if any(p.search(text) for p in rules.NOT_TOTAL_HARD) else 0.0,
                1.0 if any(p.search(text) for p in rules.NOT_TOTAL_SOFT) else 0.0,
                1.0 if "%" in text else 0.0,
                float(len(amounts)),
                float(len(amounts) - 1 - k),
                float(min(_letters(text), 40)),
                1.0 if only_amount else 0.0,
                (line.top + line.bottom) / 2 / doc.height,
                i / max(n - 1, 1),
                x_right / doc.width,
                (line.bottom - line.top) / doc.line_height,
                math.log1p(float(value)),
                float(min(rank, 10)),
                rank / max(len(positive) - 1, 1),
                1.0 if value == largest else 0.0,
                float(min(counts.get(value, 0), 5)),
                float(min(labelled.count(value), 5)),
                1.0 if value == value.to_integral_value() else 0.0,
                1.0 if find_currency_marks(around) or "$" in around or "€" in around else 0.0,
                1.0 if i >= last_total_label >= 0 else 0.0,
                1.0 if any(abs(value - s) <= _CENT for s in sub_tax) else 0.0,
                1.0 if value in paid else 0.0,
                1.0 if value in tenders else 0.0,
                1.0 if any(value + c in tenders for c in changes if c > 0) else 0.0,
                1.0 if value in items_sums else 0.0,
                1.0 if any(abs(value - v) == abs(r) for v in labelled for r in roundings) else 0.0,
                1.0
                if any(j < k < i and abs(value - v) == r for k, r in rounding_lines for j, v in labelled_at)
                else 0.0,
                1.0 if value in gross else 0.0,
                1.0 if value in subtotals else 0.0,
                float(min(len(total_label_lines), 6)),
                float(min(n, 100)) / 100,
                1.0 if any(ds < end and start < de for ds, de in date_spans) else 0.0,
                1.0
                if "%" in text and (doc.classes[i]["tip"] >= 0 or doc.classes[above]["tip"] >= 0)
                else 0.0,
                line.confidence,
                1.0 if sub_tax else 0.0,
            ]
            out.append(Candidate(value, tuple(feats), i))
    return out


def _items_sums(doc: Doc, per_line: list[list[tuple[Decimal, int, int]]]) -> set[Decimal]:
    """Sums of the last amounts of consecutive item lines (no money label), from the first priced
    line down to each labelled line: what a subtotal or total of those items would be."""
    sums: set[Decimal] = set()
    running = Decimal(0)
    started = False
    for i, amounts in enumerate(per_line):
        labelled = any(
            doc.classes[i][c] >= 0 for c in ("total", "subtotal", "tax", "tender", "change", "rounding")
        )
        if labelled:
            if started:
                sums.add(running)
            continue
        if amounts:
            started = True
            running += amounts[-1][0]
    return sums


# ------------------------------------------------------------------------------------------- dates

_ORDERS = ("name", "dmy", "mdy", "ymd")

DATE_FEATURES: tuple[str, ...] = (
    *(f"order_{o}" for o in _ORDERS),
    "readings",
    "only_reading",
    "region_month_first",
    "region_day_first",
    "agrees_with_region",
    "votes_same_order",
    "votes_other_order",
    "line_date_label",
    "line_other_date_label",
    "followed_by_time",
    "y_frac",
    "line_frac",
    "occurrences",
    "four_digit_year",
    "rank_in_receipt",
    "n_dates",
    "glued_left",
    "is_latest",
    "is_earliest",
)


def date_candidates(doc: Doc, month_first: bool | None) -> list[Candidate]:
    """Every reading of every printed date. ``month_first``: what the receipt's country suggests
    (True for the US and a few others, False for the rest, None when nothing says)."""
    found: list[tuple[int, DateMatch]] = []
    for i, text in enumerate(doc.texts):
        for match in find_dates(text):
            found.append((i, match))
    if not found:
        return []
    votes: dict[str, int] = {}
    all_values: list[datetime.date] = []
    for _, match in found:
        plausible = {o for o, d in match.readings if _EARLIEST <= d <= _LATEST}
        if len(plausible) == 1:
            (order,) = plausible
            votes[order] = votes.get(order, 0) + 1
        all_values.extend(d for _, d in match.readings)
    n = len(doc.texts)
    out: list[Candidate] = []
    for rank, (i, match) in enumerate(found):
        text, line = doc.texts[i], doc.lines[i]
        readings = [(o, d) for o, d in match.readings if _EARLIEST <= d <= _LATEST]
        values = {d for _, d in readings}
        for order, value in readings:
            region = 0.0
            if month_first is not None and order in ("dmy", "mdy") and len(values) > 1:
                region = 1.0 if (order == "mdy") == month_first else -1.0
            feats = [
                *(1.0 if order == o else 0.0 for o in _ORDERS),
                float(len(values)),
                1.0 if len(values) == 1 else 0.0,
                1.0 if month_first is True else 0.0,
                1.0 if month_first is False else 0.0,
                region,
                float(votes.get(order, 0)),
                float(sum(v for o, v in votes.items() if o != order)),
                1.0 if doc.classes[i]["date"] >= 0 else 0.0,
                1.0 if doc.classes[i]["other_date"] >= 0 else 0.0,
                1.0 if followed_by_time(text, match.end) else 0.0,
                (line.top + line.bottom) / 2 / doc.height,
                i / max(n - 1, 1),
                float(min(all_values.count(value), 5)),
                1.0 if re.search(r"(19|20)\d\d", text[match.start : match.end]) else 0.0,
                float(min(rank, 10)),
                float(min(len(found), 10)),
                1.0 if match.start > 0 and text[match.start - 1].isdigit() else 0.0,
                1.0 if value == max(all_values) else 0.0,
                1.0 if value == min(all_values) else 0.0,
            ]
            out.append(Candidate(value, tuple(feats), i))
    return out


# ---------------------------------------------------------------------------------------- merchant

MERCHANT_LINES = 12  # header lines considered, plus any line that carries a legal form

_NOISE_KINDS = len(rules.HEADER_NOISE)

MERCHANT_FEATURES: tuple[str, ...] = (
    "line_index",
    "index_among_candidates",
    "y_frac",
    "height_rel",
    "height_rank",
    "letters",
    "letter_ratio",
    "digits",
    "words",
    "legal_form",
    "business_word",
    "lower_case_only",
    "joined",
    "centre_offset",
    "width_frac",
    "ocr_confidence",
    "repeated_below",
    "before_first_amount",
    "is_footer",
    "has_money_class",
    *(f"noise_{k}" for k in range(_NOISE_KINDS)),
    "first_line_noise",
    "rest_noise",
    "rest_digits",
    "rest_legal_form",
    "rest_business_word",
    "rest_height_ratio",
    "first_legal_form",
)


def _clean(text: str) -> str:
    return _clean_name(text)


def merchant_candidates(doc: Doc, lower_case: frozenset[int] = frozenset()) -> list[Candidate]:
    n = len(doc.texts)
    first_amount = next((i for i, t in enumerate(doc.texts) if find_amounts(t) or find_dates(t)), n)
    pool = [i for i in range(min(n, MERCHANT_LINES))]
    pool += [i for i in range(MERCHANT_LINES, n) if rules.LEGAL_FORMS.search(doc.texts[i])]
    names = {i: _clean(doc.texts[i]) for i in pool}
    # a line with a price on it is an item, a total or a payment, not the shop's name
    pool = [i for i in pool if _letters(names[i]) >= 2 and not find_amounts(doc.texts[i])]
    if any(i not in lower_case for i in pool):
        # a line in small letters only is a note or a person's name written on the receipt
        pool = [i for i in pool if i not in lower_case]
    if not pool:
        return []
    heights = sorted({doc.lines[i].bottom - doc.lines[i].top for i in pool[:MERCHANT_LINES]}, reverse=True)
    out: list[Candidate] = []
    for rank, i in enumerate(pool):
        spans = [(i, i)]
        for extra in (1, 2):  # names printed over two or three lines (never a line in small letters)
            joinable = i not in lower_case and i + extra not in lower_case
            if joinable and i + extra in names and _letters(names[i + extra]) >= 2:
                spans.append((i, i + extra))
            else:
                break
        for top, bottom in spans:
            text = " ".join(names[k] for k in range(top, bottom + 1))
            line = doc.lines[top]
            words = [w for k in range(top, bottom + 1) for w in doc.lines[k].words]
            left = min(w.left for w in words)
            right = max(w.right for w in words)
            height = doc.lines[top].bottom - doc.lines[top].top
            first_word = next((w for w in re.findall(r"[A-Z]{4,}", text)), None)
            repeated = sum(1 for k in range(bottom + 1, n) if first_word in doc.texts[k]) if first_word else 0
            stripped = text.replace(" ", "")
            feats = [
                float(top),
                float(rank),
                (line.top + line.bottom) / 2 / doc.height,
                height / doc.line_height,
                float(heights.index(height)) if height in heights else 10.0,
                float(min(_letters(text), 60)),
                _letters(text) / max(len(stripped), 1),
                float(sum(ch.isdigit() for ch in text)),
                float(len(text.split())),
                1.0 if rules.LEGAL_FORMS.search(text) else 0.0,
                1.0 if rules.BUSINESS_WORDS.search(text) else 0.0,
                1.0 if any(k in lower_case for k in range(top, bottom + 1)) else 0.0,
                float(bottom - top),
                abs((left + right) / 2 - doc.width / 2) / doc.width,
                (right - left) / doc.width,
                min((w.confidence for w in words), default=0.0),
                float(min(repeated, 5)),
                1.0 if bottom < first_amount else 0.0,
                1.0 if top >= MERCHANT_LINES else 0.0,
                1.0
                if any(doc.classes[k][c] >= 0 for k in range(top, bottom + 1) for c in _MONEY_CLASSES)
                else 0.0,
                *(
                    1.0 if any(p.search(doc.texts[k]) for k in range(top, bottom + 1)) else 0.0
                    for p in rules.HEADER_NOISE
                ),
                *_continuation_features(doc, names, top, bottom),
            ]
            out.append(Candidate(text, tuple(feats), top))
    return out


def _continuation_features(doc: Doc, names: dict[int, str], top: int, bottom: int) -> list[float]:
    """What the lines joined below a name's first line look like: a name's continuation ("SDN
    BHD", "HOUSE") or an address, a branch or a slogan."""
    rest = [names[k] for k in range(top + 1, bottom + 1)]
    first_height = max(doc.lines[top].bottom - doc.lines[top].top, 1)
    last_height = doc.lines[bottom].bottom - doc.lines[bottom].top
    return [
        float(sum(1 for p in rules.HEADER_NOISE if p.search(doc.texts[top]))),
        float(
            sum(1 for k in range(top + 1, bottom + 1) for p in rules.HEADER_NOISE if p.search(doc.texts[k]))
        ),
        float(sum(ch.isdigit() for text in rest for ch in text)),
        1.0 if any(rules.LEGAL_FORMS.search(text) for text in rest) else 0.0,
        1.0 if any(rules.BUSINESS_WORDS.search(text) for text in rest) else 0.0,
        last_height / first_height if rest else 1.0,
        1.0 if rules.LEGAL_FORMS.search(names[top]) else 0.0,
    ]
