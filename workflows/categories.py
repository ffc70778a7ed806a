"""Expense categories and a first guess of the category from a receipt's merchant and text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflows.i18n import N_

CATEGORIES: dict[str, str] = {
    "meals": N_("Meals"),
    "client_entertainment": N_("Client entertainment"),
    "travel": N_("Travel"),
    "lodging": N_("Lodging"),
    "mileage": N_("Mileage"),
    "fuel": N_("Fuel"),
    "office_supplies": N_("Office supplies"),
    "software": N_("Software"),
    "per_diem": N_("Per diem"),
    "other": N_("Other"),
}

# Keyword table: the first category whose words appear wins; words are matched as whole words.
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lodging", ("hotel", "inn", "resort", "motel", "hostel", "airbnb", "lodge", "suites")),
    (
        "travel",
        (
            "airline",
            "airlines",
            "airways",
            "air asia",
            "airasia",
            "flight",
            "taxi",
            "uber",
            "grab",
            "lyft",
            "train",
            "railway",
            "rail",
            "bus",
            "parking",
            "toll",
            "boarding pass",
            "car rental",
        ),
    ),
    ("fuel", ("petrol", "petronas", "shell", "caltex", "esso", "fuel", "gasoline", "diesel", "bp")),
    (
        "software",
        (
            "software",
            "subscription",
            "saas",
            "license",
            "licence",
            "github",
            "atlassian",
            "adobe",
            "google workspace",
        ),
    ),
    (
        "office_supplies",
        (
            "stationery",
            "stationary",
            "office",
            "printer",
            "toner",
            "paper",
            "bookstore",
            "book",
            "hardware",
            "popular",
            "mr diy",
            "diy",
        ),
    ),
    (
        "meals",
        (
            "restaurant",
            "cafe",
            "café",
            "coffee",
            "kopitiam",
            "bakery",
            "food",
            "kitchen",
            "bistro",
            "bar",
            "grill",
            "noodle",
            "nasi",
            "mamak",
            "pizza",
            "burger",
            "sushi",
            "dining",
            "tea",
            "starbucks",
            "mcdonald",
            "kfc",
            "subway",
            "restoran",
            "makan",
            "chicken",
            "rice",
            "lunch",
            "dinner",
            "breakfast",
            "brunch",
            "meal",
        ),
    ),
)

_CLIENT_WORDS = re.compile(r"\b(client|customer|prospect)s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class CategoryGuess:
    category: str
    confidence: float
    reason: str


def guess_category(merchant: str | None, text: str = "", note: str = "") -> CategoryGuess:
    """Guess a category from the merchant name, the receipt text and the employee's note."""
    haystacks = [(merchant or "", 0.8), (note, 0.7), (text[:2000], 0.5)]
    for category, words in _KEYWORDS:
        for hay, weight in haystacks:
            low = hay.lower()
            for word in words:
                if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low):
                    if category == "meals" and _CLIENT_WORDS.search(note):
                        return CategoryGuess(
                            "client_entertainment", weight, f"'{word}' and a client in the note"
                        )
                    return CategoryGuess(category, weight, f"'{word}' on the receipt or note")
    return CategoryGuess("other", 0.2, "no category keyword found")


def category_label(category: str | None) -> str:
    if not category:
        return N_("Uncategorised")
    return CATEGORIES.get(category, category.replace("_", " ").capitalize())
