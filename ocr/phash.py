"""Perceptual hashes of receipt images, for spotting the same receipt uploaded twice."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ocr.media import open_document
from ocr.model import OcrConfig

_SIZE = 32
_KEEP = 8


def _dct_matrix(n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    k = np.arange(n)
    matrix = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    matrix[0] *= 1 / np.sqrt(2)
    scaled: np.ndarray[Any, np.dtype[np.float64]] = matrix * np.sqrt(2 / n)
    return scaled


_DCT = _dct_matrix(_SIZE)


def image_hash(image: Image.Image) -> str:
    """64-bit DCT hash (pHash) as 16 hex digits."""
    gray = ImageOps.grayscale(image).resize((_SIZE, _SIZE), Image.Resampling.LANCZOS)
    pixels = np.asarray(gray, dtype=np.float64)
    coeffs = (_DCT @ pixels @ _DCT.T)[:_KEEP, :_KEEP].flatten()
    median = np.median(coeffs[1:])
    bits = coeffs > median
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def perceptual_hash(data: bytes, config: OcrConfig | None = None) -> str:
    """Hash of the first page of an image or PDF; similar-looking receipts get close hashes.

    Raises the same OcrError subclasses as read_receipt for files that cannot be opened. A PDF with a
    text layer is rendered for hashing too.
    """
    config = config or OcrConfig()
    document = open_document(data, config)
    if document.pages:
        return image_hash(document.pages[0])
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        image = page.render(scale=1.0).to_pil()
        page.close()
        return image_hash(image)
    finally:
        pdf.close()


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hashes; 0-6 usually means the same receipt."""
    if len(a) != len(b):
        raise ValueError("hashes of different lengths cannot be compared")
    return (int(a, 16) ^ int(b, 16)).bit_count()
