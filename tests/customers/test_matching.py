"""Customer matching on a small, realistic customer list."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.matching import CustomerIndex, CustomerRecord
from workflows.names import acronym, email_domains, name_words, normalise, registrable_domain

CUSTOMERS = [
    CustomerRecord(1, "JPMORGAN CHASE & CO", aliases=("JPM",), domain="jpmorganchase.com"),
    CustomerRecord(2, "EXXON MOBIL CORP"),
    CustomerRecord(3, "Apple Inc."),
    CustomerRecord(4, "Apple Hospitality REIT, Inc."),
    CustomerRecord(5, "INTERNATIONAL BUSINESS MACHINES CORP"),
    CustomerRecord(6, "Nestlé S.A."),
    CustomerRecord(7, "Siemens Aktiengesellschaft"),
    CustomerRecord(8, "Procter & Gamble Co"),
    CustomerRecord(9, "Morgan Stanley"),
    CustomerRecord(10, "Coinbase Global, Inc."),
    CustomerRecord(11, "Summit Hotel Properties, Inc."),
    CustomerRecord(12, "Texas Instruments Inc", contacts=(("Dana Whitfield", "dana@ti.com"),)),
    CustomerRecord(13, "Texas Roadhouse, Inc."),
    CustomerRecord(14, "ソニーグループ株式会社", aliases=("Sony",)),
    CustomerRecord(15, "Bank of America Corp /DE/"),
    CustomerRecord(16, "Toyota Motor Corp/ADR"),
    CustomerRecord(17, "Office Properties Income Trust"),
    CustomerRecord(18, "Golden Harvest Pty Ltd"),
    CustomerRecord(19, "Kühne + Nagel International AG"),
    CustomerRecord(20, "TEAM INC"),
]


@pytest.fixture(scope="module")
def index() -> CustomerIndex:
    return CustomerIndex.build(CUSTOMERS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JPMorgan Chase & Co.", 1),  # exact
        ("jpmorgan chase", 1),  # lower case, suffix dropped
        ("JPMorgan Chase Inc", 1),  # suffix changed
        ("lunch w/ jpmorgan folks re renewal", 1),  # short name inside a sentence
        ("J.P. Morgan Chase", 1),  # dotted initials, split word
        ("J.P.Morgan Chase", 1),
        ("JPMorgan's renewal dinner", 1),  # possessive
        ("Intl Business Machines", 5),  # abbreviation written out
        ("dinner with JPM team", 1),  # imported alias
        ("exxon", 2),  # common short name
        ("Exxon Mobile", 2),  # typo
        ("exon mobil", 2),  # typo
        ("apple", 3),  # shortest complete name wins
        ("Apple Hospitality", 4),
        ("IBM workshop", 5),  # acronym / well-known short name
        ("international business machines", 5),
        ("Nestle", 6),  # accents
        ("nestlé sa", 6),
        ("Siemens AG", 7),  # legal form changed to its abbreviation
        ("P&G quarterly review", 8),
        ("procter and gamble", 8),
        ("coin base", 10),  # split word
        ("coinbse kickoff", 10),  # typo in a sentence
        ("drinks w/ texas instruments", 12),
        ("Texas Roadhouse", 13),
        ("sony", 14),
        ("ソニーグループ", 14),  # CJK legal form stripped
        ("BofA offsite", 15),
        ("bank of america", 15),
        ("toyota", 16),
        ("Golden Harvest Ltd", 18),
        ("Kuehne Nagel", 19),  # transliteration, read as a typo
        ("Kühne + Nagel", 19),
        ("kuhne and nagel", 19),
        ("meeting with dana@ti.com", 12),  # contact's e-mail domain
        ("dinner with Dana Whitfield", 12),  # contact's name
        ("ping jpmorganchase.com team", 1),  # company domain
    ],
)
def test_finds_the_customer(index: CustomerIndex, text: str, expected: int | None) -> None:
    result = index.match(text)
    got = result.customer.id if result.customer else None
    assert got == expected, result
    if expected is not None:
        assert result.score >= 62 and result.reason


@pytest.mark.parametrize(
    "text",
    [
        "team lunch",
        "taxi to the airport",
        "hotel 2 nights for the summit",
        "office supplies",
        "coffee with the sales team",
        "uber home after late shift",
        "conference registration fee",
        "",
        "   ",
    ],
)
def test_no_customer_when_none_is_named(index: CustomerIndex, text: str) -> None:
    result = index.match(text)
    assert result.customer is None, result
    assert not result.confident
    assert result.reason.startswith("no customer")


def test_spelled_out_note_words_still_name_a_customer(index: CustomerIndex) -> None:
    assert index.match("Office Properties Income Trust").customer.id == 17  # type: ignore[union-attr]
    assert index.match("Summit Hotel Properties").customer.id == 11  # type: ignore[union-attr]


def test_every_answer_is_explained(index: CustomerIndex) -> None:
    result = index.match("lunch w/ jpmorgan folks")
    assert result.customer is not None
    assert "JPMORGAN CHASE & CO" in result.reason
    assert all(0 <= c.score <= 100 and c.reason for c in result.candidates)
    assert result.candidates[0] == result.customer
    assert list(result.candidates) == sorted(result.candidates, key=lambda c: -c.score)
    alias = index.match("JPM")
    assert "alias 'JPM'" in alias.reason


def test_confidence(index: CustomerIndex) -> None:
    assert index.match("JPMorgan Chase & Co").confident
    # Two customers start with "Texas": naming only that is not enough to link silently.
    assert not index.match("texas").confident


def test_several_texts_agree(index: CustomerIndex) -> None:
    note_only = index.match("exxon")
    both = index.match("exxon", "EXXON MOBIL CORP  Houston TX  Total 42.00")
    assert both.customer is not None and both.customer.id == 2
    assert both.score >= note_only.score
    merchant_only = index.match("", "TEXAS ROADHOUSE #123 receipt")
    assert merchant_only.customer is not None and merchant_only.customer.id == 13


def test_learned_aliases(index: CustomerIndex) -> None:
    assert index.match("dinner with the blue team").customer is None
    result = index.match("dinner with the blue team", extra_aliases={"blue team": 9})
    assert result.customer is not None and result.customer.id == 9
    assert "learned alias 'blue team'" in result.reason
    # An alias for a customer that is not in the index is ignored.
    assert index.match("red team", extra_aliases={"red team": 999}).customer is None


def test_limit(index: CustomerIndex) -> None:
    assert len(index.match("texas", limit=1).candidates) == 1
    assert len(index.match("texas", limit=5).candidates) >= 2


@pytest.mark.parametrize(
    ("text", "first"),
    [("jpm", 1), ("texas i", 12), ("texas r", 13), ("ROAD", 13), ("coinb", 10), ("ibm", 5), ("Nestle", 6)],
)
def test_search_for_a_picker(index: CustomerIndex, text: str, first: int) -> None:
    found = index.search(text, limit=5)
    assert found and found[0].id == first, found
    assert len(found) <= 5


def test_search_with_nothing_typed_lists_customers(index: CustomerIndex) -> None:
    assert len(index.search("", limit=7)) == 7


def test_len_and_empty_index() -> None:
    assert len(CustomerIndex.build(CUSTOMERS)) == len(CUSTOMERS)
    empty = CustomerIndex.build([])
    assert len(empty) == 0
    assert empty.match("anything at all").customer is None
    assert empty.search("a") == []


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("JPMORGAN CHASE & CO", ["jpmorgan", "chase"]),
        ("Nestlé S.A.", ["nestle"]),
        ("Acme Holdings Co., Ltd.", ["acme", "holdings"]),
        ("DIODES INC /DEL/", ["diodes"]),
        ("CooTek(Cayman)Inc.", ["cootek"]),
        ("Petronas Sdn. Bhd.", ["petronas"]),
        ("Müller GmbH & Co. KG", ["muller"]),
        ("The Home Depot, Inc.", ["home", "depot"]),
        ("AT&T Inc.", ["att"]),
        ("Int'l Flavors & Fragrances", ["international", "flavors", "and", "fragrances"]),
        ("トヨタ自動車株式会社", ["トヨタ自動車"]),
        ("阿里巴巴集团控股有限公司", ["阿里巴巴集团控股"]),
        ("Inc.", ["inc"]),
        ("Banco Santander, S.A.", ["banco", "santander"]),
        ("Koninklijke Philips N.V.", ["koninklijke", "philips"]),
        ("BHP Group Pty Ltd", ["bhp", "group"]),
    ],
)
def test_name_words(raw: str, words: list[str]) -> None:
    assert name_words(raw) == words


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("J.P. Morgan", "jp morgan"), ("Procter & Gamble", "procter and gamble"), ("McDonald's", "mcdonalds")],
)
def test_normalise(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


def test_helpers() -> None:
    assert acronym(["international", "business", "machines"]) == "ibm"
    assert acronym(["bank", "of", "america"]) == "ba"
    assert acronym(["single"]) is None
    assert email_domains("mail bob@Sales.Acme.co.uk and see acme.com") == ["sales.acme.co.uk", "acme.com"]
    assert registrable_domain("sales.acme.co.uk") == "acme.co.uk"
    assert registrable_domain("www.acme.com") == "acme.com"


RECEIPT = (
    "TEXAS ROADHOUSE #2231 1517 Shattuck Ave Berkeley CA 94709 Server: Maria Table 12 Guests 4 "
    "2 x Ribeye 52.00 1 x Summit Salad 12.00 Sweet Tea 3.50 Subtotal 67.50 Tax 6.24 Total 73.74 "
    "VISA **** 4421 Auth 08812 Thank you for dining with us! Visit texasroadhouse.com"
)


def test_a_whole_receipt_needs_the_whole_name(index: CustomerIndex) -> None:
    # A receipt is long and full of words; part of a name there is not enough...
    assert index.match("", "", RECEIPT.replace("TEXAS ROADHOUSE", "ROADHOUSE")).customer is None
    # ...but the merchant's full name is, and the note decides when it names someone else.
    on_receipt = index.match("team dinner", "TEXAS ROADHOUSE #2231", RECEIPT)
    assert on_receipt.customer is not None and on_receipt.customer.id == 13
    assert "(in 2 texts)" in on_receipt.reason
    with_note = index.match("dinner with the JPM team", "TEXAS ROADHOUSE #2231", RECEIPT)
    assert {c.id for c in with_note.candidates[:2]} == {1, 13}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gets_an_explained_answer(text: str) -> None:
    result = INDEX.match(text, text[::-1])
    assert 0.0 <= result.score <= 100.0
    assert result.reason
    assert all(0.0 <= c.score <= 100.0 and c.reason for c in result.candidates)
    assert (result.customer is None) == (result.score < 62 or not result.candidates)
    assert len(INDEX.search(text, limit=3)) <= 3


@given(st.text(max_size=60))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once


@given(st.sampled_from([c.name for c in CUSTOMERS]), st.sampled_from(["", " Inc.", " Ltd", " GmbH", " LLC"]))
def test_a_name_with_any_legal_form_finds_itself(name: str, suffix: str) -> None:
    result = INDEX.match(name + suffix)
    assert result.customer is not None and result.customer.name == name


INDEX = CustomerIndex.build(CUSTOMERS)


def test_a_customers_own_alias_counts_even_when_it_is_an_everyday_word() -> None:
    index = CustomerIndex.build(
        [
            CustomerRecord(1, "Acme Corp", aliases=("Summit",)),
            CustomerRecord(2, "BigBear.ai Holdings, Inc."),
            CustomerRecord(3, "Summit Hotel Properties, Inc."),
        ]
    )
    result = index.match("dinner with summit folks")
    assert result.customer is not None and result.customer.id == 1 and "alias 'Summit'" in result.reason
    # A name that looks like a web domain is still a name.
    found = index.match("BigBear.ai")
    assert found.customer is not None and found.customer.id == 2
