"""Turning uploaded bytes into page images (or a PDF's own text), safely.

Files are recognised by content, never by name. Size limits are checked before decoding so that
decompression bombs are refused without allocating their pixels.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from ocr.engines import max_page_side
from ocr.errors import FileTooLarge, UnreadableImage, UnsupportedFile
from ocr.model import OcrConfig

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")


def sniff_media_type(data: bytes) -> str | None:
    """The media type of ``data`` judged by its first bytes, or None when it is not a supported kind."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if b"%PDF-" in data[:1024]:
        return "application/pdf"
    return None


@dataclass(frozen=True)
class Document:
    """What a file holds: page images, or text lines when a PDF carries a usable text layer."""

    media_type: str
    pages: tuple[Image.Image, ...] = ()
    text_lines: tuple[str, ...] = ()


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def open_image(data: bytes, config: OcrConfig) -> Image.Image:
    """Decode one image, upright (EXIF orientation applied), in RGB."""
    media_type = sniff_media_type(data)
    if media_type is None or media_type == "application/pdf":
        raise UnsupportedFile()
    _check_bytes(data, config)
    if media_type == "image/heic":
        _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            width, height = opened.size
            if width * height > config.max_pixels or width <= 0 or height <= 0:
                raise FileTooLarge(
                    f"This image is {width}×{height} pixels, more than the {config.max_pixels // 1_000_000} "
                    "megapixels a receipt photo needs: send a smaller photo."
                )
            limit = max_page_side(config)
            if opened.format == "JPEG" and max(width, height) >= 2 * limit:
                # a large photo is decoded straight at 1/2, 1/4 or 1/8 of its size, never below
                # what reading needs: a fraction of the memory and time of the full-size picture
                scale = limit / max(width, height)
                opened.draft(opened.mode, (math.ceil(width * scale), math.ceil(height * scale)))
            opened.load()
            ImageOps.exif_transpose(opened, in_place=True)  # no second copy of an upright photo
            return _to_rgb(opened)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileTooLarge("This image expands to far too many pixels to be a receipt photo.") from exc
    except FileTooLarge:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        raise UnreadableImage() from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _check_bytes(data: bytes, config: OcrConfig) -> None:
    if len(data) > config.max_bytes:
        raise FileTooLarge(
            f"This file is {len(data) / 1_048_576:.1f} MB; receipts up to "
            f"{config.max_bytes / 1_048_576:.0f} MB can be read."
        )


def open_document(data: bytes, config: OcrConfig) -> Document:
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsupportedFile()
    if media_type != "application/pdf":
        return Document(media_type, pages=(open_image(data, config),))
    _check_bytes(data, config)
    return _open_pdf(data, config)


# A PDF page counts as text when its text layer has at least this many letters or digits.
_MIN_TEXT_LAYER_CHARS = 20


def _open_pdf(data: bytes, config: OcrConfig) -> Document:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # pdfium raises its own PdfiumError and plain exceptions
        raise UnreadableImage("This PDF is damaged or protected and could not be opened.") from exc
    try:
        count = len(pdf)
        if count == 0:
            raise UnreadableImage("This PDF has no pages.")
        if count > config.max_pdf_pages:
            raise FileTooLarge(
                f"This PDF has {count} pages; a receipt should have at most {config.max_pdf_pages}."
            )
        texts: list[str] = []
        for index in range(count):
            page = pdf[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        joined = "\n".join(texts)
        if sum(ch.isalnum() for ch in joined) >= _MIN_TEXT_LAYER_CHARS:
            lines = tuple(line.strip() for line in joined.replace("\r", "\n").split("\n") if line.strip())
            return Document("application/pdf", text_lines=lines)
        images: list[Image.Image] = []
        scale = config.pdf_render_dpi / 72
        for index in range(count):
            page = pdf[index]
            width, height = page.get_size()
            if width * height * scale * scale > config.max_pixels:
                scale = (config.max_pixels / max(width * height, 1.0)) ** 0.5
            bitmap = page.render(scale=scale)
            images.append(_to_rgb(bitmap.to_pil()))
            page.close()
        return Document("application/pdf", pages=tuple(images))
    except (FileTooLarge, UnreadableImage):
        raise
    except Exception as exc:
        raise UnreadableImage("This PDF is damaged and could not be read.") from exc
    finally:
        pdf.close()
