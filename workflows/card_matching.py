"""Statement lines matched to receipts (card charges) and to payout transfers (the company account).

Pure and explainable: every decision carries a 0..1 score and a reason for people.

Card charge ↔ receipt (an expense of the card holder that is not discarded, drafts included):

* **Amount** — the same currency and the same amount (1.0); the charge's original amount and
  currency as the statement prints them equal to the receipt's (1.0); another currency
  converted with the day's reference rate within :data:`FX_TOLERANCE` (5 %, what card issuers'
  rates and foreign-transaction fees add; 1.0 falling to 0.8 at the edge); a charge
  :data:`TIP_MIN` (5 %) to :data:`TIP_TOLERANCE` (30 %) above the receipt, i.e. a tip added
  after the receipt was printed (the signed copy's total is charged), is *tip-shaped* (0.85) when
  the merchant is alike (at least :data:`TIP_MERCHANT_MIN`), else 0.55; less than 5 % above is a
  surcharge or a misread total (0.55: offered, never linked). A tip-shaped amount is evidence of
  a weaker kind than the very amount: it is no rival to an exact pairing of either side.
* **Date** — the charge is booked from :data:`DAYS_BEFORE` days before to :data:`DAYS_AFTER`
  days after the receipt's date (1.0 for 0..3 days after, less further away); up to
  :data:`LATE_DAYS` after (a hotel or car rental charged at check-out) only with the very
  amount and a merchant alike.
* **Merchant** — the descriptor with processor prefixes (``SQ *``, ``TST*``, ``PAYPAL *``),
  store numbers (also glued on: ``FEDEX OFFIC8690``), phone numbers and the trailing state code
  removed, compared word by word with the receipt's merchant (rapidfuzz token-set and partial
  ratios; apostrophes dropped on both sides); a descriptor opening with the merchant's initials
  (``TFL TRAVEL`` for Transport for London) counts as alike (0.85; 0.7 for two letters).
* **Card** — last four digits printed on the receipt equal to the card's add confidence; other
  digits rule the receipt out.

The score is ``0.5 amount + 0.25 date + 0.25 merchant`` (+0.05 for the card digits). A charge is
**matched** when its best receipt has an exact (or FX-tolerant) amount, a date in the window,
and either scores at least :data:`MATCH_AT` with a merchant at least half alike, or is the one
candidate pair and scores at least :data:`MATCH_ALONE_AT`; and no other free pairing of either
side comes within :data:`MARGIN` (a rival whose own other side has a clearly better pairing
does not count: yesterday's coffee receipt belongs to yesterday's charge); **suggested** (offered to the employee) when the best pairing scores at least
:data:`SUGGEST_AT`; otherwise **missing_receipt** when the policy requires a receipt for the
amount, else **unmatched**. Pairs are taken best first, so one receipt is never linked to two
charges (a duplicate charge is offered, not linked). A refund (money in on a card) is matched
to the receipt it refunds: the same card holder, a similar merchant, at most the receipt's
amount, up to :data:`REFUND_DAYS` later. The same charge taken twice (card, day, amount and
descriptor repeated) does not compete for its receipt: the first is linked, the second is left
without one and says it looks like a duplicate to dispute with the card issuer.

Outgoing transfer of the company account ↔ payout item (one employee's transfer in a payout
batch): the SEPA end-to-end id of the product's pain.001 export (in the line's reference or its
text) with the same amount → **reconciled**; otherwise the same amount and currency with the
payee's IBAN, or a similar name, → reconciled; the same amount alone → suggested. A single
debit of a whole batch (the file's ``EXPENSEBOT-BATCH-N`` id, or exactly one open batch with
that total) reconciles every item of it.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from rapidfuzz import fuzz

from workflows.fx import RateLookup
from workflows.money import Money

FX_TOLERANCE = Decimal("0.05")
TIP_TOLERANCE = Decimal("0.30")
TIP_MIN = Decimal("0.05")  # below 5 % a difference is a misread total or a surcharge, not a tip
TIP_MERCHANT_MIN = 0.8  # a tip-shaped amount identifies nothing by itself: the merchant must
DAYS_BEFORE = 2  # a charge booked up to 2 days before the receipt's date (pre-authorised)
DAYS_AFTER = 7  # ... and up to a week after (weekends, pre-authorisations)
LATE_DAYS = 10  # a hotel or car rental charged at check-out: exact amount and merchant only
REFUND_DAYS = 120
MATCH_AT = 0.80
MATCH_ALONE_AT = 0.75
SUGGEST_AT = 0.55
MARGIN = 0.10
MERCHANT_MATCH_MIN = 0.5

MATCHED = "matched"
SUGGESTED = "suggested"
MISSING_RECEIPT = "missing_receipt"
RECONCILED = "reconciled"
UNMATCHED = "unmatched"
NO_RECEIPT = "no_receipt"  # the card holder (or finance) said there is none, with a reason; kept
STATUSES = (MATCHED, SUGGESTED, MISSING_RECEIPT, RECONCILED, UNMATCHED, NO_RECEIPT)
FINAL = frozenset({MATCHED, RECONCILED})


@dataclass(frozen=True)
class Line:
    """A stored statement line, with who it belongs to and what it was linked to before."""

    id: int
    booked_on: date
    amount: Decimal  # signed: negative is money out
    currency: str
    description: str
    card_last4: str | None = None
    employee: str | None = None  # the card holder's email
    is_card: bool = False  # a card's line: matched to receipts only
    is_bank: bool = False  # the company account's line: matched to payouts only (neither: both tried)
    original_amount: Decimal | None = None
    original_currency: str | None = None
    counterparty: str | None = None
    counterparty_iban: str | None = None
    end_to_end_id: str | None = None
    status: str = UNMATCHED
    expense_id: int | None = None
    batch_id: int | None = None
    decided_by: str | None = None  # "matcher", or who confirmed: kept as it is
    not_these: frozenset[int] = frozenset()  # receipts a person said are not this line's

    @property
    def sticky(self) -> bool:
        """A link made before (or confirmed by a person) that a new run keeps."""
        if self.status == NO_RECEIPT:
            return True
        return self.status in FINAL and (self.expense_id is not None or self.batch_id is not None)


@dataclass(frozen=True)
class Receipt:
    """An expense that may be a card charge's receipt."""

    id: int
    employee: str | None
    merchant: str | None
    spent_on: date | None
    amount: Decimal | None
    currency: str | None
    card_last4: str | None = None  # printed on the receipt, when read


@dataclass(frozen=True)
class PayoutItem:
    """What one employee is paid in one batch (one SEPA transfer)."""

    batch_id: int
    employee: str
    payee: str
    amount: Decimal
    currency: str
    iban: str | None = None
    end_to_end_id: str | None = None
    expense_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Decision:
    line_id: int
    status: str
    score: float
    reason: str
    expense_id: int | None = None
    batch_id: int | None = None
    items: tuple[PayoutItem, ...] = field(default=())  # reconciled payout items


ReceiptRule = Callable[[Decimal, str, date], bool | None]
"""``(amount, currency, day) -> does the policy require a receipt?``; None when it cannot tell."""


# --- merchant names -----------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:[A-Z0-9.]{1,12}\s?\*\s?)+")
_NOISE = frozenset(
    [
        "POS",
        "PURCHASE",
        "DEBIT",
        "CREDIT",
        "CARD",
        "VISA",
        "MASTERCARD",
        "MC",
        "CHECKCARD",
        "RECURRING",
        "PAYMENT",
        "INC",
        "LLC",
        "LTD",
        "GMBH",
        "CO",
        "CORP",
        "THE",
        "AND",
        "OF",
        "STORE",
        "SHOP",
        "WWW",
        "COM",
        "NET",
        "HTTPS",
        "HTTP",
        "US",
        "USA",
    ]
)
_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
    ]
)


@functools.lru_cache(maxsize=262144)
def clean_descriptor(text: str, *, keep_prefix: bool = False) -> str:
    """``SQ *BLUE BOTTLE 0423 OAKLAND CA`` → ``BLUE BOTTLE OAKLAND``.

    With ``keep_prefix`` the part before ``*`` stays: there it is often the merchant itself
    (``LYFT *RIDE``, ``UBER *TRIP``, ``ADOBE *CREATIVE CLD``).
    """
    upper = text.upper().replace("'", "")
    if not keep_prefix:
        upper = _PREFIX.sub("", upper.strip())
    upper = re.sub(r"\b\d{3}[-. ]?\d{3}[-. ]?\d{4}\b", " ", upper)  # phone numbers
    upper = re.sub(r"\b([A-Z]{3,})(\d{2,})\b", r"\1 \2", upper)  # a store number glued on: FEDEX OFFIC8690
    upper = re.sub(r"[#*/\\_.,:;()\[\]-]+", " ", upper)
    words = [w for w in upper.split() if not any(ch.isdigit() for ch in w) and w not in _NOISE]
    if len(words) > 1 and words[-1] in _STATES:
        words = words[:-1]
    return " ".join(words)


@functools.lru_cache(maxsize=65536)
def clean_merchant(text: str) -> str:
    upper = re.sub(r"[#*/\\_.,:;()\[\]&-]+", " ", text.upper().replace("'", "").replace("’", ""))
    return " ".join(w for w in upper.split() if w not in _NOISE and not w.isdigit())


@functools.lru_cache(maxsize=262144)
def merchant_similarity(descriptor: str, merchant: str | None) -> float:
    """0..1: how well a card descriptor names the receipt's merchant."""
    if not merchant:
        return 0.0
    b = clean_merchant(merchant)
    if not b:
        return 0.0
    return _cleaned_similarity(
        clean_descriptor(descriptor), clean_descriptor(descriptor, keep_prefix=True), b, _initials(merchant)
    )


@functools.lru_cache(maxsize=262144)
def _cleaned_similarity(plain: str, prefixed: str, merchant: str, initials: str) -> float:
    """The similarity of cleaned names (store numbers gone, so the same pairs recur: cached)."""
    best = max((_similarity(a, merchant) for a in {plain, prefixed} if a), default=0.0)
    # a descriptor opening with the merchant's initials (TFL TRAVEL CH for Transport for London);
    # three letters say much more than two (BB is many a merchant's)
    if len(initials) >= 2 and plain.split(" ", 1)[0] == initials:
        best = max(best, 0.85 if len(initials) >= 3 else 0.7)
    return best


@functools.lru_cache(maxsize=65536)
def _initials(merchant: str) -> str:
    """``Transport for London`` → ``TFL``; one word has none."""
    words = re.findall(r"[A-Za-zÀ-ÿ]+", merchant.replace("'", ""))
    return "".join(w[0] for w in words).upper() if len(words) >= 2 else ""


def _similarity(a: str, b: str) -> float:
    a_squashed, b_squashed = a.replace(" ", ""), b.replace(" ", "")
    scores = [fuzz.token_set_ratio(a, b), fuzz.token_sort_ratio(a, b)]
    short, long_ = sorted((a_squashed, b_squashed), key=len)
    if len(short) >= 3 and short in long_:
        scores.append(100.0)  # "UBER" in "UBERTRIPHELPUBER", a name cut short by the descriptor
    elif len(short) >= 6:
        scores.append(fuzz.partial_ratio(short, long_))
    return max(scores) / 100.0


# --- card charges ↔ receipts --------------------------------------------------------------------


@dataclass(frozen=True)
class _Pair:
    line: Line
    receipt: Receipt
    score: float
    strong: bool  # exact / FX-tolerant / tip-shaped amount inside the date window
    reason: str
    merchant: float
    tip: bool = False  # the charge is the receipt plus a tip: weaker than the very amount

    def outranks(self, rival: _Pair) -> bool:
        """Evidence of a stronger kind: the very amount against a tip-shaped one needs no margin."""
        return self.strong and not self.tip and rival.tip


def _twin_key(line: Line) -> tuple[object, ...]:
    """What a charge taken twice repeats: card (or holder), day, amount, currency, descriptor."""
    return (
        line.card_last4 or line.employee,
        line.booked_on,
        line.amount,
        line.currency,
        " ".join(line.description.upper().split()),
    )


def _tip_score(charged: Decimal, wanted: Decimal) -> tuple[float, str] | None:
    """A charge above the receipt by a tip added after the receipt was printed (restaurants,
    taxis, salons: the signed copy's total is charged). A tip of :data:`TIP_MIN` to
    :data:`TIP_TOLERANCE` of the bill is tip-shaped (0.85: strong evidence together with the
    merchant); a smaller excess is more likely a misread total or a surcharge (0.55: offered)."""
    if not (wanted > 0 and wanted < charged <= wanted * (1 + TIP_TOLERANCE)):
        return None
    share = (charged - wanted) / wanted
    shown = wanted.quantize(charged)  # the charge's decimals: 40.0000 → 40.00 (both are finite here)
    why = f"charge {charged} is {(charged - shown).quantize(charged)} above the receipt's {shown}"
    if share >= TIP_MIN:
        percent = (share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return 0.85, f"{why}: a tip of {percent}% added after the receipt"
    return 0.55, f"{why} (a tip?)"


def _amount_score(line: Line, receipt: Receipt, rates: RateLookup) -> tuple[float, str]:
    if receipt.amount is None:
        return 0.0, "the receipt has no amount"
    charged = abs(line.amount)
    wanted = receipt.amount
    if not receipt.currency:  # the reading found no currency: the amount alone
        if charged == wanted:
            return 0.9, f"same amount {wanted} (the receipt's currency was not read)"
        return 0.0, f"amount {charged} {line.currency} vs receipt {wanted} (currency not read)"
    if receipt.currency == line.currency:
        if charged == wanted:
            return 1.0, f"same amount {wanted} {receipt.currency}"
        tip = _tip_score(charged, wanted)
        if tip is not None:
            return tip
        return 0.0, f"amount {charged} {line.currency} vs receipt {wanted} {receipt.currency}"
    if line.original_currency == receipt.currency and line.original_amount is not None:
        if abs(line.original_amount) == wanted:
            return 1.0, f"original amount {wanted} {receipt.currency} as charged"
        return 0.0, f"original amount {abs(line.original_amount)} vs receipt {wanted} {receipt.currency}"
    day = receipt.spent_on or line.booked_on
    rate = rates(receipt.currency, line.currency, day)
    if rate is None:
        inverse = rates(line.currency, receipt.currency, day)
        rate = Decimal(1) / inverse if inverse else None
    if rate is None or wanted <= 0:  # cannot tell: never linked on this, but offered when all else fits
        return 0.3, f"no {receipt.currency}→{line.currency} rate for {day.isoformat()} to compare amounts"
    converted = wanted * rate
    off = abs(charged - converted) / converted
    if off <= FX_TOLERANCE:
        score = 1.0 - float(off / FX_TOLERANCE) * 0.2
        return score, (
            f"{wanted} {receipt.currency} ≈ {converted.quantize(Decimal('0.01'))} {line.currency}, "
            f"{(off * 100).quantize(Decimal('0.1'))}% off the charge"
        )
    return 0.0, f"{wanted} {receipt.currency} is {(off * 100).quantize(Decimal('1'))}% off the charge"


def _date_score(line: Line, receipt: Receipt) -> float:
    if receipt.spent_on is None:
        return 0.3
    days = (line.booked_on - receipt.spent_on).days
    if 0 <= days <= 3:
        return 1.0
    if 3 < days <= DAYS_AFTER:
        return 1.0 - (days - 3) * 0.1
    if DAYS_AFTER < days <= LATE_DAYS:
        return 0.5  # only with the very amount and merchant (score_pair)
    if -DAYS_BEFORE <= days < 0:
        return 0.7
    return 0.0


def score_pair(line: Line, receipt: Receipt, rates: RateLookup) -> _Pair | None:
    """How well ``receipt`` explains the card charge ``line``; None when it cannot be the one."""
    if line.card_last4 and receipt.card_last4 and line.card_last4 != receipt.card_last4:
        return None
    if receipt.id in line.not_these:
        return None
    date_score = _date_score(line, receipt)
    if date_score == 0.0:
        return None
    amount_score, amount_why = _amount_score(line, receipt, rates)
    merchant = merchant_similarity(line.description, receipt.merchant)
    tip = (
        receipt.amount is not None
        and receipt.currency == line.currency
        and amount_score > 0
        and abs(line.amount) > receipt.amount
    )
    if tip and merchant < TIP_MERCHANT_MIN:
        amount_score = min(amount_score, 0.55)  # a tip-shaped amount at another merchant tells little
    if amount_score == 0.0 and merchant < 0.8:
        return None
    days = (line.booked_on - receipt.spent_on).days if receipt.spent_on else None
    if days is not None and days > DAYS_AFTER and (amount_score < 1.0 or merchant < TIP_MERCHANT_MIN):
        return None  # more than a week late: a check-out charge of the very amount and merchant only
    score = 0.5 * amount_score + 0.25 * date_score + 0.25 * merchant
    card = bool(line.card_last4 and receipt.card_last4 == line.card_last4)
    if card:
        score = min(1.0, score + 0.05)
    when = f"{days} days after the receipt" if days is not None else "receipt undated"
    reason = f"{amount_why}; {when}; merchant {merchant:.0%} like '{receipt.merchant or '?'}'"
    if card:
        reason += f"; card ending {line.card_last4} on the receipt"
    strong = amount_score >= 0.8 and date_score >= 0.5
    return _Pair(line, receipt, round(score, 3), strong, reason, merchant, tip)


class _ReceiptIndex:
    def __init__(self, receipts: Iterable[Receipt]) -> None:
        self.by_employee: dict[str | None, list[tuple[date, int, Receipt]]] = defaultdict(list)
        self.by_amount: dict[tuple[Decimal, str], list[Receipt]] = defaultdict(list)
        for r in receipts:
            if r.spent_on is not None:
                self.by_employee[r.employee].append((r.spent_on, r.id, r))
            if r.amount is not None and r.currency:
                self.by_amount[(r.amount, r.currency)].append(r)
        for items in self.by_employee.values():
            items.sort(key=lambda t: (t[0], t[1]))

    def near(self, employee: str, start: date, end: date) -> list[Receipt]:
        items = self.by_employee.get(employee, [])
        lo = bisect.bisect_left(items, (start, -1))
        hi = bisect.bisect_right(items, (end, 1 << 62))
        return [t[2] for t in items[lo:hi]]

    def for_line(self, line: Line) -> list[Receipt]:
        from datetime import timedelta

        if line.employee is not None:
            return self.near(
                line.employee,
                line.booked_on - timedelta(days=LATE_DAYS),
                line.booked_on + timedelta(days=DAYS_BEFORE),
            )
        found = list(self.by_amount.get((abs(line.amount), line.currency), []))
        if line.original_amount is not None and line.original_currency:
            found += self.by_amount.get((abs(line.original_amount), line.original_currency), [])
        return found


def match_cards(
    lines: Sequence[Line],
    receipts: Sequence[Receipt],
    *,
    rates: RateLookup,
    receipt_required: ReceiptRule,
    taken: Iterable[int] = (),
) -> list[Decision]:
    """Decide every card line (charges and refunds). ``taken``: expenses linked before (kept)."""
    index = _ReceiptIndex(receipts)
    pairs: list[_Pair] = []
    by_line: dict[int, list[_Pair]] = defaultdict(list)
    by_receipt: dict[int, list[_Pair]] = defaultdict(list)
    taken_ids = set(taken)
    decisions: dict[int, Decision] = {}
    refunds: list[Line] = []
    for line in lines:
        if line.amount > 0:
            refunds.append(line)
            continue
        for receipt in index.for_line(line):
            if receipt.id in taken_ids:
                continue
            pair = score_pair(line, receipt, rates)
            if pair is not None and pair.score >= SUGGEST_AT - 0.1:
                pairs.append(pair)
                by_line[line.id].append(pair)
                by_receipt[receipt.id].append(pair)
    pairs.sort(key=lambda p: (-p.score, p.line.id, p.receipt.id))
    used_receipts: set[int] = set()
    twins: dict[tuple[object, ...], list[Line]] = defaultdict(list)
    for line in lines:
        if line.amount < 0:
            twins[_twin_key(line)].append(line)
    for pair in pairs:
        if pair.line.id in decisions or pair.receipt.id in used_receipts:
            continue
        # A rival is another free pairing of either side, unless its other side has a clearly
        # better pairing of its own (yesterday's coffee receipt belongs to yesterday's charge),
        # or it is weaker in kind (a tip-shaped amount against the very amount). The same charge
        # taken twice (card, day, amount and descriptor repeated) is no rival for its receipt:
        # the first is linked, the second reported as the duplicate it is.
        rivals = [
            p.score
            for p in by_line[pair.line.id]
            if p is not pair
            and p.receipt.id not in used_receipts
            and not pair.outranks(p)
            and not _better_elsewhere(p, by_receipt[p.receipt.id], decisions, used_receipts, by_line=False)
        ]
        twin_key = _twin_key(pair.line)
        rivals += [
            p.score
            for p in by_receipt[pair.receipt.id]
            if p is not pair
            and p.line.id not in decisions
            and not pair.outranks(p)
            and _twin_key(p.line) != twin_key
            and not _better_elsewhere(p, by_line[p.line.id], decisions, used_receipts, by_line=True)
        ]
        margin = pair.score - max(rivals, default=0.0)
        confident = pair.score >= MATCH_AT and pair.merchant >= MERCHANT_MATCH_MIN
        alone = not rivals and pair.score >= MATCH_ALONE_AT  # the one pair, as Expensify links them
        if pair.strong and margin >= MARGIN - 1e-9 and (confident or alone):
            decisions[pair.line.id] = Decision(
                pair.line.id, MATCHED, pair.score, pair.reason, expense_id=pair.receipt.id
            )
            used_receipts.add(pair.receipt.id)
    for pair in pairs:
        if pair.line.id in decisions or pair.receipt.id in used_receipts or pair.score < SUGGEST_AT:
            continue
        others = [p for p in by_line[pair.line.id] if p is not pair and p.receipt.id not in used_receipts]
        why = pair.reason
        if pair.strong and others:
            why += f"; {len(others)} other receipt{'s' if len(others) > 1 else ''} fit too"
        elif pair.strong:
            rival_lines = [
                p for p in by_receipt[pair.receipt.id] if p is not pair and p.line.id not in decisions
            ]
            if rival_lines:
                why += f"; this receipt also fits {len(rival_lines)} other charge{'s' if len(rival_lines) > 1 else ''}"
        decisions[pair.line.id] = Decision(
            pair.line.id, SUGGESTED, pair.score, "near match: " + why, expense_id=pair.receipt.id
        )
    for line in lines:
        if line.amount > 0 or line.id in decisions:
            continue
        decision = _no_receipt(line, receipt_required)
        first = next(
            (
                t
                for t in twins[_twin_key(line)]
                if t.id != line.id and t.id in decisions and decisions[t.id].status == MATCHED
            ),
            None,
        )
        if first is not None:
            decision = replace(
                decision,
                reason=(
                    f"the same charge as line {first.id} (card, day, amount and descriptor), which is linked to "
                    f"its receipt: a duplicate to dispute with the card issuer, or a second purchase whose receipt "
                    f"is missing; {decision.reason}"
                ),
            )
        decisions[line.id] = decision
    charges = _ChargeIndex(lines)
    for line in refunds:
        decisions[line.id] = _refund(line, index, rates, charges, decisions)
    return [decisions[line.id] for line in lines]


def _better_elsewhere(
    rival: _Pair, others: list[_Pair], decisions: dict[int, Decision], used: set[int], *, by_line: bool
) -> bool:
    """Whether ``rival``'s other side has a free pairing better than ``rival`` by the margin."""
    for other in others:
        if other is rival:
            continue
        if by_line and other.receipt.id in used:
            continue
        if not by_line and other.line.id in decisions:
            continue
        if other.strong and other.score >= rival.score + MARGIN - 1e-9:
            return True
    return False


def _no_receipt(line: Line, receipt_required: ReceiptRule) -> Decision:
    who = f" of {line.employee}" if line.employee else ""
    required = receipt_required(abs(line.amount), line.currency, line.booked_on)
    if required is None:
        return Decision(
            line.id,
            UNMATCHED,
            0.0,
            f"no receipt{who} fits; no rate to tell whether the policy "
            f"requires one for {abs(line.amount)} {line.currency}",
        )
    if required:
        return Decision(
            line.id,
            MISSING_RECEIPT,
            0.0,
            f"no receipt{who} fits, and the policy requires one for {abs(line.amount)} {line.currency}",
        )
    return Decision(
        line.id,
        UNMATCHED,
        0.0,
        f"no receipt{who} fits; the policy needs none for {abs(line.amount)} {line.currency}",
    )


def _refund(
    line: Line, index: _ReceiptIndex, rates: RateLookup, charges: _ChargeIndex, decisions: dict[int, Decision]
) -> Decision:
    """A refund: the receipt of the charge it reverses, else a receipt of a similar merchant."""
    from datetime import timedelta

    # 1. the charge it reverses: the same card and descriptor, earlier, at least as much
    reversed_ = [c for c in charges.like(line) if line.amount <= abs(c.amount)]
    exact = [c for c in reversed_ if abs(c.amount) == line.amount]
    pick = exact if exact else reversed_
    if pick:
        charge = max(pick, key=lambda c: (c.booked_on, c.id))  # the latest such charge
        d = decisions.get(charge.id)
        if d is not None and d.expense_id is not None and d.status in (MATCHED, SUGGESTED):
            whole = "all" if abs(charge.amount) == line.amount else "part"
            sure = d.status == MATCHED and len(pick) == 1
            why = (
                f"refund of {whole} of the charge of {abs(charge.amount)} {charge.currency} on "
                f"{charge.booked_on.isoformat()} ({d.status} to this receipt)"
            )
            if not sure and len(pick) > 1:
                why += f"; {len(pick) - 1} other charges of this merchant could be the one refunded"
            return Decision(
                line.id,
                MATCHED if sure else SUGGESTED,
                round(d.score * (1.0 if sure else 0.8), 3),
                why,
                expense_id=d.expense_id,
            )
    # 2. a receipt of a similar merchant it can refund
    if line.employee is None:
        candidates = [r for rs in index.by_employee.values() for _, _, r in rs]
        candidates = [
            r
            for r in candidates
            if r.amount is not None and r.amount >= line.amount and r.currency == line.currency
        ]
    else:
        candidates = index.near(
            line.employee,
            line.booked_on - timedelta(days=REFUND_DAYS),
            line.booked_on + timedelta(days=DAYS_BEFORE),
        )
    found: list[tuple[float, Receipt, str, bool]] = []
    for receipt in candidates:
        if receipt.amount is None or not receipt.currency or receipt.spent_on is None:
            continue
        merchant = merchant_similarity(line.description, receipt.merchant)
        if merchant < 0.7:
            continue
        if receipt.currency == line.currency:
            refunded, total = line.amount, receipt.amount
        elif line.original_currency == receipt.currency and line.original_amount is not None:
            refunded, total = abs(line.original_amount), receipt.amount
        else:
            rate = rates(receipt.currency, line.currency, receipt.spent_on)
            if rate is None:
                continue
            refunded, total = line.amount, receipt.amount * rate * (1 + FX_TOLERANCE)
        if refunded > total * (1 + TIP_TOLERANCE):
            continue
        is_exact = refunded == total
        days = (line.booked_on - receipt.spent_on).days
        recency = max(0.0, 1.0 - max(days, 0) / REFUND_DAYS)
        score = round(0.5 * merchant + 0.3 * (1.0 if is_exact else 0.7) + 0.2 * recency, 3)
        why = (
            f"refund of {'all' if is_exact else 'part'} of {receipt.amount} {receipt.currency} at "
            f"'{receipt.merchant}', {days} days later"
        )
        found.append((score, receipt, why, is_exact))
    if not found:
        return Decision(line.id, UNMATCHED, 0.0, "money in: no receipt of a similar merchant it could refund")
    exact_found = [f for f in found if f[3]]
    pool = exact_found or found
    score, receipt, why, _ = max(pool, key=lambda f: (f[0], f[1].id))
    if len(pool) == 1:
        return Decision(line.id, MATCHED, score, why, expense_id=receipt.id)
    return Decision(
        line.id,
        SUGGESTED,
        round(score * 0.8, 3),
        why + f"; {len(pool) - 1} other receipts of this merchant could be the one refunded",
        expense_id=receipt.id,
    )


class _ChargeIndex:
    """Card charges by card (or holder) and cleaned descriptor, to find the charge a refund reverses."""

    def __init__(self, lines: Iterable[Line]) -> None:
        self.by_key: dict[tuple[str, str], list[Line]] = defaultdict(list)
        self.by_text: dict[tuple[str, str], list[Line]] = defaultdict(list)
        for line in lines:
            if line.amount < 0:
                self.by_key[self._key(line)].append(line)
                self.by_text[self._text_key(line)].append(line)

    @staticmethod
    def _text_key(line: Line) -> tuple[str, str]:
        return (line.card_last4 or line.employee or "", " ".join(line.description.upper().split()))

    @staticmethod
    def _key(line: Line) -> tuple[str, str]:
        return (line.card_last4 or line.employee or "", clean_descriptor(line.description, keep_prefix=True))

    def like(self, refund: Line) -> list[Line]:
        """Earlier charges with the refund's very descriptor, else with the same cleaned one."""
        for found in (self.by_text.get(self._text_key(refund), []), self.by_key.get(self._key(refund), [])):
            near = [
                c
                for c in found
                if 0 <= (refund.booked_on - c.booked_on).days <= REFUND_DAYS
                and refund.amount <= abs(c.amount)
            ]
            if near:
                return near
        return []


# --- company account ↔ payout items -------------------------------------------------------------


def _norm_ref(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def match_payouts(
    lines: Sequence[Line],
    items: Sequence[PayoutItem],
    batch_totals: dict[int, tuple[Decimal, str]] | None = None,
    done: Iterable[tuple[int, str]] = (),
) -> list[Decision]:
    """Decide outgoing transfers of the company account. ``done``: (batch, employee) reconciled before."""
    finished = set(done)
    open_items = [i for i in items if (i.batch_id, i.employee) not in finished]
    by_e2e = {_norm_ref(i.end_to_end_id): i for i in open_items if i.end_to_end_id}
    by_amount: dict[tuple[Decimal, str], list[PayoutItem]] = defaultdict(list)
    for item in open_items:
        by_amount[(item.amount, item.currency)].append(item)
    totals = batch_totals or {}
    used: set[tuple[int, str]] = set()
    decisions = []
    for line in lines:
        decisions.append(_payout_decision(line, by_e2e, by_amount, totals, open_items, used))
    return decisions


def _payout_decision(
    line: Line,
    by_e2e: dict[str, PayoutItem],
    by_amount: dict[tuple[Decimal, str], list[PayoutItem]],
    totals: dict[int, tuple[Decimal, str]],
    open_items: list[PayoutItem],
    used: set[tuple[int, str]],
) -> Decision:
    if line.amount >= 0:
        return Decision(line.id, UNMATCHED, 0.0, "money in on the company account: not a payout")
    paid = abs(line.amount)
    text = _norm_ref(f"{line.end_to_end_id or ''} {line.description}")
    item = by_e2e.get(_norm_ref(line.end_to_end_id)) if line.end_to_end_id else None
    if item is None:
        item = next((i for ref, i in by_e2e.items() if ref and ref in text), None)
    if item is not None and (item.batch_id, item.employee) not in used:
        if item.amount == paid and item.currency == line.currency:
            used.add((item.batch_id, item.employee))
            return Decision(
                line.id,
                RECONCILED,
                1.0,
                f"end-to-end id {item.end_to_end_id} and amount "
                f"{paid} {line.currency} of {item.payee}'s transfer in batch #{item.batch_id}",
                batch_id=item.batch_id,
                items=(item,),
            )
        return Decision(
            line.id,
            SUGGESTED,
            0.6,
            f"end-to-end id {item.end_to_end_id} of batch #{item.batch_id}, "
            f"but {paid} {line.currency} paid vs {item.amount} {item.currency} owed",
            batch_id=item.batch_id,
        )
    for batch_id, (total, currency) in totals.items():
        if (
            f"EXPENSEBOTBATCH{batch_id}" in text.replace("-", "")
            and total == paid
            and currency == line.currency
        ):
            batch_items = tuple(i for i in open_items if i.batch_id == batch_id and i.currency == currency)
            used.update((i.batch_id, i.employee) for i in batch_items)
            return Decision(
                line.id,
                RECONCILED,
                1.0,
                f"the whole of batch #{batch_id} ({paid} {currency}) in one debit",
                batch_id=batch_id,
                items=batch_items,
            )
    candidates = [i for i in by_amount.get((paid, line.currency), []) if (i.batch_id, i.employee) not in used]
    iban = _norm_ref(line.counterparty_iban)
    scored = []
    for cand in candidates:
        if iban and cand.iban and _norm_ref(cand.iban) == iban:
            scored.append((0.95, cand, f"amount {paid} {line.currency} and IBAN of {cand.payee}"))
            continue
        name = line.counterparty or line.description
        similarity = fuzz.token_set_ratio(name.upper(), cand.payee.upper()) / 100.0 if name else 0.0
        if similarity >= 0.8:
            scored.append((0.9, cand, f"amount {paid} {line.currency} and payee name like {cand.payee}"))
        else:
            scored.append((0.6, cand, f"amount {paid} {line.currency} of {cand.payee}'s transfer only"))
    scored.sort(key=lambda t: -t[0])
    if scored:
        score, cand, why = scored[0]
        tie = len(scored) > 1 and scored[1][0] >= score
        if score >= 0.9 and not tie:
            used.add((cand.batch_id, cand.employee))
            return Decision(
                line.id,
                RECONCILED,
                score,
                f"{why} in batch #{cand.batch_id}",
                batch_id=cand.batch_id,
                items=(cand,),
            )
        return Decision(
            line.id,
            SUGGESTED,
            min(score, 0.6),
            f"{why} in batch #{cand.batch_id}"
            + (f"; {len(scored) - 1} other transfers have this amount" if len(scored) > 1 else ""),
            batch_id=cand.batch_id,
        )
    open_batches = [b for b, (total, cur) in totals.items() if total == paid and cur == line.currency]
    if len(open_batches) == 1:
        batch_id = open_batches[0]
        batch_items = tuple(i for i in open_items if i.batch_id == batch_id and i.currency == line.currency)
        if batch_items:
            used.update((i.batch_id, i.employee) for i in batch_items)
            return Decision(
                line.id,
                RECONCILED,
                0.9,
                f"the total of batch #{batch_id} ({paid} {line.currency})",
                batch_id=batch_id,
                items=batch_items,
            )
    return Decision(line.id, UNMATCHED, 0.0, f"no payout transfer of {paid} {line.currency} to match")


# --- "no receipt" declared for a card charge ------------------------------------------------------

NO_RECEIPT_FROM = frozenset({MISSING_RECEIPT, UNMATCHED})  # the statuses a charge may be marked from
REASON_MIN, REASON_MAX = 3, 500


def no_receipt_refusal(
    status: str, expense: str | None, reason: str, amount: Money, limit: Money | None
) -> str | None:
    """Why a card charge may not be marked "no receipt", or None when it may.

    ``amount`` is the charge in the company currency; ``limit`` the most the policy lets a card
    holder charge without a receipt (None: no limit applies, finance and admins deciding).
    """
    if status == NO_RECEIPT:
        return "This charge is already marked as having no receipt; nothing was changed."
    if status == MATCHED and expense:
        return f"This charge is already linked to its receipt {expense}; nothing was changed."
    if status == SUGGESTED and expense:
        return (
            f"I offered {expense} as this charge's receipt: answer that question (Confirm / Not this one) "
            "first."
        )
    if status not in NO_RECEIPT_FROM:
        return f"This line is {status.replace('_', ' ')}, not a card charge waiting for a receipt."
    text = " ".join(reason.split())
    if len(text) < REASON_MIN:
        return "Say why there is no receipt (lost, never given, a parking meter…); finance will read it."
    if len(text) > REASON_MAX:
        return f"Keep the reason under {REASON_MAX} characters."
    if limit is not None and amount.amount > limit.amount:
        return (
            f"The expense policy needs a receipt for anything above {limit}, and this charge is {amount}, so "
            "it cannot be marked as having no receipt. Send me a photo or PDF of the receipt here (a copy "
            "from the merchant will do); if it is truly lost, ask finance, who can accept the charge "
            "without one."
        )
    return None
