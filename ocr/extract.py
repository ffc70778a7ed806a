"""From lines of text to receipt facts: total, subtotal, tax, date, currency, merchant.

Layout matters: a total is the amount printed on the same line as a total label (or just below it),
checked against the other amounts on the receipt (subtotal + tax, cash - change).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz

from ocr import candidates, ranker, rules
from ocr.fields import DateMatch, find_amounts, find_currency_marks, find_dates, followed_by_time
from ocr.layout import text_lines
from ocr.model import KnownMerchant, Line, ReceiptHint
from ocr.spacing import respace
from ocr.text import clean_name as _clean_name
from ocr.text import label_weight as _label_weight
from ocr.text import normalise
from workflows.money import ABSURD_AMOUNT, CURRENCIES, minor_units

_TOLERANCE = Decimal("0.05")  # cash rounding to 5 cents is common


@dataclass(frozen=True)
class Extracted:
    merchant: str | None = None
    date: datetime.date | None = None
    total: Decimal | None = None
    currency: str | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    confidence: dict[str, float] = field(default_factory=dict)
    header_text: str = ""
    tax_rate: Decimal | None = None  # percent, as printed on the tax line ("GST 6%")
    items: tuple[tuple[str, Decimal], ...] = ()  # the item lines, when they add up to the subtotal


def _as_lines(lines: Sequence[str] | Sequence[Line]) -> list[Line]:
    if all(isinstance(line, Line) for line in lines):
        return [line for line in lines if isinstance(line, Line)]
    return text_lines([line.text if isinstance(line, Line) else line for line in lines])


def month_first_of(currency: str | None, hint: ReceiptHint | None = None) -> bool | None:
    """Whether numeric dates are likely month first: by the country of the currency printed on
    the receipt, else the hint's country, else the hint's currency; None when nothing says."""
    hint = hint or ReceiptHint()
    country = rules.CURRENCY_COUNTRY.get(currency.upper()) if currency else None
    if country is None:
        country = (hint.country or "").upper() or None
    if country is None and hint.currency:
        country = rules.CURRENCY_COUNTRY.get(hint.currency.upper())
    if country is None:
        return None
    return country in rules.MONTH_FIRST_COUNTRIES


def field_candidates(
    lines: Sequence[Line], hint: ReceiptHint | None = None
) -> dict[str, list[candidates.Candidate]]:
    """Every field's candidates with their features: what the ranking models score (and train on)."""
    doc = candidates.make_doc(lines)
    currency, confidence = extract_currency(list(doc.texts), hint)
    decimals = minor_units(currency) if currency else 2
    printed = currency if confidence > HINTED_CURRENCY_CONFIDENCE else None
    lower_case = frozenset(i for i, line in enumerate(doc.lines) if _lower_case_only(line.text))
    return {
        "total": candidates.total_candidates(doc, decimals),
        "date": candidates.date_candidates(doc, month_first_of(printed, hint)),
        "merchant": candidates.merchant_candidates(doc, lower_case),
    }


def extract(
    lines: Sequence[str] | Sequence[Line], hint: ReceiptHint | None = None, match_threshold: float = 88.0
) -> Extracted:
    """Receipt facts from its printed lines (with their boxes, or plain text).

    Total, date and merchant are chosen among candidates by the trained models shipped with the
    package (``ocr.ranker``), with calibrated confidences; currency, subtotal and tax come from the
    rules tables. Without a shipped model, the rules choose every field.
    """
    hint = hint or ReceiptHint()
    positioned = _as_lines(lines)
    texts = [line.text for line in positioned]
    ruled = _extract_by_rules(texts, hint, match_threshold)
    model = ranker.shipped_model()
    if model is None:
        return ruled
    found = field_candidates(positioned, hint)
    choices = {name: model.fields[name].choose(found[name]) for name in ranker.RANKED_FIELDS}
    total = choices["total"].value if isinstance(choices["total"].value, Decimal) else None
    date = choices["date"].value if isinstance(choices["date"].value, datetime.date) else None
    merchant = respace(str(choices["merchant"].value)) if choices["merchant"].value is not None else None
    confidence = dict(ruled.confidence)
    confidence.update(
        total=choices["total"].confidence,
        date=choices["date"].confidence,
        merchant=choices["merchant"].confidence,
    )
    learned = known_merchant(ruled.header_text, hint.known_merchants, match_threshold)
    if learned is not None:  # a header a person corrected before
        merchant, confidence["merchant"] = learned
    if total is None:
        confidence["currency"] = min(confidence.get("currency", 0.0), 0.5)
    return Extracted(
        merchant=merchant,
        date=date,
        total=total,
        currency=ruled.currency,
        subtotal=ruled.subtotal,
        tax=ruled.tax,
        confidence=confidence,
        header_text=ruled.header_text,
        tax_rate=ruled.tax_rate,
        items=extract_items(
            texts, minor_units(ruled.currency) if ruled.currency else 2, ruled.subtotal, total
        ),
    )


def _extract_by_rules(lines: Sequence[str], hint: ReceiptHint, match_threshold: float) -> Extracted:
    pairs = [(normalise(line), _lower_case_only(line)) for line in lines]
    pairs = [pair for pair in pairs if pair[0]]
    upper = [text for text, _ in pairs]
    lower_case = frozenset(i for i, (_, lower) in enumerate(pairs) if lower)
    currency, currency_conf = extract_currency(upper, hint)
    decimals = minor_units(currency) if currency else 2
    total = extract_total(upper, decimals)
    # a currency printed on the receipt (not only the hint's) says where it was printed
    date, date_conf = extract_date(
        upper, hint, currency if currency_conf > HINTED_CURRENCY_CONFIDENCE else None
    )
    merchant, merchant_conf, header = extract_merchant(
        upper, hint.known_merchants, match_threshold, lower_case=lower_case
    )
    if total.total is None:
        currency_conf = min(currency_conf, 0.5)
    return Extracted(
        merchant=merchant,
        date=date,
        total=total.total,
        currency=currency,
        subtotal=total.subtotal,
        tax=total.tax,
        tax_rate=extract_tax_rate(upper),
        items=extract_items(lines, decimals, total.subtotal, total.total),
        confidence={
            "merchant": merchant_conf,
            "date": date_conf,
            "total": total.confidence,
            "currency": currency_conf,
        },
        header_text=header,
    )


# ------------------------------------------------------------------------------------------ total


@dataclass(frozen=True)
class TotalResult:
    total: Decimal | None
    subtotal: Decimal | None
    tax: Decimal | None
    confidence: float


def _matches(line: str, patterns: Sequence[re.Pattern[str]]) -> bool:
    return any(p.search(line) for p in patterns)


def _last_amount(line: str, decimals: int) -> Decimal | None:
    amounts = [a for a in find_amounts(line, decimals) if Decimal(0) <= a.value < ABSURD_AMOUNT]
    return amounts[-1].value if amounts else None


def extract_total(lines: Sequence[str], decimals: int = 2) -> TotalResult:
    """The amount paid, with subtotal and tax when printed, and a confidence 0..1."""
    per_line = [
        [a.value for a in find_amounts(line, decimals) if abs(a.value) < ABSURD_AMOUNT] for line in lines
    ]
    has_label = [_label_weight(line) for line in lines]
    is_other = [
        _matches(line, rules.TENDER_LABELS)
        or _matches(line, rules.CHANGE_LABELS)
        or _matches(line, rules.ROUNDING_LABELS)
        or _matches(line, rules.TAX_LABELS)
        or _matches(line, rules.SUBTOTAL_LABELS)
        for line in lines
    ]

    subtotal = tax = None
    tenders: list[Decimal] = []
    changes: list[Decimal] = []
    for line, amounts in zip(lines, per_line, strict=True):
        if not amounts:
            continue
        if subtotal is None and _matches(line, rules.SUBTOTAL_LABELS):
            subtotal = amounts[-1]
        elif _matches(line, rules.CHANGE_LABELS):
            changes.append(amounts[-1])
        elif _matches(line, rules.TENDER_LABELS):
            tenders.append(amounts[-1])
        elif (
            _matches(line, rules.TAX_LABELS)
            and has_label[lines.index(line)] < 9
            and (tax is None or amounts[-1] != 0)
        ):
            # the last tax line is usually the tax total; a zero rate's line in a summary is not
            tax = amounts[-1]

    scores: dict[Decimal, float] = {}
    first_line: dict[Decimal, int] = {}
    for i, weight in enumerate(has_label):
        if weight == 0:
            continue
        amounts = [a for a in per_line[i] if a > 0]
        score = weight
        if not amounts and weight >= 7:
            # the amount is often printed on the line below the label
            for j in (i + 1, i + 2):
                if j < len(lines) and per_line[j] and has_label[j] == 0 and not is_other[j]:
                    amounts = [a for a in per_line[j] if a > 0]
                    score = weight - 1.5 - (j - i - 1)
                    break
        if not amounts:
            continue
        value = amounts[-1]
        first_line.setdefault(value, i)
        # later labels of the same strength win: a total after rounding follows the one before it
        scores[value] = max(scores.get(value, 0.0), score) + 0.3 + 0.01 * i / max(len(lines), 1)

    # amounts implied by the other lines: tendered minus change, a labelled total plus its rounding
    implied: set[Decimal] = {t - c for t in tenders for c in changes if c >= 0 and t - c > 0}
    roundings = [
        (k, per_line[k][-1])
        for k, line in enumerate(lines)
        if per_line[k]
        and _matches(line, rules.ROUNDING_LABELS)
        and has_label[k] == 0
        and per_line[k][-1] != 0
        and abs(per_line[k][-1]) < 1
    ]
    labelled = dict(first_line)
    for k, r in roundings:
        below = {a for j in range(k + 1, min(k + 4, len(lines))) if not is_other[j] for a in per_line[j]}
        for value, i in labelled.items():
            if i < k and value + r > 0:
                after = value + r
                implied.add(after)
                if after not in scores:
                    scores[after] = scores[value] - 0.5 + (1.5 if after in below else 0.0)
                    first_line[after] = k
                elif labelled.get(after, -1) > k:
                    # the total after a rounding adjustment is what was paid
                    scores[after] += 2.5
    # totals no label shows (misread labels, misread digits) but the other lines add up to
    rounding_sum = sum((r for _, r in roundings), Decimal(0))
    sums = set()
    if subtotal is not None and tax is not None and subtotal + tax + rounding_sum > 0:
        sums.add(subtotal + tax + rounding_sum)
    for value in (implied | sums) - set(scores):
        if value in sums and value in implied:
            scores[value] = 6.0
        elif not labelled:
            scores[value] = 3.0
    all_amounts = [a for i, amounts in enumerate(per_line) for a in amounts if a > 0 and not is_other[i]]
    for value in list(scores):
        if subtotal is not None and tax is not None:
            gap = abs(subtotal + tax + sum((r for _, r in roundings), Decimal(0)) - value)
            if gap <= Decimal("0.01"):
                scores[value] += 3.0
            elif abs(subtotal + tax - value) <= _TOLERANCE:
                scores[value] += 0.3
        paid = [t - c for t in tenders for c in changes if c >= 0]
        if value in paid:
            scores[value] += 3.5  # what was handed over less the change
        elif any(abs(p - value) <= _TOLERANCE for p in paid):
            scores[value] += 0.3  # within cash rounding of it
        elif value in tenders:
            scores[value] += 1.0
        if all_amounts and value >= max(all_amounts) - Decimal("0.10"):
            scores[value] += 1.0
    if not scores and all_amounts:
        scores[max(all_amounts)] = 1.5  # no label and nothing adds up: the largest amount
    if not scores:
        return TotalResult(None, subtotal, tax, 0.0)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0]
    margin = best_score - ranked[1][1] if len(ranked) > 1 else 3.0
    confidence = min(1.0, 0.35 + best_score / 20 + min(margin, 3.0) / 10)
    return TotalResult(best, subtotal, tax, round(confidence, 2))


# ------------------------------------------------------------------------------- tax rate, items

_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")
MAX_ITEMS = 80
_ITEM_TAIL = frozenset({"S", "SR", "Z", "ZR", "E", "T", "N", "A", "B", "RM", "$", "€", "£", "¥"})
_LETTERS = re.compile(r"[^\W\d_]")


def extract_tax_rate(lines: Sequence[str]) -> Decimal | None:
    """The tax rate printed on the receipt's tax lines ("GST 6%", "MWST 19 %", "VAT @20.0%"), in
    percent; None when none is printed, or several (7% and 19% on one German receipt)."""
    rates: set[Decimal] = set()
    for line in lines:
        if _matches(line, rules.TAX_LABELS) and _label_weight(line) < 9:
            for found in _RATE.findall(line):
                rate = Decimal(found.replace(",", "."))
                if 0 < rate < 100:
                    rates.add(rate.normalize())
    return rates.pop() if len(rates) == 1 else None


def extract_items(
    lines: Sequence[str], decimals: int, subtotal: Decimal | None, total: Decimal | None
) -> tuple[tuple[str, Decimal], ...]:
    """The item lines (text, amount) above the subtotal (or the total), kept only when they add up
    to it exactly: the priced lines just above it whose last amounts sum to the subtotal, or to the
    total when no subtotal is printed. Nothing when no such run of lines exists."""
    target = subtotal if subtotal is not None else total
    if target is None or target <= 0:
        return ()
    priced: list[tuple[str, Decimal]] = []
    for raw in lines:
        line = normalise(raw)
        if not line:
            continue
        if (
            _label_weight(line) > 0
            or _matches(line, rules.SUBTOTAL_LABELS)
            or _matches(line, rules.TAX_LABELS)
        ):
            if priced:
                break  # the items end at the first subtotal, tax or total line
            continue
        if _matches(line, rules.TENDER_LABELS) or _matches(line, rules.CHANGE_LABELS):
            continue
        amounts = [a for a in find_amounts(raw, decimals) if 0 < a.value < ABSURD_AMOUNT]
        if not amounts:
            continue
        last = amounts[-1]
        words = (raw[: last.start] + " " + raw[last.end :]).split()
        while words and words[-1].upper().strip(".:") in _ITEM_TAIL:
            words.pop()  # a tax code or currency after the amount: "11.60 S", "RM S"
        text = " ".join(words).strip(" :-=@*")
        if len(_LETTERS.findall(text)) < 2:
            continue  # no description: a quantity or sub-amount line, not an item
        priced.append((text, last.value))
    running = Decimal(0)
    for start in range(len(priced) - 1, max(-1, len(priced) - 1 - MAX_ITEMS), -1):
        running += priced[start][1]
        if running == target:
            return tuple(priced[start:])
        if running > target:
            break
    return ()


# ------------------------------------------------------------------------------------------- date


def _preferred_orders(hint: ReceiptHint, currency: str | None) -> tuple[str, ...]:
    """Date orders, most likely first: by the country of the currency printed on the receipt (a
    USD receipt of a trip to New York is month-first whatever the employee's country), else by
    the hint's country, else by the hint's currency."""
    country = rules.CURRENCY_COUNTRY.get(currency.upper()) if currency else None
    if country is None:
        country = (hint.country or "").upper() or None
    if country is None and hint.currency:
        country = rules.CURRENCY_COUNTRY.get(hint.currency.upper())
    if country in rules.MONTH_FIRST_COUNTRIES:
        return ("name", "mdy", "ymd", "dmy")
    if country in {"CN", "JP", "KR", "TW", "HU", "LT", "MN"}:
        return ("name", "ymd", "dmy", "mdy")
    return ("name", "dmy", "ymd", "mdy")


def extract_date(
    lines: Sequence[str], hint: ReceiptHint | None = None, currency: str | None = None
) -> tuple[datetime.date | None, float]:
    """The receipt's date. Day-first or month-first is decided by the evidence on the receipt
    (an unambiguous date elsewhere), then by ``currency`` (read on the receipt), then by the hint's
    country or currency."""
    hint = hint or ReceiptHint()
    today = datetime.date.today()
    earliest = datetime.date(1990, 1, 1)
    latest = today + datetime.timedelta(days=366)
    found: list[tuple[int, str, DateMatch]] = []
    for i, line in enumerate(lines):
        for match in find_dates(line):
            found.append((i, line, match))
    if not found:
        return None, 0.0

    orders = list(_preferred_orders(hint, currency))
    # evidence: a numeric date that reads only one way settles the order for the whole receipt
    votes: dict[str, int] = {}
    for _, _, match in found:
        plausible = {o for o, d in match.readings if earliest <= d <= latest}
        if len(plausible) == 1:
            (order,) = plausible
            votes[order] = votes.get(order, 0) + 1
    if votes:
        winner = max(votes, key=lambda o: votes[o])
        if winner in orders:
            orders.remove(winner)
            orders.insert(0, winner)

    best: tuple[float, datetime.date] | None = None
    for i, line, match in found:
        readings = [(o, d) for o, d in match.readings if earliest <= d <= latest]
        if not readings:
            continue
        readings.sort(key=lambda r: orders.index(r[0]) if r[0] in orders else len(orders))
        order, value = readings[0]
        score = 1.0
        if _matches(line, rules.DATE_LABELS):
            score += 1.0
        if _matches(line, rules.NOT_RECEIPT_DATE_LABELS):
            score -= 1.5
        if followed_by_time(line, match.end):
            score += 0.8
        if match.ambiguous and not votes:
            score -= 0.2
        score -= 0.002 * i  # earlier on the receipt is more likely the transaction date
        if best is None or score > best[0]:
            best = (score, value)
    if best is None:
        return None, 0.0
    return best[1], round(max(0.1, min(1.0, 0.55 + best[0] * 0.2)), 2)


# --------------------------------------------------------------------------------------- currency


def _country_cues(lines: Sequence[str]) -> dict[str, int]:
    """How many lines point to each country (see ``rules.COUNTRY_CUES``)."""
    counts: dict[str, int] = {}
    for line in lines:
        for pattern, country in rules.COUNTRY_CUES:
            if pattern.search(line):
                counts[country] = counts.get(country, 0) + 1
    return counts


def _country_from_text(lines: Sequence[str]) -> str | None:
    counts = _country_cues(lines)
    return max(counts, key=lambda c: counts[c]) if counts else None


HINTED_CURRENCY_CONFIDENCE = 0.5  # the confidence of a currency taken from the hint, not the receipt


def extract_currency(lines: Sequence[str], hint: ReceiptHint | None = None) -> tuple[str | None, float]:
    """The currency from printed signs and codes next to amounts, else from the country the text
    points to, else from currency words standing alone, else the hint's currency."""
    hint = hint or ReceiptHint()
    hinted = hint.currency.upper() if hint.currency and hint.currency.upper() in CURRENCIES else None
    country = (hint.country or "").upper() or None
    counts: dict[str, int] = {}
    loose: dict[str, int] = {}  # currency words not next to an amount
    mixed = False  # "$" signs read as the local currency: right, but not beyond doubt
    dollar = yen = 0
    for line in lines:
        for mark in find_currency_marks(line):
            tally = counts if mark.attached else loose
            tally[mark.code] = tally.get(mark.code, 0) + 1
        dollar += len(re.findall(r"(?<![A-Z])\$", line))
        yen += line.count(rules.YEN_SIGN)
    cues = _country_cues(lines)
    text_country = max(cues, key=lambda c: cues[c]) if cues else None
    local = rules.COUNTRY_CURRENCY.get(text_country or "")
    dollar_country = any(rules.COUNTRY_CURRENCY.get(c) in rules.DOLLAR_CURRENCIES for c in cues)
    if dollar and local is not None and local not in rules.DOLLAR_CURRENCIES and not dollar_country:
        # a lone "$" on a German receipt is a misread S; Malaysian tills print "$" for ringgit:
        # with text pointing to a country without a dollar and none to one with it, "$" is theirs
        counts[local] = counts.get(local, 0) + dollar
        dollar = 0
        mixed = True
    dollar_code = None
    if dollar:
        code = (
            hinted
            if hinted in rules.DOLLAR_CURRENCIES
            else rules.COUNTRY_CURRENCY.get(country or text_country or "US", "USD")
        )
        if code not in rules.DOLLAR_CURRENCIES:
            code = "USD"
        counts[code] = counts.get(code, 0) + dollar
        # "$" alone names no country: sure only when the text or the hint says which dollar
        dollar_code = code if code not in (hinted, rules.COUNTRY_CURRENCY.get(text_country or "")) else None
    if yen:
        # the yen sign is both JPY and CNY: kana mean Japan; yen has no minor unit, yuan has two
        kana = any(re.search(r"[\u3040-\u30ff]", line) for line in lines)
        cents = any(re.search(r"¥\s?\d[\d,]*\.\d{2}\b", line) for line in lines)
        if hinted in {"CNY", "JPY"}:
            code = hinted
        elif country in {"CN", "JP"}:
            code = rules.COUNTRY_CURRENCY[country]
        else:
            code = "CNY" if cents and not kana else "JPY"
        counts[code] = counts.get(code, 0) + yen
    if counts:
        code = max(counts, key=lambda c: (counts[c], c == hinted))
        if code == dollar_code or (mixed and code == local):
            return code, 0.85
        return code, 0.95 if counts[code] >= 2 or code == hinted else 0.85
    if text_country and text_country in rules.COUNTRY_CURRENCY:
        code = rules.COUNTRY_CURRENCY[text_country]
        return code, 0.8 if code == hinted or hinted is None else 0.6
    if loose:
        code = max(loose, key=lambda c: (loose[c], c == hinted))
        return code, 0.8 if code == hinted else 0.6
    if hinted:
        return hinted, HINTED_CURRENCY_CONFIDENCE
    if country and country in rules.COUNTRY_CURRENCY:
        return rules.COUNTRY_CURRENCY[country], HINTED_CURRENCY_CONFIDENCE - 0.05
    return None, 0.0


# --------------------------------------------------------------------------------------- merchant

HEADER_LINES = 6


def merchant_key(text: str) -> str:
    """A merchant name or header for comparison: upper case, punctuation and spacing collapsed."""
    text = normalise(text)
    text = re.sub(r"[^\w]+|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _is_noise(line: str) -> bool:
    return any(p.search(line) for p in rules.HEADER_NOISE)


def _lower_case_only(line: str) -> bool:
    """A line written in small letters only ("tan woon yann"): a hand-written note or a person's
    name, not the shop's printed name."""
    return any(ch.isalpha() for ch in line) and line == line.lower() and line != line.upper()


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def header_of(lines: Sequence[str]) -> str:
    """The receipt's top lines (up to the first date or amount): what learned merchants are keyed by."""
    top: list[str] = []
    for line in lines:
        if len(top) >= 12 or (top and (find_dates(line) or find_amounts(line))):
            break
        top.append(line)
    return "\n".join(top[:HEADER_LINES])


def known_merchant(
    header: str, known: Sequence[KnownMerchant], threshold: float = 88.0
) -> tuple[str, float] | None:
    """The name a person gave a receipt with this header before, and how sure that is."""
    if not known or not header:
        return None
    key = merchant_key(header)
    best_score, best_name = 0.0, ""
    for item in known:
        score = fuzz.ratio(key, merchant_key(item.header_text))
        if score > best_score:
            best_score, best_name = score, item.merchant
    if best_score < threshold:
        return None
    return best_name, round(min(1.0, 0.7 + best_score / 400), 2)


def extract_merchant(
    lines: Sequence[str],
    known: Sequence[KnownMerchant] = (),
    threshold: float = 88.0,
    *,
    lower_case: frozenset[int] = frozenset(),
) -> tuple[str | None, float, str]:
    """The merchant's name from the header lines, and the header text used to learn merchants.

    A header that resembles one corrected before gives the corrected name. ``lower_case`` holds the
    indices of lines printed in small letters only, which are passed over when another line will do.
    """
    # the header ends where the first date or amount appears
    top: list[str] = []
    for line in lines:
        if len(top) >= 12 or (top and (find_dates(line) or find_amounts(line))):
            break
        top.append(line)
    header = "\n".join(top[:HEADER_LINES])
    learned = known_merchant(header, known, threshold)
    if learned is not None:
        return learned[0], learned[1], header

    cleaned = [(i, _clean_name(line)) for i, line in enumerate(top)]
    candidates = [(i, name) for i, name in cleaned if _letters(name) >= 3 and not _is_noise(name)]
    if any(i not in lower_case for i, _ in candidates):
        candidates = [(i, name) for i, name in candidates if i not in lower_case]
    if not candidates:
        return None, 0.0, header
    names = dict(candidates)
    first = candidates[0][0]
    for tier, conf in ((rules.LEGAL_FORMS, 0.85), (rules.BUSINESS_WORDS, 0.8)):
        for i, name in candidates:
            if i < HEADER_LINES and tier.search(name):
                return _join_name_lines(names, i), conf if i == first else conf - 0.1, header
    i, name = candidates[0]
    ratio = _letters(name) / max(len(name.replace(" ", "")), 1)
    return _join_name_lines(names, i), round(0.4 + 0.3 * ratio - 0.03 * i, 2), header


def _only_suffixes(name: str) -> bool:
    """True for lines such as "SDN BHD" or "CO. (M) SDN BHD": a company form without a name."""
    rest = rules.COMPANY_SUFFIXES.sub(" ", name)
    rest = re.sub(r"\(\s*[A-Z]\s*\)|\b[A-Z]\b|[^\w]", " ", rest)
    return not rest.strip()


def _continues(upper: str, lower: str, downward: bool = False) -> bool:
    """Whether ``lower`` carries on the name begun on the line ``upper`` (``downward``: when
    ``upper`` is the name's line, not ``lower``)."""
    if downward and rules.NAME_CONTINUATION_TAIL.search(lower) and not re.search(r"\d", lower):
        return True
    return bool(
        _only_suffixes(lower)
        or rules.NAME_ENDINGS.search(lower)
        or re.search(r"(&|\bAND|-|,)$", upper)
        or upper.count("(") > upper.count(")")
        or lower.count(")") > lower.count("(")
    )


def _join_name_lines(names: dict[int, str], i: int) -> str:
    """A name printed over several lines: "POPULAR BOOK" + "CO. (M) SDN BHD", "HARDWARE &" +
    "ELECTRICAL", "AIK HUAT HARDWARE" + "ENTERPRISE (SETIA" + "ALAM) SDN BHD"."""
    top = bottom = i
    while top - 1 in names and top - bottom < 2 and _continues(names[top - 1], names[top]):
        top -= 1
    while (
        bottom + 1 in names
        and bottom - top < 2
        and _continues(names[bottom], names[bottom + 1], downward=True)
    ):
        bottom += 1
    return " ".join(names[k] for k in range(top, bottom + 1))
