"""The receipt reader: receipt images and PDFs in, merchant, date, total and currency out."""

from ocr.errors import FileTooLarge, NoTotalFound, OcrError, UnreadableImage, UnsupportedFile
from ocr.media import sniff_media_type
from ocr.model import KnownMerchant, Line, OcrConfig, ReceiptFacts, ReceiptHint, Word
from ocr.phash import hamming, perceptual_hash
from ocr.reader import read_receipt
from ocr.scan import scan_result_json

__all__ = [
    "FileTooLarge",
    "KnownMerchant",
    "Line",
    "NoTotalFound",
    "OcrConfig",
    "OcrError",
    "ReceiptFacts",
    "ReceiptHint",
    "UnreadableImage",
    "UnsupportedFile",
    "Word",
    "hamming",
    "perceptual_hash",
    "read_receipt",
    "scan_result_json",
    "sniff_media_type",
]
