"""What an employee's correction teaches: the words of a note that named the customer."""

from __future__ import annotations

import re

# Words that say what the expense was, not who it was for.
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "with",
        "w",
        "w/",
        "for",
        "at",
        "to",
        "from",
        "of",
        "and",
        "&",
        "re",
        "about",
        "on",
        "in",
        "our",
        "my",
        "their",
        "team",
        "folks",
        "people",
        "guys",
        "client",
        "clients",
        "customer",
        "customers",
        "prospect",
        "meeting",
        "meetings",
        "lunch",
        "dinner",
        "breakfast",
        "brunch",
        "coffee",
        "drinks",
        "meal",
        "meals",
        "taxi",
        "uber",
        "grab",
        "ride",
        "flight",
        "hotel",
        "trip",
        "travel",
        "visit",
        "visiting",
        "onsite",
        "office",
        "call",
        "kickoff",
        "renewal",
        "deal",
        "demo",
        "workshop",
        "training",
        "event",
        "conference",
        "snacks",
        "catering",
        "gift",
        "gifts",
        "parking",
        "fuel",
        "today",
        "yesterday",
        "tomorrow",
        "morning",
        "evening",
        "night",
        "week",
        "weekly",
        "monthly",
        "quarterly",
        "q1",
        "q2",
        "q3",
        "q4",
    ]
)
_WORD = re.compile(r"[\w&'.-]+", re.UNICODE)


def alias_from_note(note: str | None) -> str | None:
    """The customer-naming part of a note: ``"lunch w/ the Initrode folks re renewal"`` -> ``"Initrode"``.

    ``None`` when nothing but filler words remain (then there is nothing to learn).
    """
    if not note:
        return None
    words = [w.strip(".'") for w in _WORD.findall(note)]
    kept = [w for w in words if w and w.lower() not in _FILLER and not w.isdigit()]
    if not kept:
        return None
    return " ".join(kept)[:200]
