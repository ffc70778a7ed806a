from __future__ import annotations

import pytest

from workflows.categories import category_label, guess_category


@pytest.mark.parametrize(
    ("merchant", "note", "category"),
    [
        ("Grand Hyatt Hotel", "", "lodging"),
        ("Harbour View Bistro", "", "meals"),
        ("Harbour View Bistro", "client lunch with Acme", "client_entertainment"),
        ("Petronas Station", "", "fuel"),
        ("Grab", "ride to the airport", "travel"),
        ("Popular Bookstore", "", "office_supplies"),
        ("ZZ Unknown Trading", "", "other"),
        (None, "dinner with the team", "meals"),
    ],
)
def test_guess(merchant: str | None, note: str, category: str) -> None:
    guess = guess_category(merchant, "", note)
    assert guess.category == category
    assert guess.reason


def test_labels() -> None:
    assert category_label("client_entertainment") == "Client entertainment"
    assert category_label(None) == "Uncategorised"
    assert category_label("team_offsite") == "Team offsite"
