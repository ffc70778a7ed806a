"""File handling: types by content, limits, damaged files, PDFs, HEIC, hashes."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from ocr_samples import add_noise, encode
from PIL import Image

from ocr import (
    FileTooLarge,
    OcrConfig,
    UnreadableImage,
    UnsupportedFile,
    hamming,
    perceptual_hash,
    read_receipt,
    scan_result_json,
    sniff_media_type,
)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions with a tiny compressed body: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = zlib.compress(row * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_sniff_by_content(malaysian_receipt: Image.Image) -> None:
    assert sniff_media_type(encode(malaysian_receipt, "JPEG")) == "image/jpeg"
    assert sniff_media_type(encode(malaysian_receipt, "PNG")) == "image/png"
    assert sniff_media_type(encode(malaysian_receipt, "WEBP")) == "image/webp"
    assert sniff_media_type(b"%PDF-1.4\n%...") == "application/pdf"
    assert sniff_media_type(b"hello, world") is None
    assert sniff_media_type(b"") is None


def test_heic_is_sniffed_and_decoded(malaysian_receipt: Image.Image) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    data = encode(malaysian_receipt.convert("RGB"), "HEIF", quality=90)
    assert sniff_media_type(data) == "image/heic"
    # hashing decodes the image through the same path as reading
    assert hamming(perceptual_hash(data), perceptual_hash(encode(malaysian_receipt, "PNG"))) <= 6


def test_not_an_image_is_unsupported() -> None:
    with pytest.raises(UnsupportedFile) as err:
        read_receipt(b"just some text, not a picture")
    assert "JPEG" in err.value.user_message


def test_corrupt_jpeg_is_unreadable(malaysian_receipt: Image.Image) -> None:
    data = encode(malaysian_receipt, "JPEG")
    with pytest.raises(UnreadableImage) as err:
        read_receipt(data[:200])
    assert err.value.user_message


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = _png_header_only(40_000, 40_000)
    assert len(bomb) < 100_000
    with pytest.raises(FileTooLarge) as err:
        read_receipt(bomb)
    assert "pixels" in err.value.user_message


def test_too_many_bytes_is_refused(malaysian_receipt: Image.Image) -> None:
    data = encode(malaysian_receipt, "PNG")
    with pytest.raises(FileTooLarge):
        read_receipt(data, config=OcrConfig(max_bytes=len(data) - 1))


def test_scan_json_reports_errors_without_raising() -> None:
    result = scan_result_json("notes.txt", b"plain text")
    assert result["file"] == "notes.txt"
    assert result["error"] and result["total"] is None
    assert set(result["confidence"]) == {"merchant", "date", "total", "currency"}


def test_perceptual_hash_tells_same_from_different(
    malaysian_receipt: Image.Image, us_receipt: Image.Image
) -> None:
    a = perceptual_hash(encode(malaysian_receipt, "PNG"))
    again = perceptual_hash(encode(add_noise(malaysian_receipt, 20), "JPEG", quality=60))
    other = perceptual_hash(encode(us_receipt, "PNG"))
    assert len(a) == 16 and int(a, 16) >= 0
    assert hamming(a, again) <= 8
    assert hamming(a, other) > hamming(a, again)


def _pdf_with_text(lines: list[str]) -> bytes:
    """A one-page PDF with real text (a text layer), written by hand."""
    escaped = [line.replace("(", "\\(").replace(")", "\\)") for line in lines]
    content = "BT /F1 12 Tf 14 TL 40 760 Td " + " ".join(f"({line}) Tj T*" for line in escaped) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 800] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_pdf_text_layer_is_used_without_ocr() -> None:
    data = _pdf_with_text(
        [
            "NORTHWIND TRADING LTD",
            "12 HIGH STREET, LONDON",
            "Date: 05/11/2024",
            "Coffee beans 1kg          £18.40",
            "Filters                    £3.10",
            "TOTAL                     £21.50",
        ]
    )
    facts = read_receipt(data)
    assert facts.engine == "pdf-text"
    assert facts.total is not None and str(facts.total) == "21.50"
    assert facts.currency == "GBP"
    assert facts.date is not None and facts.date.isoformat() == "2024-11-05"
    assert facts.merchant == "NORTHWIND TRADING LTD"


def test_pdf_without_text_layer_is_rendered_and_read(malaysian_receipt: Image.Image) -> None:
    buffer = io.BytesIO()
    malaysian_receipt.save(buffer, format="PDF", resolution=150)
    facts = read_receipt(buffer.getvalue())
    assert facts.engine != "pdf-text"
    assert facts.total is not None and str(facts.total) == "18.00"


def test_pdf_page_limit(malaysian_receipt: Image.Image) -> None:
    buffer = io.BytesIO()
    pages = [malaysian_receipt.resize((100, 200))] * 3
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:])
    with pytest.raises(FileTooLarge) as err:
        read_receipt(buffer.getvalue(), config=OcrConfig(max_pdf_pages=2))
    assert "3 pages" in err.value.user_message
