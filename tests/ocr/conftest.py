"""Fixtures: synthetic receipts drawn with Pillow (see ocr_samples)."""

from __future__ import annotations

import pytest
from ocr_samples import EURO_ROWS, MALAYSIAN_ROWS, US_ROWS, draw_receipt
from PIL import Image


@pytest.fixture(scope="session")
def malaysian_receipt() -> Image.Image:
    return draw_receipt(MALAYSIAN_ROWS)


@pytest.fixture(scope="session")
def us_receipt() -> Image.Image:
    return draw_receipt(US_ROWS)


@pytest.fixture(scope="session")
def euro_receipt() -> Image.Image:
    return draw_receipt(EURO_ROWS, width=620)
