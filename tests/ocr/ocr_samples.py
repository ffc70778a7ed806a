"""Synthetic receipts drawn with Pillow, with their known truth."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont


@dataclass(frozen=True)
class Row:
    left: str
    right: str = ""
    centre: bool = False


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_receipt(rows: Sequence[Row], *, width: int = 700, size: int = 26, margin: int = 40) -> Image.Image:
    face = font(size)
    line_height = int(size * 1.55)
    height = margin * 2 + line_height * len(rows)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    y = margin
    for row in rows:
        if row.centre:
            w = draw.textlength(row.left, font=face)
            draw.text(((width - w) / 2, y), row.left, fill="black", font=face)
        else:
            draw.text((margin, y), row.left, fill="black", font=face)
        if row.right:
            w = draw.textlength(row.right, font=face)
            draw.text((width - margin - w, y), row.right, fill="black", font=face)
        y += line_height
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def add_noise(image: Image.Image, amount: int = 40, seed: int = 7) -> Image.Image:
    import numpy as np

    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.int16)
    noisy = np.clip(pixels + rng.integers(-amount, amount + 1, pixels.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(noisy).filter(ImageFilter.GaussianBlur(0.6))


MALAYSIAN_ROWS: tuple[Row, ...] = (
    Row("KEDAI BUKU SINAR JAYA SDN BHD", centre=True),
    Row("(654321-K)", centre=True),
    Row("NO 12, JALAN MERANTI 3", centre=True),
    Row("47100 PUCHONG, SELANGOR", centre=True),
    Row("TEL: 03-8070 1234", centre=True),
    Row("GST ID: 001234567890", centre=True),
    Row("TAX INVOICE", centre=True),
    Row("DATE: 23/07/2018 14:05", "CASHIER: 02"),
    Row("EXERCISE BOOK A4", "12.50"),
    Row("BALL PEN BLUE X3", "4.50"),
    Row("SUB TOTAL", "17.00"),
    Row("GST 6%", "1.02"),
    Row("ROUNDING ADJ", "-0.02"),
    Row("TOTAL (RM)", "18.00"),
    Row("CASH", "50.00"),
    Row("CHANGE", "32.00"),
    Row("THANK YOU, PLEASE COME AGAIN", centre=True),
)

US_ROWS: tuple[Row, ...] = (
    Row("BLUE HARBOR DINER", centre=True),
    Row("1200 MARKET STREET", centre=True),
    Row("SAN FRANCISCO, CA 94103", centre=True),
    Row("(415) 555-0199", centre=True),
    Row("03/04/2024  7:42 PM", "TABLE 12"),
    Row("2 CLAM CHOWDER", "$17.90"),
    Row("1 FISH TACOS", "$14.25"),
    Row("1 ICED TEA", "$3.50"),
    Row("SUBTOTAL", "$35.65"),
    Row("SALES TAX", "$3.03"),
    Row("AMOUNT DUE", "$38.68"),
    Row("VISA ****1234", "$38.68"),
)

EURO_ROWS: tuple[Row, ...] = (
    Row("CAFE LUMIERE SARL", centre=True),
    Row("14 RUE DES ARTS", centre=True),
    Row("75004 PARIS", centre=True),
    Row("SIRET 123 456 789 00012", centre=True),
    Row("Le 12 MARS 2024 a 09:15"),
    Row("CAFE CREME", "4,20"),
    Row("CROISSANT", "2,10"),
    Row("TOTAL EUR", "6,30"),
    Row("TVA 10%", "0,57"),
    Row("CB", "6,30"),
)
