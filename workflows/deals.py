"""Which open deal of the matched customer an expense belongs to. Pure and explainable.

The card suggests a deal only when one stands out, in this order:

1. the customer has a single open deal;
2. the note names one of its open deals: words of the deal's name that the customer's other
   open deals do not share (the product, "renewal", "pilot", a year, "phase 2"), found in the
   note exactly or with one typo; the customer's own name and filler words do not count;
3. exactly one of the open deals is owned by the employee.

Otherwise there is no suggestion and the card lists the open deals to pick from. Closed deals
are never suggested for a new expense (their history stays with the expenses already on them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from workflows.names import NOTE_WORDS, name_words, normalise, tokens

# Words in deal names that say nothing about which deal it is.
_DEAL_FILLER = frozenset(
    {
        "deal",
        "opportunity",
        "opp",
        "new",
        "business",
        "the",
        "and",
        "of",
        "for",
        "with",
        "to",
        "a",
        "an",
        "in",
        "on",
        "at",
        "by",
        "inc",
        "corp",
        "co",
        "ltd",
        "llc",
        "plc",
        "group",
        "q",
        "fy",
    }
)


@dataclass(frozen=True)
class DealOption:
    id: int
    name: str
    is_closed: bool = False
    stage: str | None = None
    owner: str | None = None  # the CRM owner (HubSpot owner id, Salesforce user id, or an e-mail)
    close_date: dt.date | None = None


@dataclass(frozen=True)
class DealSuggestion:
    deal: DealOption | None
    reason: str
    options: tuple[DealOption, ...]  # the open deals, for a picker (soonest close date first)


def _words(text: str) -> list[str]:
    return tokens(normalise(text))


def _found(word: str, note_words: set[str]) -> bool:
    if word in note_words:
        return True
    if len(word) < 5 or word.isdigit():
        return False
    return any(
        abs(len(w) - len(word)) <= 1 and OSA.distance(w, word, score_cutoff=1) <= 1 for w in note_words
    )


def suggest_deal(
    deals: Iterable[DealOption], note: str, *, customer_name: str = "", owner: str | None = None
) -> DealSuggestion:
    """The open deal the note belongs to, or none with the open deals to pick from."""
    open_deals = sorted(
        (d for d in deals if not d.is_closed),
        key=lambda d: (d.close_date or dt.date.max, d.name.casefold(), d.id),
    )
    options = tuple(open_deals)
    if not open_deals:
        return DealSuggestion(None, "no open deal", options)
    if len(open_deals) == 1:
        return DealSuggestion(open_deals[0], "the customer's only open deal", options)

    customer_words = set(name_words(customer_name)) if customer_name else set()
    note_words = {w for w in _words(note) if w not in customer_words}
    deal_words = {
        d.id: {w for w in _words(d.name) if w not in _DEAL_FILLER and w not in customer_words}
        for d in open_deals
    }
    # A word every open deal has ("2026" in all of them) tells them apart from nothing.
    counts: dict[str, int] = {}
    for words in deal_words.values():
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    scored: list[tuple[float, DealOption, list[str]]] = []
    for d in open_deals:
        hits = [w for w in deal_words[d.id] if counts[w] < len(open_deals) and _found(w, note_words)]
        # A distinctive word counts more than a word of notes ("renewal", "pilot") it shares.
        score = sum((0.6 if w in NOTE_WORDS else 1.0) / counts[w] for w in hits)
        if hits:
            scored.append((score, d, hits))
    scored.sort(key=lambda t: -t[0])
    if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        _score, deal, hits = scored[0]
        return DealSuggestion(deal, f"named in the note ({', '.join(sorted(hits))})", options)

    if owner:
        mine = [d for d in open_deals if d.owner and d.owner.casefold() == owner.casefold()]
        if scored:
            named_ids = {d.id for s, d, _h in scored if s == scored[0][0]}
            mine = [d for d in mine if d.id in named_ids] or mine
        if len(mine) == 1:
            return DealSuggestion(mine[0], "the open deal you own", options)
    return DealSuggestion(None, f"{len(open_deals)} open deals: pick one", options)
