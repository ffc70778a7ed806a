"""Reading synthetic receipts end to end: layouts, currencies, date formats, rotation, noise."""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pytest
from ocr_samples import add_noise, encode
from PIL import Image, ImageDraw

from ocr import OcrConfig, ReceiptHint, read_receipt, scan_result_json


def test_malaysian_receipt_jpeg(malaysian_receipt: Image.Image) -> None:
    facts = read_receipt(encode(malaysian_receipt, "JPEG", quality=85))
    assert facts.total == Decimal("18.00")
    assert facts.subtotal == Decimal("17.00")
    assert facts.tax == Decimal("1.02")
    assert facts.currency == "MYR"
    assert facts.date == datetime.date(2018, 7, 23)
    assert facts.merchant == "KEDAI BUKU SINAR JAYA SDN BHD"
    assert facts.confidence["total"] >= 0.8
    assert "KEDAI BUKU" in facts.header_text
    assert facts.words and all(w.right > w.left and w.bottom > w.top for w in facts.words)


def test_us_receipt_png_month_first(us_receipt: Image.Image) -> None:
    facts = read_receipt(encode(us_receipt, "PNG"), hint=ReceiptHint(country="US"))
    assert facts.total == Decimal("38.68")
    assert facts.currency == "USD"
    assert facts.date == datetime.date(2024, 3, 4)
    assert facts.merchant == "BLUE HARBOR DINER"


def test_euro_receipt_webp_decimal_comma(euro_receipt: Image.Image) -> None:
    facts = read_receipt(encode(euro_receipt, "WEBP", quality=90))
    assert facts.total == Decimal("6.30")
    assert facts.currency == "EUR"
    assert facts.date == datetime.date(2024, 3, 12)


def test_rotated_photo_is_turned_upright(malaysian_receipt: Image.Image) -> None:
    turned = malaysian_receipt.rotate(90, expand=True, fillcolor="white")
    facts = read_receipt(encode(turned, "JPEG", quality=90))
    assert facts.total == Decimal("18.00")
    assert facts.date == datetime.date(2018, 7, 23)


def test_small_noisy_photo(malaysian_receipt: Image.Image) -> None:
    small = malaysian_receipt.resize((malaysian_receipt.width * 2 // 3, malaysian_receipt.height * 2 // 3))
    facts = read_receipt(encode(add_noise(small, 35), "JPEG", quality=70))
    assert facts.total == Decimal("18.00")
    assert facts.currency == "MYR"


def test_exif_orientation_is_applied(us_receipt: Image.Image) -> None:
    # stored sideways with an EXIF tag saying "rotate 90° clockwise to view"
    stored = us_receipt.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    facts = read_receipt(
        encode(stored, "JPEG", quality=90, exif=exif.tobytes()), hint=ReceiptHint(country="US")
    )
    assert facts.total == Decimal("38.68")


def test_photo_that_is_not_a_receipt_has_no_total() -> None:
    rng = np.random.default_rng(3)
    landscape = Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)).resize((640, 480))
    draw = ImageDraw.Draw(landscape)
    draw.ellipse((200, 100, 440, 340), fill=(30, 140, 60))
    facts = read_receipt(encode(landscape, "JPEG"))
    assert facts.total is None
    assert facts.confidence["total"] == 0
    result = scan_result_json("holiday.jpg", encode(landscape, "JPEG"))
    assert result["error"] is None and result["total"] is None


@pytest.mark.parametrize("engine", ["tesseract"])
def test_other_engine_reads_the_same_receipt(malaysian_receipt: Image.Image, engine: str) -> None:
    facts = read_receipt(encode(malaysian_receipt, "PNG"), config=OcrConfig(engine=engine))
    assert facts.engine == engine
    assert facts.total == Decimal("18.00")
    assert facts.date == datetime.date(2018, 7, 23)


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_both_runtimes_read_the_same_receipt(malaysian_receipt: Image.Image, runtime: str) -> None:
    data = encode(malaysian_receipt, "PNG")
    facts = read_receipt(data, config=OcrConfig(runtime=runtime))
    other = read_receipt(
        data, config=OcrConfig(runtime="onnxruntime" if runtime == "openvino" else "openvino")
    )
    assert facts.total == Decimal("18.00") and facts.merchant == "KEDAI BUKU SINAR JAYA SDN BHD"
    for field in ("merchant", "date", "total", "subtotal", "tax", "currency"):
        assert getattr(facts, field) == getattr(other, field), field
    # the same networks; where the CPU has bfloat16 OpenVINO computes in it, which may move a
    # borderline space ("NO 12," / "NO12,") but not the characters read
    assert "".join(facts.text.split()) == "".join(other.text.split())


def test_unknown_runtime_is_refused(malaysian_receipt: Image.Image) -> None:
    with pytest.raises(ValueError, match="unknown OCR runtime"):
        read_receipt(encode(malaysian_receipt, "PNG"), config=OcrConfig(runtime="cuda"))


def test_readings_from_several_threads_at_once_match(
    malaysian_receipt: Image.Image, us_receipt: Image.Image
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pages = [encode(malaysian_receipt, "PNG"), encode(us_receipt, "PNG")] * 3
    config = OcrConfig(runtime="openvino")
    alone = [read_receipt(page, config=config) for page in pages[:2]]
    with ThreadPoolExecutor(len(pages)) as pool:
        together = list(pool.map(lambda page: read_receipt(page, config=config), pages))
    for i, facts in enumerate(together):
        assert facts.text == alone[i % 2].text and facts.total == alone[i % 2].total
