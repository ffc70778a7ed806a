"""A receipt's tax: net (subtotal before tax), tax amount and rate, checked against the total.

Pure. Amounts are Decimals in the receipt's currency, kept to its minor unit (0 decimals for JPY,
2 for EUR, 3 for KWD). A rate is a percentage (``19`` for MwSt 19%, ``7.7`` for Swiss VAT).

- :func:`tax_facts` turns what the reader found (subtotal, tax, a printed rate) into the facts
  kept on the expense, with the rate checked against tax/net or inferred from them.
- :func:`mismatch` is the card's "the tax lines do not add up" check: net + tax against the total,
  beyond rounding (:func:`tolerance`).
- :func:`parse_tax` checks what the employee types into the expense forms (``/expense`` and the
  card's Edit), in the reader's words (:class:`Wording`).
- :func:`paid_tax` is the tax in what is paid: a lower approved amount or a conversion into the
  reimbursement currency prorates it, so that net + tax is the paid amount to the cent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from workflows.i18n import N_
from workflows.money import Money, MoneyError, minor_units, parse_amount
from workflows.splits import share_out

HUNDRED = Decimal(100)
MAX_RATE = Decimal(100)  # no tax rate on a purchase reaches 100%
# A rate is inferred from tax/net with no or one decimal (19, 7.7): with two, some rate fits almost
# any pair of amounts; rates such as 8.25 or 8.875 (US sales taxes) are kept when printed.
RATE_DECIMALS = (0, 1)


class TaxError(MoneyError):
    """Tax figures that cannot be kept. ``str(err)`` is a message for people."""


@dataclass(frozen=True)
class TaxFacts:
    """A receipt's tax as kept on the expense; any part may be unknown (None)."""

    net: Decimal | None = None  # the subtotal before tax
    tax: Decimal | None = None
    rate: Decimal | None = None  # percent

    @property
    def known(self) -> bool:
        return self.net is not None or self.tax is not None or self.rate is not None


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def tolerance(currency: str) -> Decimal:
    """How far net + tax may be from the total and still add up: rounding, not a misreading.

    Five minor units where a currency has decimals (cash rounding to 0.05 in CHF, MYR, AUD, and
    tax rounded per line), one unit where it has none (JPY, KRW).
    """
    unit = _unit(currency)
    return unit if minor_units(currency) == 0 else 5 * unit


def _slack(currency: str) -> int:
    """Minor units a printed rate may be off the tax: tax rounded item by item (:func:`tolerance`)."""
    return int(tolerance(currency) / _unit(currency))


def rate_fits(net: Decimal, tax: Decimal, rate: Decimal, currency: str, *, slack: int = 1) -> bool:
    """Whether ``rate`` percent of ``net`` is ``tax``, to the currency's minor unit (``slack``
    units off: tax rounded per line)."""
    expected = Money(net * rate / HUNDRED, currency).amount
    return abs(expected - tax) <= slack * _unit(currency)


def infer_rate(net: Decimal | None, tax: Decimal | None, currency: str) -> Decimal | None:
    """The simplest rate (a whole one, else one decimal) that turns ``net`` into ``tax``, or None
    when no such rate fits (several rates on one receipt, an unusual rate, or a misreading)."""
    if net is None or tax is None or net <= 0 or tax < 0 or tax >= net:
        return None
    if tax == 0:
        return Decimal(0)
    exact = tax / net * HUNDRED
    # exactly, with as few decimals as will do; then a whole rate one minor unit off (per-line rounding)
    for places, slack in [*((p, 0) for p in RATE_DECIMALS), (0, 1)]:
        rate = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        if rate > 0 and rate_fits(net, tax, rate, currency, slack=slack):
            return rate.normalize()
    return None


def tax_facts(
    subtotal: Decimal | None,
    tax: Decimal | None,
    total: Decimal | None,
    currency: str | None,
    printed_rate: Decimal | None = None,
) -> TaxFacts:
    """What is kept of a reading: the net and tax as printed, and the rate.

    The rate is the printed one ("GST 6%", "MwSt 19%"), else the one tax/net give
    (:func:`infer_rate`); a printed rate that tax/net disagree with is kept, and :func:`mismatch`
    says so on the card. A missing net is the total less the tax, and so is the net when the
    subtotal printed is the total (tax included, as many Malaysian receipts print it). A tax of
    half the total or more (a rate of 100% or more) is a misreading and is not kept.
    """
    if currency is None:
        return TaxFacts()
    net = Money(subtotal, currency).amount if subtotal is not None and subtotal > 0 else None
    tax_amount = Money(tax, currency).amount if tax is not None and tax >= 0 else None
    gross = Money(total, currency).amount if total is not None and total > 0 else None
    if tax_amount is not None and gross is not None and 2 * tax_amount >= gross:
        tax_amount = None  # tax of half the total or more is a rate of 100% or more: a misreading
    if net is None and tax_amount is not None and gross is not None:
        net = gross - tax_amount
    elif (
        net is not None
        and tax_amount is not None
        and gross is not None
        and abs(net + tax_amount - gross) > tolerance(currency)
        and abs(net - gross) <= tolerance(currency)
    ):
        net = gross - tax_amount  # a subtotal printed tax included ("SUBTOTAL 53.60", "6% GST 3.03")
    if tax_amount is None and net is None:
        return TaxFacts(
            rate=printed_rate if printed_rate is not None and 0 < printed_rate < MAX_RATE else None
        )
    if printed_rate is not None and 0 <= printed_rate < MAX_RATE:
        # as printed, even when net and tax disagree with it: then the card says they do not add up
        return TaxFacts(net=net, tax=tax_amount, rate=printed_rate.normalize())
    return TaxFacts(net=net, tax=tax_amount, rate=infer_rate(net, tax_amount, currency))


def mismatch(
    facts: TaxFacts, total: Decimal | None, currency: str | None, wording: Wording | None = None
) -> str | None:
    """Why the receipt's tax lines do not add up to its total (for the card), or None when they
    do, or when too little is known to say. In the reader's words (:class:`Wording`; English by default)."""
    if total is None or currency is None or facts.tax is None:
        return None
    try:
        money_total = Money(total, currency)
    except MoneyError:
        return None
    wording = wording or ENGLISH
    say, money = wording.translate, wording.money
    tax = Money(facts.tax, currency)
    if facts.tax > money_total.amount:
        return say(N_("The tax lines do not add up: the tax {tax} is more than the total {total}.")).format(
            tax=money(tax), total=money(money_total)
        )
    if facts.net is not None:
        net = Money(facts.net, currency)
        added = Money(facts.net + facts.tax, currency)
        if abs(added.amount - money_total.amount) > tolerance(currency):
            return say(
                N_(
                    "The tax lines do not add up: net {net} + tax {tax} = {sum}, but the total is {total}. "
                    "Click *Edit* to correct them."
                )
            ).format(net=money(net), tax=money(tax), sum=money(added), total=money(money_total))
        if (
            facts.rate is not None
            and facts.rate > 0
            and not rate_fits(facts.net, facts.tax, facts.rate, currency, slack=_slack(currency))
        ):
            expected = Money(facts.net * facts.rate / HUNDRED, currency)
            return say(
                N_(
                    "The tax lines do not add up: {rate} of {net} is {expected}, not {tax}. "
                    "Click *Edit* to correct them."
                )
            ).format(rate=wording.rate(facts.rate), net=money(net), expected=money(expected), tax=money(tax))
    return None


def format_rate(rate: Decimal) -> str:
    """``19%``, ``7.7%``."""
    return f"{rate.normalize():f}%"


def net_of(facts: TaxFacts, total: Money) -> Money | None:
    """The net of ``total`` (the total less the tax), or None when the tax is not known."""
    if facts.tax is None:
        return None
    return total - Money(facts.tax, total.currency)


def paid_tax(tax: Decimal | None, receipt_total: Money, paid: Money) -> Money | None:
    """The tax inside ``paid``, in its currency: the receipt's tax in the proportion paid/total.

    ``paid`` is the amount paid for the receipt (approved, maybe lower; maybe converted into the
    reimbursement currency). Rounded half up to ``paid``'s minor unit, and never more than
    ``paid``, so net = paid - tax is never negative and net + tax is ``paid`` exactly.
    """
    if tax is None:
        return None
    if receipt_total.amount <= 0 or paid.amount <= 0:
        return Money(Decimal(0), paid.currency)
    share = Money(paid.amount * tax / receipt_total.amount, paid.currency)
    if share.amount > paid.amount:
        return paid
    if share.amount < 0:
        return Money(Decimal(0), paid.currency)
    return share


@dataclass(frozen=True)
class TaxInput:
    """The tax fields of the expense forms, as typed (empty text: not given)."""

    net_text: str | None = None
    tax_text: str | None = None
    rate_text: str | None = None

    @property
    def empty(self) -> bool:
        return not any((text or "").strip() for text in (self.net_text, self.tax_text, self.rate_text))


def _same(message: str) -> str:
    return message


@dataclass(frozen=True)
class Wording:
    """How the form's messages are worded: a template's translation, and how money and rates are
    written. English with the app's formats by default; the bot passes the reader's language."""

    translate: Callable[[str], str] = _same
    money: Callable[[Money], str] = Money.format
    rate: Callable[[Decimal], str] = format_rate


ENGLISH = Wording()


def parse_rate(text: str, wording: Wording = ENGLISH) -> Decimal:
    """``19``, ``19%``, ``7,7 %`` as a percentage; :class:`TaxError` with a message otherwise."""
    say = wording.translate
    raw = text.strip().rstrip("%").strip()
    try:
        rate = parse_amount(raw)
    except MoneyError:
        raise TaxError(
            say(N_("“{text}” is not a tax rate: type a percentage such as 19 or 7.7.")).format(
                text=text.strip()
            )
        ) from None
    if rate < 0 or rate >= MAX_RATE:
        raise TaxError(say(N_("A tax rate is from 0 up to 100%, not {rate}%.")).format(rate=raw))
    if rate != rate.quantize(Decimal("0.0001")):
        raise TaxError(say(N_("A tax rate has at most four decimals (e.g. 8.875).")))
    return rate.normalize()


def parse_tax(
    entry: TaxInput, total: Decimal | None, currency: str | None, wording: Wording = ENGLISH
) -> tuple[TaxFacts, dict[str, str]]:
    """The tax facts typed into the expense forms, and the fields' errors (block id -> message,
    worded by ``wording``).

    Any field may be left empty. The tax, when given, is not negative and not more than the total;
    the net is more than zero and not more than the total; with net and tax, they must add up to
    the total (within rounding); a rate is checked against net and tax. Given only the rate and
    the total, the net and tax are worked out from them; given two of net, tax and total, the
    third is the difference.
    """
    say, money = wording.translate, wording.money
    errors: dict[str, str] = {}
    if entry.empty:
        return TaxFacts(), errors
    if currency is None or total is None:
        return TaxFacts(), {
            "tax": say(N_("Type the total and its currency first; the tax is part of the total."))
        }
    money_total = Money(total, currency)
    too_much = {
        "net": N_("The net amount ({amount}) is more than the total ({total})."),
        "tax": N_("The tax ({amount}) is more than the total ({total})."),
    }
    negative = {"net": N_("The net amount cannot be negative."), "tax": N_("The tax cannot be negative.")}

    def amount(text: str | None, field: str) -> Decimal | None:
        if not (text or "").strip():
            return None
        try:
            value = parse_amount(text or "")
        except MoneyError:
            errors[field] = say(N_("“{text}” is not an amount: type digits such as 3.99.")).format(
                text=(text or "").strip()
            )
            return None
        if value != Money(value, currency).amount:
            errors[field] = say(N_("{amount} has more decimals than {currency} has ({digits}).")).format(
                amount=value, currency=currency, digits=minor_units(currency)
            )
            return None
        if value < 0:
            errors[field] = say(negative[field])
            return None
        if value > money_total.amount:
            errors[field] = say(too_much[field]).format(
                amount=money(Money(value, currency)), total=money(money_total)
            )
            return None
        return value

    net = amount(entry.net_text, "net")
    tax = amount(entry.tax_text, "tax")
    rate: Decimal | None = None
    if (entry.rate_text or "").strip():
        try:
            rate = parse_rate(entry.rate_text or "", wording)
        except TaxError as exc:
            errors["tax_rate"] = str(exc)
    if errors:
        return TaxFacts(), errors
    if net is not None and net == 0:
        return TaxFacts(), {
            "net": say(N_("The net amount must be more than zero (leave it empty if it is not printed)."))
        }
    if net is None and tax is None and rate is not None:
        # only the rate: the tax inside the total at that rate
        net = Money(money_total.amount * HUNDRED / (HUNDRED + rate), currency).amount
        tax = money_total.amount - net
    elif net is None and tax is not None:
        net = money_total.amount - tax if tax < money_total.amount else None
    elif tax is None and net is not None:
        tax = money_total.amount - net
    facts = TaxFacts(net=net, tax=tax, rate=rate if rate is not None else infer_rate(net, tax, currency))
    if net is not None and tax is not None:
        gap = abs(net + tax - money_total.amount)
        if gap > tolerance(currency):
            errors["tax"] = say(N_("Net {net} + tax {tax} = {sum}, not the total {total}.")).format(
                net=money(Money(net, currency)),
                tax=money(Money(tax, currency)),
                sum=money(Money(net + tax, currency)),
                total=money(money_total),
            )
        elif rate is not None and not rate_fits(net, tax, rate, currency, slack=_slack(currency)):
            expected = Money(net * rate / HUNDRED, currency)
            errors["tax_rate"] = say(N_("{rate} of {net} is {expected}, not the tax {tax}.")).format(
                rate=wording.rate(rate),
                net=money(Money(net, currency)),
                expected=money(expected),
                tax=money(Money(tax, currency)),
            )
    return (TaxFacts() if errors else facts), errors


def split_tax(tax: Money, amounts: list[Money]) -> list[Money]:
    """``tax`` shared over the parts of a split receipt (``amounts``, which add up to the amount the
    tax is part of), in proportion to them: the shares add up to ``tax`` to the minor unit, and no
    part's tax is more than the part (sharing by the rounded amounts themselves keeps each share
    at most the part, since tax <= total)."""
    if not amounts:
        return []
    if tax.amount == 0 or sum((a.amount for a in amounts), Decimal(0)) <= 0:
        return [Money(Decimal(0), tax.currency) for _ in amounts]
    return share_out(tax, [a.amount for a in amounts])
