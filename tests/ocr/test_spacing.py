"""Spaces in shop names: run-together words split and split words joined only by known words."""

from __future__ import annotations

import pytest

from ocr.spacing import NAME_WORDS, respace, split_token, vocabulary


@pytest.mark.parametrize(
    ("read", "printed"),
    [
        ("UNIHAKKAINTERNATIONALSDNBHD", "UNIHAKKA INTERNATIONAL SDN BHD"),  # a name, then known words
        ("SYARIKATPERNIAGAAN GIN KEE", "SYARIKAT PERNIAGAAN GIN KEE"),  # Malay
        ("PAGOHRESTANDSERVICEAREA", "PAGOH REST AND SERVICE AREA"),
        ("BACKEREIMUSTERMANN", "BACKEREIMUSTERMANN"),  # the unknown part may only come first
        ("RES TAURANT JIAWEI", "RESTAURANT JIAWEI"),  # a word split in two
        ("TASTE OF T HE WORLD", "TASTE OF THE WORLD"),
        ("MR D I Y (M) SDN BHD", "MR D I Y (M) SDN BHD"),  # initials printed apart stay apart
        ("A L D I", "ALDI"),  # four or more letters apart: one word in spaced type
        ("T O O M B A U M A R K T GMBH", "TOOM BAU MARKT GMBH"),
        ("HAMBURGERS", "HAMBURGERS"),  # "HAM" is too short to be a name of its own
        ("CHICKENLAND", "CHICKENLAND"),  # a short word never ends a split
        ("SUPERMARKET", "SUPERMARKET"),  # a known word is never split
        ("NANDO'S CHICKENLAND", "NANDO'S CHICKENLAND"),
        ("GRAND LUXCAFE", "GRAND LUXCAFE"),
    ],
)
def test_respace(read: str, printed: str) -> None:
    assert respace(read) == printed


def test_split_token_keeps_short_and_non_letter_tokens() -> None:
    assert split_token("ABCDE") == ["ABCDE"]
    assert split_token("12345678") == ["12345678"]


def test_vocabulary_holds_every_language_and_the_receipt_keywords() -> None:
    words = vocabulary()
    assert {"SDN", "BHD", "GMBH", "RESTAURANT", "RESTORAN", "BOULANGERIE", "RISTORANTE", "BAKKERIJ"} <= words
    assert {"ZAHLEN", "JUMLAH", "TOTAAL"} <= words  # from ocr.keywords
    assert set(NAME_WORDS) >= {"legal", "en", "ms", "de", "fr", "es", "it", "nl", "pt"}
