"""The RapidOCR engine's memory bounds: detection in windows of one shape, recognition in bounded
batches, with the real PP-OCR networks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ocr_samples import Row, draw_receipt, encode
from PIL import Image

from ocr import OcrConfig, read_receipt
from ocr.engines import (
    DET_SIZE_STEP,
    REC_MAX_BATCH_WIDTH,
    REC_WIDTH_STEP,
    BandedDetector,
    LeanDetPreProcess,
    LineRecogniser,
    get_engine,
    max_page_side,
)


def _engine(runtime: str) -> Any:
    return get_engine("rapidocr", OcrConfig().threads, runtime)


def _spy(session: Callable[[Any], Any], shapes: list[tuple[int, ...]]) -> Callable[[Any], Any]:
    def call(batch: Any) -> Any:
        shapes.append(tuple(batch.shape))
        return session(batch)

    return call


# A long receipt: 48 item lines, so that the detector needs several windows down the page.
ITEMS = [f"ITEM {i:02d} SUGAR {i % 7 + 1}KG" for i in range(1, 49)]
LONG_ROWS = (
    Row("KEDAI RUNCIT LONG SDN BHD", centre=True),
    *[Row(item, f"{i + 1}.{i % 10}0") for i, item in enumerate(ITEMS)],
    Row("TOTAL", "123.45"),
)


@pytest.fixture(scope="module")
def long_receipt() -> Image.Image:
    return draw_receipt(LONG_ROWS)


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_a_long_page_is_detected_in_windows_of_one_shape_and_every_line_is_read(
    long_receipt: Image.Image, runtime: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(runtime)
    detector = engine._ocr.text_det.infer
    assert isinstance(detector, BandedDetector)
    shapes: list[tuple[int, ...]] = []
    monkeypatch.setattr(detector, "_session", _spy(detector._session, shapes))
    facts = read_receipt(encode(long_receipt, "PNG"), config=OcrConfig(runtime=runtime))
    assert len(shapes) > 2, "a page this long runs in several windows"
    assert len(set(shapes)) == 1 and shapes[0][3] % DET_SIZE_STEP == 0
    text = facts.text.replace(" ", "")
    missing = [item for item in ITEMS if item.replace(" ", "") not in text]
    assert not missing, f"lines lost at window edges: {missing}"
    assert str(facts.total) == "123.45"


def test_stitched_map_matches_the_page_size_for_tall_and_wide_pages() -> None:
    detector = _engine("openvino")._ocr.text_det.infer
    rng = np.random.default_rng(3)
    for height, width in ((1600, 736), (736, 1600), (96, 160)):
        page = rng.standard_normal((1, 3, height, width)).astype(np.float32)
        shapes: list[tuple[int, ...]] = []
        windows = BandedDetector(_spy(detector._session, shapes), band_pixels=200_000, overlap=64)
        (stitched,) = windows(page)
        assert stitched.shape == (1, 1, height, width)
        assert len(set(shapes)) == 1
        assert ((stitched >= 0) & (stitched <= 1)).all()  # probabilities, every pixel written


def test_a_page_that_fits_one_window_gives_the_detectors_own_map() -> None:
    detector = _engine("openvino")._ocr.text_det.infer
    page = np.random.default_rng(5).standard_normal((1, 3, 256, 256)).astype(np.float32)
    (whole,) = detector._session(page)
    (windowed,) = BandedDetector(detector._session, band_pixels=1_000_000, overlap=64)(page)
    np.testing.assert_allclose(windowed, whole, atol=1e-5)


def test_recognition_batches_are_bounded_in_width_and_share_shapes(
    long_receipt: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    recogniser = _engine("openvino")._ocr.text_rec
    assert isinstance(recogniser, LineRecogniser)
    shapes: list[tuple[int, ...]] = []
    monkeypatch.setattr(recogniser._rec, "session", _spy(recogniser._rec.session, shapes))
    read_receipt(encode(long_receipt, "PNG"), config=OcrConfig(runtime="openvino"))
    assert shapes
    for count, _channels, height, width in shapes:
        assert height == 48 and width % REC_WIDTH_STEP == 0
        assert count == 1 or count * width <= REC_MAX_BATCH_WIDTH
    assert len(set(shapes)) < len(shapes)  # similar lines meet in one shape


def test_results_come_back_in_the_order_of_the_lines() -> None:
    recogniser = _engine("openvino")._ocr.text_rec
    words = ["TOTAL", "SUBTOTAL AMOUNT DUE", "RM", "CASH TENDERED 100.00 CHANGE"]
    lines = [
        np.asarray(draw_receipt([Row(word)], width=40 + 18 * len(word), margin=8))[:, :, ::-1]
        for word in words
    ]
    results, _ = recogniser([np.ascontiguousarray(line) for line in lines])
    assert [text.replace(" ", "") for text, _score in results] == [word.replace(" ", "") for word in words]


def test_detector_input_equals_rapidocrs_own() -> None:
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    image = np.random.default_rng(9).integers(0, 256, (1234, 777, 3), dtype=np.uint8)
    theirs = DetPreProcess(736, "min", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    page = LeanDetPreProcess(theirs)(image)
    assert page is not None
    ours = page.tensor()
    expected = theirs(image)
    assert ours.dtype == np.float32 and ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=1e-6)


def test_a_large_photo_is_decoded_at_a_reduced_size_and_read(malaysian_receipt: Image.Image) -> None:
    from decimal import Decimal

    from ocr.media import open_image

    config = OcrConfig()
    factor = 2 * max_page_side(config) // max(malaysian_receipt.size) + 1
    big = malaysian_receipt.resize((malaysian_receipt.width * factor, malaysian_receipt.height * factor))
    data = encode(big, "JPEG", quality=90)
    page = open_image(data, config)
    assert max_page_side(config) <= max(page.size) <= max(big.size) // 2
    assert read_receipt(data, config=config).total == Decimal("18.00")
