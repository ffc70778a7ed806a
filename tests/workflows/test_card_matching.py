"""The card-charge ↔ receipt and transfer ↔ payout matcher: table tests of its decisions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from workflows import card_matching as cm

D = date(2026, 11, 10)


def rates(base: str, quote: str, day: date) -> Decimal | None:
    return {("EUR", "USD"): Decimal("1.10"), ("GBP", "USD"): Decimal("1.30")}.get((base, quote))


def needs_receipt(amount: Decimal, currency: str, day: date) -> bool | None:
    if currency not in ("USD", "EUR"):
        return None
    return amount > Decimal("75")


def charge(
    amount: str,
    text: str,
    day: date = D,
    *,
    line_id: int = 1,
    last4: str | None = "1234",
    employee: str | None = "ana@x.test",
    currency: str = "USD",
    original: tuple[str, str] | None = None,
) -> cm.Line:
    return cm.Line(
        id=line_id,
        booked_on=day,
        amount=Decimal(amount),
        currency=currency,
        description=text,
        card_last4=last4,
        employee=employee,
        is_card=True,
        original_amount=Decimal(original[0]) if original else None,
        original_currency=original[1] if original else None,
    )


def receipt(
    rid: int,
    amount: str,
    merchant: str,
    day: date = D,
    *,
    currency: str = "USD",
    employee: str = "ana@x.test",
    last4: str | None = None,
) -> cm.Receipt:
    return cm.Receipt(
        id=rid,
        employee=employee,
        merchant=merchant,
        spent_on=day,
        amount=Decimal(amount),
        currency=currency,
        card_last4=last4,
    )


def decide(lines: list[cm.Line], receipts: list[cm.Receipt]) -> list[tuple[str, int | None]]:
    return [
        (d.status, d.expense_id)
        for d in cm.match_cards(lines, receipts, rates=rates, receipt_required=needs_receipt)
    ]


CASES = [
    # (name, charge, receipts, expected)
    (
        "exact amount, same day, descriptor",
        charge("-12.50", "SQ *BLUE BOTTLE 0423 OAKLAND CA"),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("matched", 1),
    ),
    (
        "booked three days later",
        charge("-12.50", "SQ *BLUE BOTTLE 0423 OAKLAND CA", date(2026, 11, 13)),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("matched", 1),
    ),
    (
        "the only exact amount in the window, merchant unreadable",
        charge("-64.00", "PAYPAL *XK3 4029357733"),
        [receipt(1, "64.00", "Office supplies")],
        ("matched", 1),
    ),
    (
        "a tip of 20% added at the receipt's restaurant: linked",
        charge("-57.60", "TST* ZUNI CAFE SAN FRANCISCO"),
        [receipt(1, "48.00", "Zuni Café")],
        ("matched", 1),
    ),
    (
        "a few cents above the receipt (a misread total?): offered",
        charge("-48.09", "TST* ZUNI CAFE SAN FRANCISCO"),
        [receipt(1, "48.00", "Zuni Café")],
        ("suggested", 1),
    ),
    (
        "a tip-shaped amount at another merchant: not linked",
        charge("-57.60", "TST* ZUNI CAFE SAN FRANCISCO"),
        [receipt(1, "48.00", "Shell")],
        ("unmatched", None),
    ),
    (
        "more than a tip above the receipt",
        charge("-67.20", "TST* ZUNI CAFE SAN FRANCISCO"),
        [receipt(1, "48.00", "Zuni Café")],
        ("unmatched", None),
    ),
    (
        "the very amount wins over a tip-shaped one",
        charge("-57.60", "TST* ZUNI CAFE SAN FRANCISCO"),
        [receipt(1, "48.00", "Zuni Café"), receipt(2, "57.60", "Zuni Café")],
        ("matched", 2),
    ),
    (
        "two tip-shaped receipts of the restaurant: offered",
        charge("-57.60", "TST* ZUNI CAFE SAN FRANCISCO"),
        [receipt(1, "48.00", "Zuni Café"), receipt(2, "49.00", "Zuni Café")],
        ("suggested", 1),
    ),
    (
        "a hotel charged at check-out nine days on: linked",
        charge("-532.41", "MARRIOTT CHICAGO IL", date(2026, 11, 19)),
        [receipt(1, "532.41", "Marriott")],
        ("matched", 1),
    ),
    (
        "nine days on, another merchant: not linked",
        charge("-532.41", "HILTON CHICAGO IL", date(2026, 11, 19)),
        [receipt(1, "532.41", "Marriott")],
        ("missing_receipt", None),
    ),
    (
        "an acronym descriptor abroad",
        charge("-18.02", "TFL TRAVEL CH TFL.GOV.UK/CP"),
        [receipt(1, "14.04", "Transport for London", currency="GBP")],
        ("matched", 1),
    ),
    (
        "foreign receipt within the FX tolerance",
        charge("-110.40", "HOTEL LUTETIA PARIS"),
        [receipt(1, "100.00", "Hotel Lutetia", currency="EUR")],
        ("matched", 1),
    ),
    (
        "foreign amount printed on the statement",
        charge("-117.00", "HOTEL LUTETIA PARIS", original=("-100.00", "EUR")),
        [receipt(1, "100.00", "Hotel Lutetia", currency="EUR")],
        ("matched", 1),
    ),
    (
        "foreign receipt 12% off",
        charge("-123.20", "HOTEL LUTETIA PARIS"),
        [receipt(1, "100.00", "Hotel Lutetia", currency="EUR")],
        ("missing_receipt", None),
    ),
    (
        "foreign receipt without a rate: offered",
        charge("-5000.00", "ICHIRAN SHIBUYA TOKYO"),
        [receipt(1, "4800", "Ichiran Ramen", currency="THB")],
        ("suggested", 1),
    ),
    (
        "receipt whose currency was not read",
        charge("-12.50", "SQ *BLUE BOTTLE 0423 OAKLAND CA"),
        [
            cm.Receipt(
                id=1,
                employee="ana@x.test",
                merchant="Blue Bottle",
                spent_on=D,
                amount=Decimal("12.50"),
                currency=None,
            )
        ],
        ("matched", 1),
    ),
    (
        "too long after the receipt",
        charge("-12.50", "SQ *BLUE BOTTLE", date(2026, 11, 25)),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("unmatched", None),
    ),
    (
        "another employee's receipt",
        charge("-12.50", "SQ *BLUE BOTTLE"),
        [receipt(1, "12.50", "Blue Bottle Coffee", employee="bo@x.test")],
        ("unmatched", None),
    ),
    (
        "another card printed on the receipt",
        charge("-12.50", "SQ *BLUE BOTTLE"),
        [receipt(1, "12.50", "Blue Bottle Coffee", last4="9999")],
        ("unmatched", None),
    ),
    (
        "no receipt, above the receipt threshold",
        charge("-412.30", "DELTA AIR 0062345678901"),
        [],
        ("missing_receipt", None),
    ),
    ("no receipt, below the threshold", charge("-4.00", "PARKING METER"), [], ("unmatched", None)),
    (
        "no rate to tell whether a receipt is needed",
        charge("-90.00", "YAMATO", currency="JPY"),
        [],
        ("unmatched", None),
    ),
    (
        "two equal receipts: offered, not guessed",
        charge("-12.50", "SQ *BLUE BOTTLE"),
        [receipt(1, "12.50", "Blue Bottle Coffee"), receipt(2, "12.50", "Blue Bottle Coffee")],
        ("suggested", 1),
    ),
    (
        "the right merchant wins over the same amount elsewhere",
        charge("-30.00", "UBER *TRIP HELP.UBER.COM"),
        [receipt(1, "30.00", "Shell"), receipt(2, "30.00", "Uber")],
        ("matched", 2),
    ),
    (
        "refund of the whole receipt",
        charge("12.50", "SQ *BLUE BOTTLE OAKLAND", date(2026, 11, 20)),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("matched", 1),
    ),
    (
        "partial refund",
        charge("5.00", "SQ *BLUE BOTTLE OAKLAND", date(2026, 11, 20)),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("matched", 1),
    ),
    (
        "refund larger than anything bought",
        charge("50.00", "SQ *BLUE BOTTLE OAKLAND", date(2026, 11, 20)),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("unmatched", None),
    ),
    (
        "refund of an unknown merchant",
        charge("5.00", "AMAZON MKTPLACE"),
        [receipt(1, "12.50", "Blue Bottle Coffee")],
        ("unmatched", None),
    ),
]


@pytest.mark.parametrize(("name", "line", "receipts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_card_charge_decisions(
    name: str, line: cm.Line, receipts: list[cm.Receipt], expected: tuple[str, int | None]
) -> None:
    assert decide([line], receipts) == [expected]


def test_one_receipt_is_never_linked_to_two_charges() -> None:
    lines = [charge("-12.50", "SQ *BLUE BOTTLE", line_id=1), charge("-12.50", "SQ *BLUE BOTTLE", line_id=2)]
    decisions = decide(lines, [receipt(1, "12.50", "Blue Bottle Coffee")])
    assert [s for s, _ in decisions].count("matched") <= 1
    assert {s for s, _ in decisions} <= {"suggested", "unmatched", "matched"}


def test_two_charges_two_receipts_of_different_days_pair_up() -> None:
    lines = [
        charge("-9.00", "SQ *BLUE BOTTLE", date(2026, 11, 3), line_id=1),
        charge("-9.00", "SQ *BLUE BOTTLE", date(2026, 11, 10), line_id=2),
    ]
    receipts = [
        receipt(1, "9.00", "Blue Bottle", date(2026, 11, 3)),
        receipt(2, "9.00", "Blue Bottle", date(2026, 11, 10)),
    ]
    assert decide(lines, receipts) == [("matched", 1), ("matched", 2)]


def test_a_charge_taken_twice_links_the_first_and_reports_the_second_as_a_duplicate() -> None:
    lines = [
        charge("-32.19", "SHAKE SHACK 4201 CHICAGO IL", line_id=1),
        charge("-32.19", "SHAKE SHACK 4201 CHICAGO IL", line_id=2),
    ]
    decisions = cm.match_cards(
        lines, [receipt(1, "32.19", "Shake Shack")], rates=rates, receipt_required=needs_receipt
    )
    assert [(d.status, d.expense_id) for d in decisions] == [("matched", 1), ("unmatched", None)]
    assert "the same charge as line 1" in decisions[1].reason and "dispute" in decisions[1].reason


def test_two_equal_charges_of_other_days_are_not_duplicates() -> None:
    lines = [
        charge("-32.19", "SHAKE SHACK 4201 CHICAGO IL", line_id=1),
        charge("-32.19", "SHAKE SHACK 4201 CHICAGO IL", date(2026, 11, 11), line_id=2),
    ]
    decisions = decide(lines, [receipt(1, "32.19", "Shake Shack")])
    assert [s for s, _ in decisions].count("matched") == 0


def test_receipts_linked_before_are_not_offered_again() -> None:
    decisions = cm.match_cards(
        [charge("-12.50", "SQ *BLUE BOTTLE")],
        [receipt(1, "12.50", "Blue Bottle")],
        rates=rates,
        receipt_required=needs_receipt,
        taken={1},
    )
    assert decisions[0].status == "unmatched"


@pytest.mark.parametrize(
    ("descriptor", "merchant", "at_least"),
    [
        ("SQ *BLUE BOTTLE 0423 OAKLAND CA", "Blue Bottle Coffee", 0.8),
        ("TST* ZUNI CAFE SAN FRANCISCO", "Zuni Café", 0.8),
        ("AMZN MKTP US*2K4LL1", "Amazon", 0.0),
        ("UBER *TRIP HELP.UBER.COM", "Uber", 0.9),
        ("STARBUCKS STORE 10423 SEATTLE WA", "Starbucks", 0.9),
        ("TFL TRAVEL CH TFL.GOV.UK/CP", "Transport for London", 0.85),
        ("FEDEX OFFIC8690 AUSTIN TX", "FedEx Office", 0.9),
        ("DB VERTRIEB GMBH FRANKFURT", "Deutsche Bahn", 0.7),
    ],
)
def test_descriptor_similarity(descriptor: str, merchant: str, at_least: float) -> None:
    assert cm.merchant_similarity(descriptor, merchant) >= at_least
    assert cm.merchant_similarity(descriptor, "Completely Different Ltd") < 0.6


def transfer(
    line_id: int,
    amount: str,
    *,
    e2e: str | None = None,
    name: str | None = None,
    iban: str | None = None,
    text: str = "",
) -> cm.Line:
    return cm.Line(
        id=line_id,
        booked_on=D,
        amount=Decimal(amount),
        currency="EUR",
        description=text or (name or ""),
        counterparty=name,
        counterparty_iban=iban,
        end_to_end_id=e2e,
        is_bank=True,
    )


ITEMS = [
    cm.PayoutItem(
        batch_id=7,
        employee="ana@x.test",
        payee="Ana Lopez",
        amount=Decimal("62.49"),
        currency="EUR",
        iban="DE02120300000000202051",
        end_to_end_id="EB7-0001",
        expense_ids=(1, 2),
    ),
    cm.PayoutItem(
        batch_id=7,
        employee="bo@x.test",
        payee="Bo Berg",
        amount=Decimal("80.00"),
        currency="EUR",
        iban="DE02100500000054540402",
        end_to_end_id="EB7-0002",
        expense_ids=(3,),
    ),
    cm.PayoutItem(
        batch_id=8,
        employee="cy@x.test",
        payee="Cy Chen",
        amount=Decimal("80.00"),
        currency="EUR",
        iban=None,
        end_to_end_id=None,
        expense_ids=(4,),
    ),
]

PAYOUT_CASES = [
    ("end-to-end id and amount", transfer(1, "-62.49", e2e="EB7-0001"), ("reconciled", 7)),
    (
        "end-to-end id in the text only",
        transfer(1, "-62.49", text="SEPA EREF+EB7-0001 Ana Lopez"),
        ("reconciled", 7),
    ),
    ("end-to-end id, wrong amount", transfer(1, "-60.00", e2e="EB7-0001"), ("suggested", 7)),
    ("amount and IBAN", transfer(1, "-80.00", iban="DE02100500000054540402"), ("reconciled", 7)),
    ("amount and name", transfer(1, "-80.00", name="CY CHEN"), ("reconciled", 8)),
    ("amount only, two fit", transfer(1, "-80.00", name="Somebody"), ("suggested", 7)),
    ("nothing fits", transfer(1, "-13.00", name="Landlord"), ("unmatched", None)),
    ("money in", transfer(1, "80.00", name="Bo Berg"), ("unmatched", None)),
]


@pytest.mark.parametrize(("name", "line", "expected"), PAYOUT_CASES, ids=[c[0] for c in PAYOUT_CASES])
def test_payout_decisions(name: str, line: cm.Line, expected: tuple[str, int | None]) -> None:
    (d,) = cm.match_payouts([line], ITEMS)
    assert (d.status, d.batch_id) == expected


def test_a_whole_batch_in_one_debit() -> None:
    line = transfer(1, "-142.49", text="EXPENSEBOT-BATCH-7 SEPA batch")
    (d,) = cm.match_payouts([line], ITEMS, {7: (Decimal("142.49"), "EUR")})
    assert (d.status, d.batch_id, len(d.items)) == ("reconciled", 7, 2)


def test_a_transfer_is_reconciled_once() -> None:
    lines = [transfer(1, "-62.49", e2e="EB7-0001"), transfer(2, "-62.49", e2e="EB7-0001")]
    assert [d.status for d in cm.match_payouts(lines, ITEMS)] == ["reconciled", "unmatched"]
