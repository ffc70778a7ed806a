"""Errors raised while reading a receipt. ``user_message`` is a sentence shown to people as is."""

from __future__ import annotations


class OcrError(Exception):
    """Base class: the receipt could not be read."""

    default_message = "The receipt could not be read."

    def __init__(self, user_message: str | None = None) -> None:
        self.user_message: str = user_message or self.default_message
        super().__init__(self.user_message)


class UnsupportedFile(OcrError):
    default_message = "This file is not a receipt image or PDF: send a JPEG, PNG, WebP, HEIC or PDF."


class FileTooLarge(OcrError):
    default_message = "This file is too large to read: send a smaller photo or a shorter PDF."


class UnreadableImage(OcrError):
    default_message = (
        "This file looks damaged and could not be opened: take the photo again or export it anew."
    )


class NoTotalFound(OcrError):
    default_message = "No total could be found on this receipt: please type the total."
