"""read_receipt: bytes in, receipt facts out."""

from __future__ import annotations

import statistics

from PIL import Image

from ocr.engines import PageText, detect_rotation, get_engine, max_page_side
from ocr.errors import OcrError, UnreadableImage
from ocr.extract import extract
from ocr.layout import group_lines, text_lines
from ocr.media import open_document
from ocr.model import Line, OcrConfig, ReceiptFacts, ReceiptHint, Word
from ocr.spaces import Segment

_DEFAULT_CONFIG = OcrConfig()


def read_receipt(
    data: bytes, *, hint: ReceiptHint | None = None, config: OcrConfig | None = None
) -> ReceiptFacts:
    """Read a receipt photo, scan or PDF.

    Raises UnsupportedFile, FileTooLarge or UnreadableImage (all OcrError) for files that cannot be
    read. A readable file without a total gives facts with ``total=None`` and confidence 0.
    """
    config = config or _DEFAULT_CONFIG
    page_lines, words, engine_name, pages = _read(data, config)
    found = extract(page_lines, hint, config.merchant_match_threshold)
    return ReceiptFacts(
        merchant=found.merchant,
        date=found.date,
        total=found.total,
        currency=found.currency,
        subtotal=found.subtotal,
        tax=found.tax,
        confidence=found.confidence,
        text="\n".join(line.text for line in page_lines),
        words=words,
        header_text=found.header_text,
        engine=engine_name,
        lines=tuple(page_lines),
        pages=pages,
        tax_rate=found.tax_rate,
        items=found.items,
    )


def read_lines(data: bytes, config: OcrConfig | None = None) -> tuple[list[Line], tuple[Word, ...], str]:
    """The printed lines of a receipt file (with their words' boxes), all its words, and the engine.

    A PDF with a text layer gives its lines without OCR; their words carry no boxes (see
    ``ocr.layout.text_lines``)."""
    lines, words, engine, _pages = _read(data, config)
    return lines, words, engine


def _read(
    data: bytes, config: OcrConfig | None = None
) -> tuple[list[Line], tuple[Word, ...], str, tuple[tuple[Segment, ...], ...]]:
    config = config or _DEFAULT_CONFIG
    document = open_document(data, config)
    if document.text_lines:
        return text_lines(document.text_lines), (), "pdf-text", ()
    engine = get_engine(config.engine, config.threads, config.runtime)
    lines: list[Line] = []
    all_words: list[Word] = []
    pages: list[tuple[Segment, ...]] = []
    images = list(document.pages)
    del document  # each full-size page is let go once its reduced copy exists
    while images:
        page_text = _read_page(prepare(images.pop(0), config), config)
        all_words.extend(page_text.words)
        lines.extend(group_lines(page_text.words, page_text.skew))
        pages.append(page_text.segments)
    return lines, tuple(all_words), engine.name, tuple(pages)


def prepare(image: Image.Image, config: OcrConfig) -> Image.Image:
    """Bring a page to a size the engine reads well: large photos are reduced (faster, no less
    accurate) to ``config.max_side`` or the engine's own limit if smaller; small ones are enlarged."""
    max_side = max_page_side(config)
    width, height = image.size
    longest, shortest = max(width, height), min(width, height)
    scale = 1.0
    if longest > max_side:
        scale = max_side / longest
    elif shortest < config.upscale_min_side and config.engine == "tesseract":
        scale = min(config.upscale_min_side / shortest, max_side / longest, 3.0)
    if abs(scale - 1.0) < 0.05:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _looks_unread(page: PageText) -> bool:
    """Few words, low confidence or text running vertically: the page is probably turned."""
    words = [w for w in page.words if len(w.text) >= 3]
    if len(words) < 4:
        return True
    vertical = sum(1 for w in words if w.height > 1.5 * (w.right - w.left))
    if vertical > len(words) / 2:
        return True
    return statistics.median(w.confidence for w in words) < 0.6


def _read_page(prepared: Image.Image, config: OcrConfig) -> PageText:
    engine = get_engine(config.engine, config.threads, config.runtime)
    try:
        page = engine.read(prepared)
    except OcrError:
        raise
    except Exception as exc:  # an engine failing on a decoded image means the pixels are unusable
        raise UnreadableImage("The receipt image could not be processed: take the photo again.") from exc
    if config.auto_rotate and _looks_unread(page):
        angle = detect_rotation(prepared)
        if angle:
            turned = prepared.rotate(-angle, expand=True)
            second = engine.read(turned)
            if len(second.words) >= len(page.words) and _score(second) >= _score(page):
                return second
    return page


def _score(page: PageText) -> float:
    return sum(w.confidence * len(w.text) for w in page.words)
