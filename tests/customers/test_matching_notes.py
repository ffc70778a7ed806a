"""Matching notes as people write them: tickers, everyday words, vendors, typos, the prior.

The index is built the way the app builds it (:func:`storage.customers.build_index`), knowing
which words are everyday English words.
"""

from __future__ import annotations

import pytest

from storage.customers import build_index
from workflows.matching import CustomerIndex, CustomerRecord, is_code

CUSTOMERS = [
    CustomerRecord(1, "JPMORGAN CHASE & CO", aliases=("JPM",)),
    CustomerRecord(2, "Atlassian Corp", aliases=("TEAM",)),
    CustomerRecord(3, "Gartner Inc", aliases=("IT",)),
    CustomerRecord(4, "PROCTER & GAMBLE Co", aliases=("PG", "P&G")),
    CustomerRecord(5, "Power REIT", aliases=("PW",)),
    CustomerRecord(6, "PARK NATIONAL CORP /OH/", aliases=("PRK",)),
    CustomerRecord(7, "DELTA AIR LINES, INC.", aliases=("DAL",)),
    CustomerRecord(8, "Premier, Inc.", aliases=("PINC",)),
    CustomerRecord(9, "Prologis, Inc.", aliases=("PLD",)),
    CustomerRecord(10, "Meta Platforms, Inc.", aliases=("META", "Facebook")),
    CustomerRecord(11, "Merck & Co., Inc.", aliases=("MRK",)),
    CustomerRecord(12, "Merck Animal Health Holdings"),
    CustomerRecord(13, "LEAD REAL ESTATE CO., LTD", aliases=("LRE",)),
    CustomerRecord(14, "Citigroup Inc", aliases=("C", "Citi")),
    CustomerRecord(15, "Uber Technologies, Inc", aliases=("UBER",)),
    CustomerRecord(16, "Wexford Robotics Inc"),
    CustomerRecord(17, "Wexford Tannery Ltd"),
]


@pytest.fixture(scope="module")
def index() -> CustomerIndex:
    return build_index(CUSTOMERS)


def linked(index: CustomerIndex, text: str, prior: set[int] | None = None) -> int | None:
    result = index.match(text, prior=prior or set())
    return result.customer.id if result.customer else None


def test_what_counts_as_a_code() -> None:
    assert is_code("JPM") and is_code("P&G") and is_code("BRK-B") and is_code("3M")
    assert not is_code("Citi") and not is_code("Goldman Sachs") and not is_code("ACMECORP")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JPM QBR dinner", 1),  # a ticker written in capitals
        ("dinner w/ the jpm folks", 1),  # in lower case too: "jpm" is no word
        ("P&G renewal lunch", 4),
        ("uber to the citi offices after the QBR", 14),  # a vendor word, then the customer
        ("dinner w/ the Facebook folks re pilot", 10),  # a former name in the alias field
        ("took the Prolgois team to dinner", 9),  # a misspelt name that is no English word
        ("merck & co pilot lunch", 11),
    ],
)
def test_notes_naming_a_customer(index: CustomerIndex, text: str, expected: int) -> None:
    assert linked(index, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pizza for the team",  # TEAM is Atlassian's ticker, "team" is a word
        "lunch with their IT director",  # capitals, yet a word of notes
        "power adapter EU plug",  # Power REIT is a name made of an everyday word
        "national park pass for team event",  # Park National, words the other way round
        "delta flight to Denver",  # an everyday word followed by a travel word
        "premier inn 3 nts",
        "took the ops lead to dinner",
        "uber to the office",
        "airport parking",
        "hotel 3 nts",
    ],
)
def test_notes_naming_no_customer(index: CustomerIndex, text: str) -> None:
    result = index.match(text)
    assert result.customer is None, result.reason
    assert not result.confident


def test_a_text_that_is_only_a_name_is_a_name(index: CustomerIndex) -> None:
    assert linked(index, "Power REIT") == 5
    assert linked(index, "Premier") == 8


def test_recent_customers_break_a_tie(index: CustomerIndex) -> None:
    plain = index.match("lunch with the wexford people")
    assert {c.id for c in plain.candidates[:2]} == {16, 17} and not plain.confident
    for recent in (16, 17):
        boosted = index.match("lunch with the wexford people", prior={recent})
        assert boosted.customer is not None and boosted.customer.id == recent
        assert "recent customers" in boosted.reason
    # The prior does not outweigh a name spelled out, nor invent a customer.
    assert linked(index, "merck lunch", prior={12}) == 11
    assert linked(index, "airport parking", prior={12}) is None
