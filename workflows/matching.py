"""Customer matching: which CRM customer does an expense note or a receipt mention?

Pure and explainable. :meth:`CustomerIndex.build` indexes every customer once (names, aliases,
acronyms, well-known short names, contacts and e-mail domains); :meth:`CustomerIndex.match`
finds customers mentioned anywhere inside free text and says why, with a 0-100 score, or says
that no customer is close enough.

How a customer is scored against a text:

* Names are normalised (case, accents, punctuation, "&"/"and", legal forms of many countries)
  and split into words. Each word weighs its inverse document frequency in the customer list,
  reduced further for generic company words (Group, Holdings, Bank ...): distinctive words
  count, generic ones hardly.
* Words of the text are found in the index exactly, as a typo (one or two edits, via a
  deletion index so nothing scans the whole vocabulary), or glued/split (``jp morgan`` /
  ``jpmorgan``).
* The score is mostly the weighted share of the customer's name found in the text, in order.
  Naming the first distinctive word(s) is how people shorten names ("Exxon", "JPMorgan") and
  counts for more, never as much as the whole name. Words that describe an expense (lunch,
  hotel, renewal ...), given names and cities are weak evidence unless the whole name is
  spelled out. Part of the score is how much of the mention (the matched words and their
  neighbours) the name explains, so "Meridian Mining" prefers Meridian Mining UK to Meridian
  Corp. In a long text (a whole receipt) only a complete name counts fully.
* Tickers and codes of the alias field (``JPM``, ``P&G``) count as written: in capitals, or in
  lower case only when no word is spelt like that (:func:`is_code`).
* With ``word_frequency`` (English word frequencies, given by the storage layer), everyday
  words alone name nobody inside a sentence ("power adapter" is not Power REIT), a lone common
  name word counts for less the more common it is, and a word that is no English word at all
  is likelier a misspelt name.
* ``prior``: the employee's recent customers gain a few points when the text points at them.
* Only a text that is exactly a customer's name scores 100. Below :data:`NONE_BELOW` the
  answer is "no customer"; the closest candidates are still listed.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter

from rapidfuzz.distance import OSA

from workflows.names import (
    FIRST_NAMES,
    GENERIC_WORDS,
    KNOWN_SHORT_NAMES,
    LEGAL_SUFFIXES,
    NOTE_WORDS,
    PLACES,
    TRAVEL_CONTEXT,
    VENDOR_CONTEXT,
    acronym,
    domain_stem,
    email_domains,
    fold,
    name_words,
    normalise,
    registrable_domain,
    strip_legal_suffixes,
    tokens,
)

# Scores are 0-100. Below NONE_BELOW the answer is "no customer"; at CONFIDENT_FROM and with a
# clear lead over the runner-up the customer is linked without asking.
NONE_BELOW = 62.0
CONFIDENT_FROM = 85.0
CONFIDENT_LEAD = 8.0
# The employee's recent customers: a candidate among them with some evidence gains this much.
PRIOR_BONUS = 8.0
PRIOR_FROM = 45.0
# Everyday words (Zipf frequency from this on: "power", "lead", "park") are no evidence on their own.
ORDINARY_ZIPF = 4.8
ORDINARY_CAP = 58.0
_GIBBERISH_ZIPF = 2.0
_ENGLISH_ZIPF = 3.5
_POSSESSIVE = re.compile(r"([^\W\d_]+)['’]s\b")
_COMMON_FROM_ZIPF = 3.6  # from here up to ORDINARY_ZIPF, a lone word counts for less and less
_COMMON_FACTOR = 0.55  # ... down to this factor

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "protonmail.com",
        "proton.me",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.ru",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "comcast.net",
        "fastmail.com",
    }
)

_FUZZY_MIN_LEN = 4
_TWO_EDITS_MIN_LEN = 8
_POSTINGS_CAP = 2500
_PRESELECT = 25
_NEW_CANDIDATES_MAX = 300
_SEED_MAX = 1200
_MENTION_CONTEXT = 2
_LONG_TEXT = 30  # words; longer texts are receipts or documents, not notes
_BEST_INEXACT = 99.0  # 100 is kept for the text being exactly a customer's name
_STOP = frozenset({"and", "of", "the", "de", "la", "le", "et", "und", "y", "e", "for", "a", "an", "s"})


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    name: str
    aliases: tuple[str, ...] = ()
    domain: str | None = None
    contacts: tuple[tuple[str | None, str | None], ...] = ()  # (name, email)


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    score: float
    reason: str


@dataclass(frozen=True)
class MatchResult:
    query: str
    customer: Candidate | None
    score: float
    reason: str
    candidates: tuple[Candidate, ...]
    confident: bool


# A way of writing a customer's name: its words with their weights.
@dataclass(frozen=True, slots=True)
class _Variant:
    record: int  # position in CustomerIndex._records
    kind: str  # name | alias | short | contact
    label: str  # as written, for reasons
    words: tuple[str, ...]
    weights: tuple[float, ...]
    total: float
    acronym: str | None


# A word of the text as found in the index: covering text words [start, end], similarity 0-1.
_Hit = tuple[int, int, float]
# One aligned piece: name words [i, i2] <- text words [j, j2], similarity.
_Piece = tuple[int, int, int, int, float]

_LEGAL_WORDS = frozenset(s for s in LEGAL_SUFFIXES if " " not in s)
# Tickers and other codes in the alias field (JPM, P&G, BRK-B): a word of the note, as written.
_CODE_TOKEN = re.compile(r"[^\W_][\w&.\-]*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_CODE_MAX = 5
_CODE_WORD_ZIPF = 4.0  # a lower-case ticker this common in English is the word, not the ticker
_OPTIONAL = 0.06  # name words lighter than this (of, the, a legal form mid-name) may be left out


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt: set[str] = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        out |= nxt
        frontier = nxt
    out.discard(word)
    return out


def code_key(text: str) -> str:
    """``P&G`` -> ``pg``, ``BRK-B`` -> ``brkb``: how a ticker-like alias is looked up."""
    return _NOT_ALNUM.sub("", fold(text))


def is_code(alias: str) -> bool:
    """A ticker-like alias: one word of at most five letters or digits, all in capitals as the
    CRM has it (``JPM``, ``P&G``, ``AT&T``, ``BRK-B``). Such an alias is an abbreviation, not a
    word: it names its customer when a note writes it in capitals, or in lower case only when it
    is no ordinary word of notes or company names (``team`` is Atlassian's ticker)."""
    text = alias.strip()
    letters = [c for c in text if c.isalpha()]
    return (
        " " not in text
        and 0 < len(code_key(text)) <= _CODE_MAX
        and bool(letters)
        and all(c.isupper() for c in letters)
    )


def _weak(word: str) -> bool:
    """A word that on its own describes an expense, a person, a place or a number rather than
    a company."""
    return word in NOTE_WORDS or word in FIRST_NAMES or word in PLACES or word.isdigit()


class CustomerIndex:
    """All customers, indexed once for matching free text and for a live picker."""

    def __init__(self) -> None:
        self._records: list[CustomerRecord] = []
        self._by_id: dict[int, int] = {}
        self._variants: list[_Variant] = []
        self._postings: dict[str, list[int]] = {}
        self._acronyms: dict[str, list[int]] = {}
        self._exact: dict[str, list[int]] = {}
        self._deletes: dict[str, list[str]] = {}
        self._domains: dict[str, list[int]] = {}
        self._codes: dict[str, list[int]] = {}
        self._ordinary: frozenset[str] = frozenset()
        self._word_frequency: Callable[[str], float] | None = None
        self._common: dict[str, float] = {}  # name words that are also English words: their Zipf frequency
        self._english_codes: frozenset[str] = frozenset()  # tickers that are words too ("plug")
        self._weight: dict[str, float] = {}
        self._first_words: dict[str, int] = {}  # how many customers' names start with a word
        self._words_of: list[tuple[str, ...]] = []
        self._sorted_names: list[tuple[str, int]] = []
        self._sorted_words: list[str] = []
        self._log_n = 1.0

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls, records: Iterable[CustomerRecord], *, word_frequency: Callable[[str], float] | None = None
    ) -> CustomerIndex:
        """Index ``records``. ``word_frequency`` gives a word's frequency in everyday language
        (Zipf scale, 0-8; ``storage.customers.build_index`` passes one): a customer named only by
        everyday words ("Power", "Lead", "Security") needs more than one such word in a note."""
        index = cls()
        index._records = list(records)
        index._by_id = {r.id: i for i, r in enumerate(index._records)}
        index._build()
        if word_frequency is not None:
            index._word_frequency = word_frequency
            common = {
                w: z
                for w in index._weight
                if len(w) >= 3 and w.isalpha() and (z := word_frequency(w)) >= _COMMON_FROM_ZIPF
            }
            index._common = common
            index._ordinary = frozenset(w for w, z in common.items() if z >= ORDINARY_ZIPF)
            index._english_codes = frozenset(c for c in index._codes if word_frequency(c) >= _CODE_WORD_ZIPF)
        return index

    def __len__(self) -> int:
        return len(self._records)

    def record(self, customer_id: int) -> CustomerRecord | None:
        pos = self._by_id.get(customer_id)
        return None if pos is None else self._records[pos]

    def _build(self) -> None:
        raw: list[tuple[int, str, str, list[str]]] = []  # record, kind, label, words
        df: dict[str, int] = {}
        short_forms: dict[str, list[tuple[str, str]]] = {}  # first word -> (full name, short)
        for short, full in KNOWN_SHORT_NAMES.items():
            short_forms.setdefault(full.split()[0], []).append((full, short))
        for pos, rec in enumerate(self._records):
            seen: set[str] = set()
            words = name_words(rec.name)
            if words:
                raw.append((pos, "name", rec.name, words))
                seen.update(words)
                self._first_words[words[0]] = self._first_words.get(words[0], 0) + 1
            for alias in rec.aliases:
                if is_code(alias):
                    holders = self._codes.setdefault(code_key(alias), [])
                    if pos not in holders:
                        holders.append(pos)
                    continue
                alias_words = name_words(alias)
                if alias_words:
                    raw.append((pos, "alias", alias, alias_words))
                    seen.update(alias_words)
            if words and words[0] in short_forms:
                joined = " ".join(words)
                for full, short in short_forms[words[0]]:
                    if joined == full or joined.startswith(full + " "):
                        raw.append((pos, "short", short, tokens(short)))
            for contact_name, email in rec.contacts:
                if contact_name:
                    contact_words = tokens(normalise(contact_name))
                    if len(contact_words) >= 2:
                        raw.append((pos, "contact", contact_name, contact_words))
                if email and "@" in email:
                    self._add_domain(email.rsplit("@", 1)[1], pos)
            if rec.domain:
                self._add_domain(rec.domain, pos)
            for w in seen:
                df[w] = df.get(w, 0) + 1

        self._log_n = math.log(max(len(self._records), 1) + 1.0)
        weight = {w: self._word_weight(w, count) for w, count in df.items()}
        self._weight = weight

        postings: dict[str, list[int]] = {}
        acronyms: dict[str, list[int]] = {}
        exact: dict[str, list[int]] = {}
        names: list[tuple[str, int]] = []
        variants = self._variants
        for pos, kind, label, words in raw:
            if kind == "contact":
                weights = tuple(1.0 for _ in words)
            else:
                weights = tuple(weight.get(w) or self._word_weight(w, 1) for w in words)
            acr = acronym(words) if kind in {"name", "alias"} else None
            if acr is not None and (len(acr) < 3 or acr in df):
                acr = None  # too short, or a real word of some name: no guessing
            vid = len(variants)
            variants.append(_Variant(pos, kind, label, tuple(words), weights, sum(weights) or 1.0, acr))
            keys = set(words)
            for i in range(len(words) - 1):
                keys.add(words[i] + words[i + 1])
            for key in keys:
                postings.setdefault(key, []).append(vid)
            if acr:
                acronyms.setdefault(acr, []).append(vid)
            joined = " ".join(words)
            exact.setdefault(joined, []).append(vid)
            if kind in {"name", "alias"}:
                names.append((joined, vid))
        self._postings = postings
        self._words_of = [v.words for v in variants]
        self._acronyms = acronyms
        self._exact = exact
        names.sort()
        self._sorted_names = names
        self._sorted_words = sorted(df)

        deletes: dict[str, list[str]] = {}
        for word in df:
            if len(word) >= _FUZZY_MIN_LEN and not word.isdigit():
                for d in _deletes(word, 1):
                    deletes.setdefault(d, []).append(word)
        self._deletes = deletes

    def _add_domain(self, domain: str, pos: int) -> None:
        reg = registrable_domain(domain)
        if not reg or "." not in reg or reg in FREE_MAIL_DOMAINS:
            return
        holders = self._domains.setdefault(reg, [])
        if pos not in holders:
            holders.append(pos)

    def _word_weight(self, word: str, count: int) -> float:
        if word in _STOP:
            return 0.02
        if word in _LEGAL_WORDS:
            return 0.05
        idf = math.log((len(self._records) + 1.0) / (count + 0.5)) / self._log_n
        idf = min(max(idf, 0.08), 1.0)
        if word in GENERIC_WORDS:
            idf *= 0.35
        elif len(word) <= 2 and not word.isdigit():
            idf *= 0.7
        return idf

    # ------------------------------------------------------------------ text lookup

    def _fuzzy(self, word: str) -> list[tuple[str, float]]:
        """Name words within one edit (two for long words) of ``word``, with a similarity."""
        if len(word) < _FUZZY_MIN_LEN or word.isdigit():
            return []
        depth = 2 if len(word) >= _TWO_EDITS_MIN_LEN else 1
        found: dict[str, float] = {}
        deletes = self._deletes
        weight = self._weight
        probes = _deletes(word, depth)
        probes.add(word)
        for probe in probes:
            cands = list(deletes.get(probe, ()))
            if probe != word and probe in weight:
                cands.append(probe)
            for cand in cands:
                if cand == word or cand in found:
                    continue
                shorter, longer = sorted((len(word), len(cand)))
                if shorter < 4 or longer < 5 or len(cand) < 5:
                    continue  # too many everyday words are one letter away from a short name
                dist = OSA.distance(word, cand, score_cutoff=depth)
                if dist <= depth:
                    found[cand] = max(0.0, 1.0 - 1.4 * dist / longer)
        return list(found.items())

    def _lookup(
        self, words: list[str], possessive: frozenset[str] = frozenset()
    ) -> tuple[dict[str, list[_Hit]], list[float], list[bool]]:
        """Every indexed key the text's words can stand for, each text word's weight, and
        whether it reads like a word of some company's name."""
        hits: dict[str, list[_Hit]] = {}
        qweights: list[float] = []
        qname: list[bool] = []
        postings = self._postings
        weight = self._weight
        for j, word in enumerate(words):
            qname.append(False)
            if word in _STOP or word in _LEGAL_WORDS:
                qweights.append(0.0)
                continue
            exact = word in postings
            if exact:
                hits.setdefault(word, []).append((j, j, 1.0))
            elif len(word) > 3 and word.endswith("s") and word[:-1] in postings and not _weak(word):
                # "JPMorgan's" (the apostrophe is gone by now) and plurals.
                hits.setdefault(word[:-1], []).append((j, j, 0.97))
                exact = True
            if _weak(word):
                qweights.append(0.0 if word in NOTE_WORDS else 0.3)
                continue
            if word.isdigit():
                qweights.append(0.1)
                continue
            wq = weight.get(word, 0.0)
            fuzzy_found = False
            if (not exact or len(word) >= 5) and word not in GENERIC_WORDS:
                # A word that is no English word at all ("Prolgois") is likelier a misspelt name
                # than one a letter away from a name by chance ("venue", "signed").
                # "Kalani's pick" is a person's, whatever the word.
                zipf = (
                    self._word_frequency(word)
                    if not exact and self._word_frequency is not None and len(word) >= 5 and word.isalpha()
                    else None
                )
                gibberish = zipf is not None and zipf < _GIBBERISH_ZIPF and word not in possessive
                english = zipf is not None and zipf >= _ENGLISH_ZIPF
                for cand, sim in self._fuzzy(word):
                    if gibberish:
                        sim = 1.0 - 0.3 * (1.0 - sim)
                    elif english:
                        sim *= 0.8  # "signed" is the word, not a misspelt "Signet"
                    # A word some customer is really called makes a typo reading less likely.
                    hits.setdefault(cand, []).append((j, j, sim * (0.85 if exact else 1.0)))
                    fuzzy_found = True
                    if not exact:  # maybe a misspelt name word, maybe just a word: half weight
                        wq = max(wq, 0.5 * weight.get(cand, 0.0) * sim)
            if word in GENERIC_WORDS:
                wq = max(wq, 0.4)  # "BlackRock Municipal": generic, yet it says which one
            if word in self._ordinary:
                wq *= 0.3  # next to a name, "security review" says little about which customer
            elif word in self._common:
                wq *= 0.6  # "gift basket": an English word, likelier the note's than a name's
            # A word no customer's name has, even misspelt, cannot be part of a mention.
            qweights.append(wq if exact or wq else 0.1)
            qname[j] = exact or fuzzy_found
        for j in range(len(words) - 1):
            a, b = words[j], words[j + 1]
            if a in _LEGAL_WORDS or b in _LEGAL_WORDS or a in _STOP or b in _STOP:
                continue
            glued = a + b
            if glued in postings:
                hits.setdefault(glued, []).append((j, j + 1, 1.0))
        return hits, qweights, qname

    # ------------------------------------------------------------------ scoring

    def _align(self, v: _Variant, hits: Mapping[str, list[_Hit]]) -> list[_Piece]:
        words = v.words
        n = len(words)
        matched: list[_Piece] = []
        last_end = -1
        i = 0
        while i < n:
            best: _Piece | None = None
            if i + 1 < n:
                for j, j2, sim in hits.get(words[i] + words[i + 1], ()):
                    if j == j2:
                        best = (i, i + 1, j, j2, sim)
                        break
            for j, j2, sim in hits.get(words[i], ()):
                cand = (i, i, j, j2, sim)
                if best is None or (best[1] == best[0] and _better(cand, best, last_end)):
                    best = cand
            if best is not None:
                matched.append(best)
                last_end = best[3]
                i = best[1] + 1
            else:
                i += 1
        return matched

    def _score_variant(
        self,
        v: _Variant,
        hits: Mapping[str, list[_Hit]],
        acronym_at: Mapping[str, int],
        qwords: list[str],
        qweights: list[float],
        qname: list[bool],
    ) -> tuple[float, str]:
        words = v.words
        weights = v.weights
        # A bare name: every word could belong to some customer's name ("Meridian Mining").
        bare = all(qname[j] or qweights[j] == 0.0 for j in range(len(qwords)))
        matched = self._align(v, hits)
        covered = {k for a, b, *_ in matched for k in range(a, b + 1)}
        # Whole name: every word but "of", legal forms and generic words (Group, Partners ...),
        # with at least one word that is not generic matched ("business" is not the whole of
        # Business First Bancshares).
        full = (
            bool(matched)
            and all(
                k in covered or weights[k] < _OPTIONAL or words[k] in GENERIC_WORDS for k in range(len(words))
            )
            and any(words[k] not in GENERIC_WORDS and weights[k] >= _OPTIONAL for k in covered)
        )
        in_order = all(matched[k][2] > matched[k - 1][3] for k in range(1, len(matched)))
        tight = in_order and all(matched[k][2] - matched[k - 1][3] <= 2 for k in range(1, len(matched)))
        # Spelled out: the whole name, in order, and more than one expense word or first name
        # ("Office Properties Income Trust" yes; "Home Bancorp" in "internet for home office" no).
        significant = [k for k in range(len(words)) if words[k] not in _STOP and words[k] not in _LEGAL_WORDS]
        if not significant:  # an alias such as "SE" or "AG" (a ticker): only its exact text names it
            return 0.0, ""
        every_word = all(k in covered for k in significant)
        full = full or (bool(matched) and every_word)
        if len(qwords) > _LONG_TEXT:
            full = full and every_word  # a receipt must spell the whole name, "Labs" included
        spelled_out = tight and (
            (every_word and (len(significant) > 1 or not _weak(words[significant[0]]) or v.kind == "alias"))
            or (full and any(not _weak(words[k]) and words[k] not in GENERIC_WORDS for k in significant))
        )

        base = 0.0
        why = ""
        spans: list[tuple[int, int]] = []
        if matched:
            got = 0.0
            for a, b, _j, _j2, sim in matched:
                for k in range(a, b + 1):
                    w = weights[k] * sim
                    if _weak(words[k]) and not spelled_out:
                        w *= 0.3
                    got += w
            total = v.total
            if full:
                # "Coinbase" is the name Coinbase Global: left-out generic words count for little.
                total -= 0.7 * sum(weights[k] for k in range(len(words)) if k not in covered)
            base = got / total
            if v.kind == "contact" and not (full and tight):
                base = 0.0
            first = matched[0]
            if not full:
                # People shorten names to their first distinctive word(s): "Exxon", "JPMorgan",
                # "Net Lease" for Net Lease Office Properties.
                lead_end = first[1] if first[0] == 0 else -1
                for a, b, j, _j2, _sim in matched[1:]:
                    if lead_end < 0 or a != lead_end + 1 or j > matched[0][3] + (lead_end - first[1]) + 2:
                        break
                    lead_end = b
                lead = range(0, lead_end + 1)
                if any(not _weak(words[k]) and words[k] not in GENERIC_WORDS for k in lead):
                    lead_weight = sum(weights[k] for k in lead) * first[4]
                    # A typo in a shortened name is two guesses at once: the boost shrinks fast.
                    boost = 0.5 * min(1.0, lead_weight / 0.6) * first[4] ** 2
                    if lead_end == 0:
                        # One word is a short name only if few customers' names start with it.
                        boost /= math.sqrt(self._first_words.get(words[0], 1))
                    base += (1.0 - base) * boost
                base = min(base, 0.9 * first[4])
                if len(qwords) > _LONG_TEXT:
                    # In a whole receipt, part of a name is often an address or a product.
                    base *= 0.85
            if not every_word and len(matched) == 1 and first[0] == first[1] and first[2] == first[3]:
                # One word of the text for a longer name ("Bridge Power Company" for "bridge"):
                # ambiguous when many customers' names start with that word.
                share = 1.0 / math.sqrt(self._first_words.get(words[first[0]], 1))
                base *= 0.6 + 0.4 * share
            if len(matched) == 1 and first[4] < 1.0 and len(qwords[first[2]]) <= 6 and not bare:
                # Everything rests on one short misspelt word, and many everyday words are one
                # letter away from some name ("venue" is not "Avenue").
                base *= first[4]
            if not in_order:
                base *= 0.6  # "national park" is not Park National
            elif not tight:
                base *= 0.85
            if not every_word and all(len(words[a]) <= 2 and a == b for a, b, *_ in matched):
                base *= 0.6  # initials alone ("usb-c hub" is not C. H. Robinson)
            why = self._why(v, full, any(p[4] < 1.0 for p in matched))
            spans = [(j, j2) for (_a, _b, j, j2, _s) in matched]

        acronym_used = False
        if v.acronym and v.acronym in acronym_at:
            acr = 0.88 / math.sqrt(len(self._acronyms[v.acronym]))
            if acr > base:
                acronym_used = True
                base, why = acr, f"acronym '{v.acronym.upper()}' of {self._records[v.record].name}"
                j = acronym_at[v.acronym]
                spans = [(j, j)]
        if base <= 0.0:
            return 0.0, ""
        # How much of the mention the name explains: the matched words and two words either
        # side ("client dinner - INVESCO QQQ": "qqq" is unexplained by Invesco Ltd). The rest of
        # a sentence says nothing about which customer it is.
        used = {j for a, b in spans for j in range(a, b + 1)}
        lo, hi = max(0, min(used) - _MENTION_CONTEXT), max(used) + _MENTION_CONTEXT
        total_q = sum(qweights[lo : hi + 1])
        explained = sum(qweights[j] for j in used)
        if spelled_out and v.kind == "alias":
            # An alias written out in full ("T-Mobile") explains its words, common as they are.
            lifted = sum(max(qweights[j], 0.5) for j in used)
            total_q += lifted - explained
            explained = lifted
        qcov = min(1.0, explained / total_q) if total_q > 0 else 1.0
        score = 100.0 * base * (0.6 + 0.4 * qcov)
        # In a bare name, a name word right next to the mention that this customer does not
        # have ("Meridian Mining" is not Meridian Corp) points elsewhere. In a sentence the
        # neighbours are anything ("Acme procurement"), so they do not count.
        first_j, last_j = min(used), max(used)
        beside = (
            0.0
            if not bare
            else sum(
                self._weight.get(qwords[j], 0.1) if qwords[j] in GENERIC_WORDS else qweights[j]
                for j in (first_j - 1, last_j + 1)
                if 0 <= j < len(qname) and qname[j]
            )
        )
        if beside:
            score *= 1.0 - 0.25 * min(1.0, beside / 0.5)
        after = max(used) + 1
        if after < len(qwords) and qwords[after] in VENDOR_CONTEXT:
            score *= 0.6  # "Zoom subscription", "Figma seats": a supplier, not a customer
        if v.kind == "contact":
            score = min(score, 90.0)
        elif self._ordinary and not all(
            j in used or qwords[j] in _STOP or qwords[j] in _LEGAL_WORDS for j in range(len(qwords))
        ):
            # (A text that is nothing but the name, typed into a name field, is taken as a name.)
            # Evidence that is only everyday words ("power adapter", "the ops lead", "national
            # park") names nobody, unless several of them spell the name out in order.
            # A one-word alias is the CRM saying that word means this customer ("Square").
            distinctive = any(
                words[k] not in GENERIC_WORDS
                and (words[k] not in self._ordinary or (v.kind != "name" and len(words) == 1))
                and not _weak(words[k])
                and weights[k] >= _OPTIONAL
                for k in covered
            )
            spelled = sum(1 for k in covered if words[k] not in _STOP and words[k] not in _LEGAL_WORDS)
            if not distinctive and not (every_word and tight and spelled >= 2) and not acronym_used:
                score = min(score, ORDINARY_CAP)
            elif not acronym_used and v.kind == "name" and self._common and not (every_word and spelled >= 2):
                # One name word carries it all and it is also a common English word ("delta",
                # "premier"): the more common, the less it says.
                lone = [
                    words[k]
                    for k in covered
                    if words[k] not in GENERIC_WORDS and not _weak(words[k]) and weights[k] >= _OPTIONAL
                ]
                if len(lone) == 1 and lone[0] in self._common:
                    z = self._common[lone[0]]
                    span = ORDINARY_ZIPF - _COMMON_FROM_ZIPF
                    score *= 1.0 - (1.0 - _COMMON_FACTOR) * min(1.0, (z - _COMMON_FROM_ZIPF) / span)
                    if after < len(qwords) and qwords[after] in TRAVEL_CONTEXT:
                        score *= 0.6  # "premier inn", "delta flight": a travel supplier's brand
        return min(score, _BEST_INEXACT), why

    def _why(self, v: _Variant, full: bool, fuzzy: bool) -> str:
        customer = self._records[v.record].name
        how = "name" if full else "part of name"
        if fuzzy:
            how += " (with a typo)"
        if v.kind == "name":
            return f"{how} {customer}"
        if v.kind == "contact":
            return f"contact {v.label} of {customer}"
        kind = "short name" if v.kind == "short" else "alias"
        return f"{kind} '{v.label}' of {customer}"

    def _match_text(self, text: str, extra: list[tuple[list[str], int, str]]) -> dict[int, tuple[float, str]]:
        """Best score and reason per customer (record position) for one text."""
        out: dict[int, tuple[float, str]] = {}

        def offer(pos: int, score: float, why: str) -> None:
            if score > out.get(pos, (0.0, ""))[0]:
                out[pos] = (score, why)

        for dom in email_domains(text):
            reg = registrable_domain(dom)
            holders = self._domains.get(reg, [])
            for pos in holders:
                offer(pos, 96.0 / len(holders) ** 0.5, f"e-mail domain {reg} of {self._records[pos].name}")
            stem = domain_stem(reg)
            if not holders and reg not in FREE_MAIL_DOMAINS and stem not in tokens(normalise(text)):
                text = text + " " + stem

        if self._codes:
            self._match_codes(text, offer)
        words = tokens(normalise(text))
        if not words:
            return out
        for alias_words, pos, label in extra:
            if _contains(words, alias_words):
                offer(pos, 97.0, f"learned alias '{label}' of {self._records[pos].name}")

        stripped = " ".join(strip_legal_suffixes(words))
        for vid in self._exact.get(stripped, ()):
            v = self._variants[vid]
            if v.kind != "contact":
                offer(v.record, 100.0, f"exact {self._why(v, True, False)}")

        possessive = frozenset(fold(m.group(1)) + "s" for m in _POSSESSIVE.finditer(text))
        hits, qweights, qname = self._lookup(words, possessive)
        capitals = _capitals(text)
        acronym_at = {
            w: j for j, w in enumerate(words) if w in self._acronyms and not _weak(w) and w in capitals
        }
        if not hits and not acronym_at:
            return out
        # Candidates from the rarest keys first; very common keys only add to found candidates.
        postings = self._postings
        weight = self._weight
        keys = sorted(hits, key=lambda k: len(postings[k]))
        acc: dict[int, float] = {}
        for acr in acronym_at:
            for vid in self._acronyms[acr]:
                acc[vid] = acc.get(vid, 0.0) + 0.5
        variants = self._variants
        seeds = 0  # besides specific words, the two rarest distinctive words bring customers in
        for key in keys:
            plist = postings[key]
            gain = weight.get(key, 0.8) * max(h[2] for h in hits[key])
            weak = _weak(key)
            if weak:
                gain *= 0.3
            seeding = len(plist) <= _NEW_CANDIDATES_MAX
            if not seeding and seeds < 2 and not weak and len(plist) <= _SEED_MAX:
                seeding, seeds = True, seeds + 1
            if seeding:
                for vid in plist:
                    acc[vid] = acc.get(vid, 0.0) + gain
            elif len(acc) * 4 < len(plist):
                # A common word only strengthens customers found through rarer words.
                words_of = self._words_of
                for vid in acc:
                    if key in words_of[vid]:
                        acc[vid] += gain
            else:
                for vid in plist:
                    if vid in acc:
                        acc[vid] += gain
        if not acc and keys:
            for vid in postings[keys[0]][: _POSTINGS_CAP * 2]:
                acc[vid] = 0.1
        if len(acc) > _PRESELECT:
            heaviest = heapq.nlargest(_PRESELECT * 3, acc.items(), key=itemgetter(1))
            ranked = [(a * math.sqrt(min(1.0, a / variants[vid].total)), vid) for vid, a in heaviest]
            chosen: Iterable[int] = [vid for _r, vid in heapq.nlargest(_PRESELECT, ranked)]
        else:
            chosen = acc
        for vid in chosen:
            v = variants[vid]
            score, why = self._score_variant(v, hits, acronym_at, words, qweights, qname)
            if score > 0:
                offer(v.record, score, why)
        return out

    def _name_like(self, written: str) -> bool:
        """A word of the text that could continue a company's name (not a word of notes)."""
        word = fold(written).strip(".-&'’")
        return (
            len(word) >= 2
            and word.isalpha()
            and not _weak(word)
            and word not in _STOP
            and word not in self._codes
            and (word in self._weight or word in _LEGAL_WORDS)
        )

    def _match_codes(self, text: str, offer: Callable[[int, float, str], None]) -> None:
        """Tickers and other codes of the alias field written in the note."""
        shouting = not any(c.islower() for c in text)  # an all-capitals note says nothing by case
        found = list(_CODE_TOKEN.finditer(text))
        for i, m in enumerate(found):
            written = m.group(0).strip(".-&")
            key = code_key(written)
            holders = self._codes.get(key)
            if not holders:
                continue
            ordinary = _weak(key) or key in _STOP or key in _LEGAL_WORDS or key in GENERIC_WORDS
            capitals = not shouting and all(c.isupper() for c in written if c.isalpha())
            if capitals and len(key) >= 2:
                # "IT director", "the CFO", "EU plug": capitals, yet a word of notes. A given
                # name in capitals (VERA, NOAH) is a ticker: people write names Like This.
                notes_word = key in NOTE_WORDS or key in PLACES or key in _STOP or key in _LEGAL_WORDS
                base = 55.0 if notes_word or (ordinary and key not in FIRST_NAMES) else 93.0
            elif len(key) >= 2 and any(not c.isalnum() for c in written):
                base = 80.0  # "p&g", "at&t": no word is written like that
            elif (
                len(key) >= 3 and not ordinary and key not in self._weight and key not in self._english_codes
            ):
                base = 80.0  # "jpm": no word of notes or of any customer's name
            elif len(key) >= 2 and not ordinary and key not in self._english_codes:
                base = 70.0  # "adm" (also ADM Endeavors' first word), "gm": worth asking
            else:
                continue
            if base > 80.0 and any(
                self._name_like(found[k].group(0)) for k in (i - 1, i + 1) if 0 <= k < len(found)
            ):
                # Part of a longer name ("HP Enterprise", "OFS Credit", "Solana Trust (SOL)"):
                # that name, if some customer has it, says more than the ticker.
                base = 80.0
            score = base / math.sqrt(len(holders))
            exact = len(holders) == 1 and code_key(text) == key and (capitals or base >= 80.0)
            for pos in holders:
                offer(pos, 100.0 if exact else score, f"alias '{written}' of {self._records[pos].name}")

    # ------------------------------------------------------------------ public API

    def match(
        self,
        *texts: str,
        limit: int = 5,
        extra_aliases: Mapping[str, int] | None = None,
        prior: Collection[int] = (),
    ) -> MatchResult:
        """The customer mentioned in any of ``texts`` (note, receipt merchant, receipt text).

        ``extra_aliases`` maps learned aliases (corrections) to a customer id. ``prior`` holds
        the ids of customers the employee spent on lately: among candidates the text already
        points at (score from :data:`PRIOR_FROM`), those gain :data:`PRIOR_BONUS` ("dinner w/
        the Acme folks" is the Acme the employee works with). A customer named in several texts
        scores higher.
        """
        extra: list[tuple[list[str], int, str]] = []
        for alias, customer_id in (extra_aliases or {}).items():
            pos = self._by_id.get(customer_id)
            alias_words = tokens(normalise(alias))
            if pos is not None and alias_words:
                extra.append((alias_words, pos, alias))
        combined: dict[int, tuple[float, str]] = {}
        seen_in: dict[int, int] = {}
        for text in texts:
            if not text or not text.strip():
                continue
            for pos, (score, why) in self._match_text(text, extra).items():
                seen_in[pos] = seen_in.get(pos, 0) + 1
                if score > combined.get(pos, (0.0, ""))[0]:
                    combined[pos] = (score, why)
        ranked: list[Candidate] = []
        for pos, (score, why) in combined.items():
            if seen_in[pos] > 1:
                score = min(100.0, score + 5.0 * (seen_in[pos] - 1))
                why += f" (in {seen_in[pos]} texts)"
            rec = self._records[pos]
            if rec.id in prior and PRIOR_FROM <= score < 100.0:
                score = min(_BEST_INEXACT, score + PRIOR_BONUS)
                why += " (one of your recent customers)"
            ranked.append(Candidate(rec.id, rec.name, round(score, 1), why))
        ranked.sort(key=lambda c: (-c.score, len(c.name), c.id))
        top = tuple(ranked[: max(limit, 1)])
        query = " | ".join(t for t in texts if t)
        if not top or top[0].score < NONE_BELOW:
            best = top[0] if top else None
            reason = "no customer named" + (f" (closest: {best.name}, {best.score:.0f})" if best else "")
            return MatchResult(query, None, best.score if best else 0.0, reason, top, False)
        best = top[0]
        runner_up = top[1].score if len(top) > 1 else 0.0
        confident = best.score >= CONFIDENT_FROM and best.score - runner_up >= CONFIDENT_LEAD
        return MatchResult(query, best, best.score, best.reason, top, confident)

    def search(self, prefix_or_text: str, limit: int = 20) -> list[Candidate]:
        """Customers for a picker: names starting with the text first, then names containing its
        words (the last word may be unfinished), then close matches."""
        words = tokens(normalise(prefix_or_text))
        records = self._records
        results: dict[int, tuple[float, str]] = {}

        def offer(pos: int, score: float, why: str) -> None:
            if score > results.get(pos, (0.0, ""))[0]:
                results[pos] = (score, why)

        if not words:
            for _joined, vid in self._sorted_names[:limit]:
                offer(self._variants[vid].record, 50.0, "listed")
        else:
            text = " ".join(words)
            start = bisect_left(self._sorted_names, (text, -1))
            for joined, vid in self._sorted_names[start : start + limit * 3]:
                if not joined.startswith(text):
                    break
                v = self._variants[vid]
                offer(
                    v.record,
                    100.0 if joined == text else 95.0 - min(len(joined) - len(text), 30) / 6,
                    "starts with",
                )
            if len(results) < limit:
                *complete, last = words
                sets: list[set[int]] = []
                for w in complete:
                    sets.append(set(self._postings.get(w, ())))
                prefix_vids: set[int] = set()
                k = bisect_left(self._sorted_words, last)
                for word in self._sorted_words[k : k + 200]:
                    if not word.startswith(last):
                        break
                    prefix_vids.update(self._postings[word][:2000])
                sets.append(prefix_vids)
                common = set.intersection(*sets) if sets else set()
                for vid in sorted(common)[: limit * 20]:
                    v = self._variants[vid]
                    if v.kind == "contact":
                        continue
                    offer(v.record, 80.0 - min(len(v.words), 10), "contains")
            if len(results) < limit:
                result = self.match(prefix_or_text, limit=limit)
                for cand in result.candidates:
                    offer(self._by_id[cand.id], min(cand.score, 70.0), cand.reason)
        ordered = sorted(results.items(), key=lambda kv: (-kv[1][0], records[kv[0]].name.casefold()))
        return [
            Candidate(records[p].id, records[p].name, round(s, 1), why) for p, (s, why) in ordered[:limit]
        ]


def _better(
    cand: tuple[int, int, int, int, float], best: tuple[int, int, int, int, float], last_end: int
) -> bool:
    """Prefer a higher similarity, then a text position right after the previous match."""
    if cand[4] != best[4]:
        return cand[4] > best[4]
    cand_after = cand[2] > last_end
    best_after = best[2] > last_end
    if cand_after != best_after:
        return cand_after
    return cand[2] < best[2]


def _capitals(text: str) -> frozenset[str]:
    """Words written in capitals (``IBM``), lower-cased; none when the whole text is capitals."""
    if not any(c.islower() for c in text):
        return frozenset()
    found = set()
    for m in _CODE_TOKEN.finditer(text):
        word = m.group(0)
        if len(word) >= 2 and word.isupper():
            found.add(code_key(word))
    return frozenset(found)


def _contains(words: list[str], needle: list[str]) -> bool:
    size = len(needle)
    return any(words[i : i + size] == needle for i in range(len(words) - size + 1))
