"""Storing a receipt and applying its reading, as use cases on a real database (the reader itself
is not run: its answer is given as ReceiptFacts)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from ocr import ReceiptFacts
from services import expenses as service
from services import reading
from services.expenses import SharedReceipt
from storage.blobs import DatabaseStore
from storage.customers import build_index
from storage.db import transaction
from storage.models import Expense, MerchantCorrection
from tests.finance.conftest import add_customer
from tests.services.records import actions, cards
from tests.support import render_receipt
from workflows.expense_edits import Edit
from workflows.expenses import Status
from workflows.matching import CustomerIndex, CustomerRecord

Factory = sessionmaker[Session]
DAY = dt.date(2026, 11, 2)
CATEGORIES = ("meals", "travel", "other")
RECEIPT = ["BLUE BOTTLE CAFE", "12 Market Street", "TOTAL USD 42.50"]


def started(db: Factory, file_id: str = "F1", note: str = "") -> int:
    shared = SharedReceipt(
        user_id="U_EMP", channel_id="D1", slack_file_id=file_id, thread_ts=None, note=note, source="dm"
    )
    return service.start_from_file(db, shared).expense_id


def facts(total: str | None = "42.50", currency: str | None = "USD") -> ReceiptFacts:
    return ReceiptFacts(
        merchant="Blue Bottle Cafe",
        date=DAY,
        total=Decimal(total) if total else None,
        currency=currency,
        confidence={"total": 0.91234},
        text="flat white coffee",
        header_text="BLUE BOTTLE CAFE",
    )


def apply(
    db: Factory,
    expense_id: int,
    read: ReceiptFacts | None,
    error: str | None = None,
    customers: CustomerIndex | None = None,
) -> reading.Applied:
    return reading.apply_reading(
        db,
        expense_id,
        read,
        error,
        company_currency="eur",
        categories=CATEGORIES,
        customers=customers or CustomerIndex(),
    )


def test_a_reading_fills_the_draft_and_queues_its_card(db: Factory) -> None:
    expense_id = started(db)
    assert apply(db, expense_id, facts()) == reading.Applied(expense_id, applied=True, warnings=())
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.status, expense.merchant, expense.merchant_key) == (
            Status.DRAFT,
            "Blue Bottle Cafe",
            "BLUE BOTTLE CAFE",
        )
        assert (expense.spent_on, expense.amount, expense.currency) == (DAY, Decimal("42.50"), "USD")
        assert expense.category == "meals"  # guessed from the merchant, and one of the policy's
        assert expense.ocr is not None and expense.ocr["confidence"] == {"total": 0.912}
        assert expense.ocr["read_as"] == {"merchant": "Blue Bottle Cafe", "total": "42.50"}
        assert expense.ocr_attempts == 1
    assert actions(db, expense_id) == [("U_EMP", "expense.created"), ("system", "expense.read")]
    assert cards(db, expense_id) == [f"card:{expense_id}:read"]
    # a second answer (a retried job) finds the expense read already and changes nothing
    assert apply(db, expense_id, facts("1.00")).applied is False
    assert cards(db, expense_id) == [f"card:{expense_id}:read"]


def test_an_unreadable_receipt_leaves_a_draft_that_says_why(db: Factory) -> None:
    expense_id = started(db, note="taxi to the airport")
    apply(db, expense_id, None, "The photo is too blurry to read.")
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.status, expense.amount, expense.currency) == (Status.DRAFT, None, "EUR")
        assert expense.ocr_error == "The photo is too blurry to read."
        assert expense.category == "travel"  # from the note


def test_a_guessed_category_the_policy_lacks_is_other(db: Factory) -> None:
    expense_id = started(db, note="hotel for the conference")
    apply(db, expense_id, None, "unreadable")
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None and expense.category == "other"


def test_a_typed_expense_keeps_what_was_typed_and_says_when_the_receipt_differs(db: Factory) -> None:
    typed = Edit(
        merchant="Coffee with Acme",
        spent_on=None,
        amount_text="40.00",
        currency="USD",
        category="meals",
        customer_id=None,
        customer_cleared=False,
        note=None,
    )
    expense_id = service.create_typed(db, "U_EMP", typed, "command", with_file=True)
    applied = apply(db, expense_id, facts("42.50"))
    assert applied.warnings == ("The attached receipt reads 42.50 USD; the total typed is 40.00 USD.",)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.merchant, expense.amount, expense.spent_on) == (
            "Coffee with Acme",
            Decimal("40.00"),
            DAY,
        )
        assert expense.status == Status.DRAFT and expense.ocr is not None and expense.ocr["typed"] is True


def test_the_customer_named_in_the_note_is_linked(db: Factory) -> None:
    with transaction(db) as session:
        acme = add_customer(session, "Acme Corporation", "C-100")
    index = build_index([CustomerRecord(id=acme, name="Acme Corporation")])
    expense_id = started(db, note="lunch with Acme Corporation")
    apply(db, expense_id, facts(), customers=index)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None and expense.customer_id == acme and expense.customer_reason


def test_a_receipt_is_stored_once_and_read_back(db: Factory) -> None:
    expense_id = started(db)
    content = render_receipt(RECEIPT)
    store = DatabaseStore()
    receipt_id = reading.store_receipt(db, store, expense_id, content, "receipt.jpg", "U_EMP")
    assert reading.store_receipt(db, store, expense_id, b"other bytes", "again.jpg", "U_EMP") == receipt_id
    assert reading.receipt_content(db, store, receipt_id) == content
    assert reading.to_read(db, expense_id) == reading.ToRead(
        expense_id, Status.READING, "F1", receipt_id, "U_EMP"
    )
    assert reading.to_read(db, 999).status is None
    assert actions(db, expense_id)[-1] == ("system", "receipt.stored")


def test_the_same_photo_sent_again_is_flagged(db: Factory) -> None:
    store = DatabaseStore()
    first = started(db, "F1")
    reading.store_receipt(db, store, first, render_receipt(RECEIPT), "a.jpg", "U_EMP")
    apply(db, first, None, "unreadable")
    second = started(db, "F2")
    image = Image.open(io.BytesIO(render_receipt(RECEIPT)))
    again = io.BytesIO()
    image.save(again, format="JPEG", quality=70)  # other bytes, the same picture
    reading.store_receipt(db, store, second, again.getvalue(), "b.jpg", "U_EMP")
    # a total keeps the check from stopping early; the other claim has none, so only the photo matches
    applied = apply(db, second, facts())
    assert len(applied.warnings) == 1
    assert applied.warnings[0].startswith(f"This photo looks like the receipt of EXP-{first} (sent on ")


def test_known_merchants_are_the_corrections_newest_first(db: Factory) -> None:
    with transaction(db) as session:
        session.add(
            MerchantCorrection(header_text="BLU BOTTL", read_as="BLU", merchant="Blue Bottle", created_by="U")
        )
        session.add(
            MerchantCorrection(header_text="STARBUX", read_as=None, merchant="Starbucks", created_by="U")
        )
    assert [(m.header_text, m.merchant) for m in reading.known_merchants(db)] == [
        ("STARBUX", "Starbucks"),
        ("BLU BOTTL", "Blue Bottle"),
    ]


def test_unread_expenses_are_found_by_age_and_checked_again(db: Factory) -> None:
    old, read = started(db, "F1"), started(db, "F2")
    with transaction(db) as session:
        for expense_id in (old, read):
            row = session.get(Expense, expense_id)
            assert row is not None
            row.created_at = row.created_at - dt.timedelta(hours=2)
    fresh = started(db, "F3")
    apply(db, read, None, "unreadable")
    assert reading.unread_before(db, dt.timedelta(hours=1)) == [old]
    assert reading.still_reading(db, [old, read, fresh]) == [old, fresh]
    assert reading.still_reading(db, []) == []
