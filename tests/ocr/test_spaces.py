"""Where the spaces go: gaps measured from pixels, labelled from keys, decided by the shipped model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ocr import ranker, spaces, training
from ocr.engines import page_from_measured, restore_spaces_by_ink
from ocr.layout import group_lines


def _strip(
    lefts: list[int], width: int = 8, height: int = 20
) -> tuple[np.ndarray, list[list[tuple[float, float]]]]:
    """A white strip with a black block per character at ``lefts``, and the characters' boxes."""
    strip = np.full((height, max(lefts) + width + 10), 255, dtype=np.uint8)
    for x in lefts:
        strip[4:16, x : x + width] = 0
    boxes = [
        [(float(x), 0.0), (x + float(width), 0.0), (x + float(width), 20.0), (float(x), 20.0)] for x in lefts
    ]
    return strip, boxes


def test_gaps_are_measured_between_shown_characters() -> None:
    strip, boxes = _strip([0, 10, 20, 40, 50, 60])
    chars = list("SDNBHD")
    segment = spaces.measure(chars, boxes, strip)
    assert segment is not None and segment.characters == "SDNBHD"
    assert [g.blank for g in segment.gaps] == [2.0, 2.0, 12.0, 2.0, 2.0]
    assert [g.distance for g in segment.gaps] == [10.0, 10.0, 20.0, 10.0, 10.0]
    assert not any(g.recogniser_space for g in segment.gaps)
    assert len(spaces.features(segment)[0]) == len(spaces.GAP_FEATURES)
    # a space the recogniser put among the characters is a gap of its own kind, not a character
    spaced_chars = ["S", "D", "N", " ", "B", "H", "D"]
    spaced_boxes = [*boxes[:3], boxes[3], *boxes[3:]]
    with_space = spaces.measure(spaced_chars, spaced_boxes, strip)
    assert with_space is not None and with_space.characters == "SDNBHD"
    assert [g.recogniser_space for g in with_space.gaps] == [False, False, True, False, False]


def test_nothing_to_measure_on_a_blank_strip_or_one_character() -> None:
    strip, boxes = _strip([0])
    assert spaces.measure(["A"], boxes, strip) is None
    blank = np.full((20, 60), 255, dtype=np.uint8)
    _, two = _strip([0, 20])
    assert spaces.measure(["A", "B"], two, blank) is None


def test_the_shipped_model_splits_run_together_words_and_keeps_amounts_whole() -> None:
    strip, boxes = _strip([0, 10, 20, 40, 50, 60])
    assert restore_spaces_by_ink(list("SDNBHD"), boxes, strip) == "SDN BHD"
    assert restore_spaces_by_ink(list("123456"), boxes, strip) == "123456"


def test_the_rule_without_a_model_keeps_the_recognisers_spaces() -> None:
    strip, boxes = _strip([0, 10, 20, 40, 50, 60])
    segment = spaces.measure(list("SDNBHD"), boxes, strip)
    assert segment is not None
    assert spaces.spaced(segment, spaces.ruled(segment)) == "SDN BHD"
    recognised = spaces.SegmentGaps(
        20, 200.0, tuple(spaces.Gap(a, b, a == "N", 10.0, 12.0) for a, b in itertools.pairwise("SDNBHD"))
    )
    assert spaces.spaced(recognised, spaces.ruled(recognised)) == "SDN BHD"  # a space put: kept as read


@pytest.mark.parametrize(
    ("characters", "keys", "labels"),
    [
        ("GARDENIABAKERIES", ["GARDENIA BAKERIES (KL) SDN BHD"], [False] * 7 + [True] + [False] * 7),
        (
            "TAMANDAYA",
            ["", "NO 5, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR"],
            [False] * 4 + [True] + [False] * 3,
        ),
        ("SDNBHD", ["aldi"], None),  # a short name in small letters is not how it was printed
        ("XYZW", ["NOTHING LIKE IT"], None),
        ("ABC", ["ABC"], None),  # too short to be sure where it sits
    ],
)
def test_labels_come_from_keys_that_print_the_same_characters(
    characters: str, keys: list[str], labels: list[bool] | None
) -> None:
    gaps = tuple(spaces.Gap(a, b, False, 10.0, 2.0) for a, b in itertools.pairwise(characters))
    assert spaces.labels_from_keys(spaces.SegmentGaps(20, 200.0, gaps), keys) == labels


def test_segments_round_trip_through_json() -> None:
    gaps = spaces.SegmentGaps(21, 180.5, (spaces.Gap("A", "B", True, 12.5, 7.0),))
    segment = spaces.Segment(((0.0, 0.0), (30.0, 0.0), (30.0, 21.0), (0.0, 21.0)), "A B", 0.98, gaps)
    assert spaces.Segment.from_json(segment.as_json()) == segment
    bare = spaces.Segment(segment.quad, "12.50", 0.9, None)
    assert spaces.Segment.from_json(bare.as_json()) == bare


def test_training_spaces_the_corpus_again_from_its_segments() -> None:
    """A receipt's lines are made again from its segments with whichever gap model decides."""
    quad = ((0.0, 0.0), (200.0, 0.0), (200.0, 20.0), (0.0, 20.0))
    gaps = tuple(
        spaces.Gap(a, b, False, 10.0, 12.0 if i == 7 else 1.0)
        for i, (a, b) in enumerate(itertools.pairwise("GARDENIABAKERIES"))
    )
    segment = spaces.Segment(quad, "GARDENIABAKERIES", 0.95, spaces.SegmentGaps(20, 200.0, gaps))
    sample = training.Sample("set", "1", (), {"company": "GARDENIA BAKERIES"}, ((segment,),))
    apart = training.respaced(sample, lambda g: [i == 7 for i in range(len(g.gaps))])
    assert [line.text for line in apart.lines] == ["GARDENIA BAKERIES"]
    together = training.respaced(sample, lambda g: [False] * len(g.gaps))
    assert [line.text for line in together.lines] == ["GARDENIABAKERIES"]
    found = training.space_rows([sample])
    assert sum(found.labels) == 1 and len(found.rows) == 15
    page = page_from_measured((segment,), lambda g: [i == 7 for i in range(len(g.gaps))])
    assert [line.text for line in group_lines(page.words, page.skew)] == ["GARDENIA BAKERIES"]


def test_the_shipped_model_has_a_gap_model_trained_on_the_corpus() -> None:
    model = ranker.shipped_model()
    assert model is not None and model.spaces is not None
    samples = training.read_corpus(training.default_corpus_path())
    assert sum(len(page) for s in samples for page in s.pages) > 5_000  # every receipt's segments kept
