"""Value types of the receipt reader: inputs (hints, configuration) and outputs (facts, words)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ocr.spaces import Segment

FIELDS: tuple[str, ...] = ("merchant", "date", "total", "currency")


@dataclass(frozen=True)
class KnownMerchant:
    """A receipt header seen before, with the merchant name a person confirmed for it."""

    header_text: str
    merchant: str


@dataclass(frozen=True)
class ReceiptHint:
    """What the app knows before reading: the employee's country and currency, learned merchants."""

    country: str | None = None  # ISO 3166-1 alpha-2, e.g. "MY", "US"
    currency: str | None = None  # ISO 4217, e.g. "MYR"
    known_merchants: Sequence[KnownMerchant] = ()


@dataclass(frozen=True)
class OcrConfig:
    """Knobs of the reader. The defaults are the measured best on real receipts."""

    engine: str = "rapidocr"  # "rapidocr" or "tesseract"
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 60_000_000  # decoded image size; beyond it the file is refused (decompression bombs)
    max_pdf_pages: int = 5
    pdf_render_dpi: int = 200
    # Images are brought to at least this many pixels on the shorter side before OCR (small photos
    # read badly) and at most ``max_side`` on the longer side (large photos read slowly, not better).
    upscale_min_side: int = 1000
    max_side: int = 2400
    threads: int = 0  # engine threads inside one read; 0 lets the engine decide
    # What runs RapidOCR's networks: "openvino" (the same models for ~2x less CPU per receipt, in
    # bfloat16 where the CPU has it; ~1 s more to start), "onnxruntime" (float32), or "auto":
    # OpenVINO where it is installed, onnxruntime otherwise (``scan`` of a single file in a fresh
    # process also takes onnxruntime, which starts sooner).
    runtime: str = "auto"
    auto_rotate: bool = True  # detect pages turned by 90/180/270 degrees
    merchant_match_threshold: float = 88.0  # similarity (0-100) of header text to a known merchant


@dataclass(frozen=True)
class Word:
    """One piece of recognised text with its box in image pixels (left, top, right, bottom)."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    confidence: float = 1.0  # 0..1

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass(frozen=True)
class Line:
    """Words that sit on one printed line, left to right."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def top(self) -> int:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.bottom for w in self.words)

    @property
    def confidence(self) -> float:
        return min((w.confidence for w in self.words), default=0.0)


@dataclass(frozen=True)
class ReceiptFacts:
    merchant: str | None
    date: datetime.date | None
    total: Decimal | None
    currency: str | None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    confidence: Mapping[str, float] = field(default_factory=dict)  # keys: merchant, date, total, currency
    text: str = ""
    words: tuple[Word, ...] = ()
    header_text: str = ""  # the top lines, used to learn merchants from corrections
    engine: str = ""
    lines: tuple[Line, ...] = ()  # the printed lines with their words' boxes, top to bottom
    tax_rate: Decimal | None = None  # percent, as printed on the tax line ("GST 6%")
    items: tuple[tuple[str, Decimal], ...] = ()  # item lines (text, amount), when they add up
    # each page's recognised segments with the gaps between their characters (ocr.spaces), for
    # training: the spaces can be decided again from them
    pages: tuple[tuple[Segment, ...], ...] = ()
