"""Generated training receipts: reproducible, varied, and their keys agree with what they print."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from ocr import synthetic, training
from ocr.extract import field_candidates


def test_the_same_seed_gives_the_same_receipts() -> None:
    first = synthetic.receipts(30, seed=5)
    again = synthetic.receipts(30, seed=5)
    other = synthetic.receipts(30, seed=6)
    assert [(tuple(ln.text for ln in lines), key) for lines, key in first] == [
        (tuple(ln.text for ln in lines), key) for lines, key in again
    ]
    assert [key for _, key in first] != [key for _, key in other]


def test_receipts_come_from_many_countries_and_layouts() -> None:
    made = synthetic.receipts(300, seed=1)
    countries = Counter(key["country"] for _, key in made)
    assert set(countries) == {locale.country for locale in synthetic.LOCALES}
    assert len({len(lines) for lines, _ in made}) > 15  # short and long receipts


def test_words_sit_inside_the_page_in_reading_order() -> None:
    for lines, _ in synthetic.receipts(50, seed=2):
        tops = [line.top for line in lines]
        assert tops == sorted(tops)
        for line in lines:
            lefts = [w.left for w in line.words]
            assert lefts == sorted(lefts)
            assert all(w.right > w.left >= 0 and w.bottom > w.top for w in line.words)


def test_the_key_total_is_printed_and_mostly_among_the_candidates() -> None:
    """The key's total is what the receipt prints (OCR noise aside): the candidates hold it."""
    made = synthetic.receipts(200, seed=3)
    held = 0
    for lines, key in made:
        want = Decimal(key["total"])
        digits = re.sub(r"\D", "", key["total"])
        assert any(digits in re.sub(r"\D", "", line.text) for line in lines), key
        held += any(c.value == want for c in field_candidates(lines)["total"])
    assert held / len(made) > 0.9  # the rest lost a digit to simulated OCR slips


def test_training_rows_come_labelled_for_the_fields_that_use_them() -> None:
    for field in training.SYNTHETIC:
        extra = training.synthetic_rows(field)
        assert extra is not None
        assert len(extra.rows) == len(extra.labels) and 0 < sum(extra.labels) < len(extra.labels)
        assert 0 < extra.weight <= 1
    assert training.synthetic_rows("merchant") is None
