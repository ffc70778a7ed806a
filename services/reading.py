"""A receipt is stored and its reading applied to the expense: merchant, date, total, tax, the
category guessed, the customer matched, possible duplicates flagged.

The Slack edge downloads the file and runs the reader (``bot.expenses``: the job, its lease and
its timing); this module does the database side, one transaction each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ocr.media import sniff_media_type
from ocr.model import KnownMerchant, ReceiptFacts
from ocr.phash import hamming, perceptual_hash
from storage import audit, outbox
from storage.blobs import BlobStore
from storage.customers import learned_aliases, recent_customers
from storage.db import transaction
from storage.deals import choose_deal
from storage.models import Customer, Expense, MerchantCorrection, ReceiptFile, utcnow
from storage.projects import offer_projects
from storage.receipts import content_of, place
from workflows.categories import guess_category
from workflows.duplicates import same_photo, same_photo_warning, same_total_warning
from workflows.expenses import Move, Status, transition
from workflows.matching import CustomerIndex, MatchResult
from workflows.money import Money, is_currency
from workflows.policy_anomalies import merchant_key
from workflows.tax import tax_facts

Factory = sessionmaker[Session]


@dataclass(frozen=True)
class ToRead:
    """What the reading job needs to know about an expense before it reads."""

    expense_id: int
    status: Status | None  # None: the expense no longer exists
    slack_file_id: str | None
    receipt_id: int | None
    employee_id: str


@dataclass(frozen=True)
class Applied:
    """The reading was applied (False: the expense was no longer waiting to be read)."""

    expense_id: int
    applied: bool
    warnings: tuple[str, ...] = ()


def to_read(factory: Factory, expense_id: int) -> ToRead:
    with factory() as session:
        expense = session.get(Expense, expense_id)
        if expense is None:
            return ToRead(expense_id, None, None, None, "")
        return ToRead(
            expense_id, Status(expense.status), expense.slack_file_id, expense.receipt_id, expense.employee_id
        )


def receipt_content(factory: Factory, store: BlobStore, receipt_id: int) -> bytes:
    with factory() as session:
        receipt = session.get(ReceiptFile, receipt_id)
        assert receipt is not None
        return content_of(receipt, store)


def store_receipt(
    factory: Factory, store: BlobStore, expense_id: int, content: bytes, name: str | None, user: str
) -> int:
    """Keep the receipt's file with the expense (once: a second call returns the first file's id)."""
    media_type = sniff_media_type(content)
    phash: str | None = None
    if media_type and media_type.startswith("image/"):
        try:
            phash = perceptual_hash(content)
        except Exception:  # a corrupt image has no hash; reading reports the problem
            phash = None
    # Into the receipt store first (idempotent, by SHA-256): a committed row always finds its file.
    stored, location = place(store, content, media_type)
    with transaction(factory) as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        if expense.receipt_id is not None:
            return expense.receipt_id
        receipt = ReceiptFile(
            sha256=hashlib.sha256(content).hexdigest(),
            content=stored,
            location=location,
            media_type=media_type,
            filename=name,
            size=len(content),
            slack_file_id=expense.slack_file_id,
            phash=phash,
            uploaded_by=user,
        )
        session.add(receipt)
        session.flush()
        expense.receipt_id = receipt.id
        audit.record(
            session,
            actor="system",
            action="receipt.stored",
            entity="expense",
            entity_id=expense_id,
            detail=f"sha256 {receipt.sha256}, {len(content)} bytes, {media_type or 'unknown type'}",
        )
        return receipt.id


def known_merchants(factory: Factory, limit: int = 2000) -> list[KnownMerchant]:
    """The merchants people corrected, newest first, by the receipt header they were read from."""
    with factory() as session:
        rows = session.execute(
            select(MerchantCorrection.header_text, MerchantCorrection.merchant)
            .order_by(MerchantCorrection.id.desc())
            .limit(limit)
        ).all()
    return [KnownMerchant(header_text=h, merchant=m) for h, m in rows]


def apply_reading(
    factory: Factory,
    expense_id: int,
    facts: ReceiptFacts | None,
    error: str | None,
    *,
    company_currency: str,
    categories: Collection[str],
    customers: CustomerIndex,
) -> Applied:
    """What was read (``facts``), or why nothing was (``error``), becomes the expense's draft.

    ``categories`` are the policy's; ``customers`` is the index the customer is matched in.
    """
    with transaction(factory) as session:
        expense = session.get(Expense, expense_id)
        if expense is None or expense.status != Status.READING:
            return Applied(expense_id, applied=False)
        if (expense.ocr or {}).get(
            "typed"
        ):  # typed into /expense with the receipt attached: what was typed stays
            _apply_typed_reading(session, expense, facts, error, company_currency)
        else:
            _apply_read(session, expense, facts, error, company_currency, categories, customers)
        outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:read")
        return Applied(expense_id, applied=True, warnings=tuple((expense.ocr or {}).get("warnings") or ()))


def _apply_read(
    session: Session,
    expense: Expense,
    facts: ReceiptFacts | None,
    error: str | None,
    company_currency: str,
    categories: Collection[str],
    customers: CustomerIndex,
) -> None:
    before = audit.expense_snapshot(expense)
    state: dict[str, Any] = {}
    if facts is not None:
        expense.merchant = facts.merchant
        expense.merchant_key = merchant_key(facts.merchant)
        expense.spent_on = facts.date
        expense.amount = facts.total
        expense.currency = facts.currency or company_currency.upper()
        state.update(_read_state(facts))
        _apply_tax_reading(expense, facts)
        guess = guess_category(facts.merchant, facts.text, expense.note or "")
    else:
        expense.ocr_error = error
        expense.currency = company_currency.upper()
        guess = guess_category(None, "", expense.note or "")
    expense.category = guess.category if guess.category in categories else "other"
    texts = [expense.note or "", facts.merchant or "" if facts else "", facts.text[:2000] if facts else ""]
    match = _match_customer(session, customers, texts, expense.employee_id)
    if match is not None:
        known = _customer_rows(
            session, [c.id for c in match.candidates] + ([match.customer.id] if match.customer else [])
        )
        if match.customer is not None and match.customer.id in known:
            # The best answer is linked; when the matcher is unsure the card asks to confirm it.
            expense.customer_id = match.customer.id
            expense.customer_score = float(match.score)
            expense.customer_reason = match.reason
        if not match.confident:
            state["customer_candidates"] = [
                {"id": c.id, "name": c.name, "score": round(float(c.score), 1)}
                for c in match.candidates
                if c.id in known
            ]
    session.flush()
    warning = duplicate_warning(session, expense)
    state["warnings"] = [warning] if warning else []
    expense.ocr = state
    choose_deal(session, expense)
    offer_projects(session, expense)  # the customer's open projects for the card's picker
    expense.ocr_attempts += 1
    expense.status = transition(expense.status, Move.READ).after
    audit.record(
        session,
        actor="system",
        action="expense.read",
        entity="expense",
        entity_id=expense.id,
        before=before,
        after=audit.expense_snapshot(expense),
        detail=error,
    )


def _read_state(facts: ReceiptFacts) -> dict[str, Any]:
    """What the card and later corrections need of the reading (kept in ``expense.ocr``)."""
    return {
        "confidence": {k: round(float(v), 3) for k, v in facts.confidence.items()},
        "header_text": facts.header_text,
        "read_as": {
            "merchant": facts.merchant,
            "total": str(facts.total) if facts.total is not None else None,
        },
    }


def _apply_typed_reading(
    session: Session, expense: Expense, facts: ReceiptFacts | None, error: str | None, company_currency: str
) -> None:
    """The receipt attached to a typed expense was read: it fills what was left empty, says when
    it reads another total than the one typed, and is checked for duplicates (totals and photos)."""
    before = audit.expense_snapshot(expense)
    state: dict[str, Any] = {"typed": True}
    notes: list[str] = []
    if facts is not None:
        expense.merchant = expense.merchant or facts.merchant
        expense.merchant_key = merchant_key(expense.merchant)
        expense.spent_on = expense.spent_on or facts.date
        read_currency = (facts.currency or expense.currency or company_currency).upper()
        if expense.amount is None and facts.total is not None:
            expense.amount, expense.currency = facts.total, read_currency
            _apply_tax_reading(expense, facts)
        elif (
            facts.total is not None
            and expense.amount is not None
            and expense.currency
            and (Money(facts.total, read_currency) != Money(expense.amount, expense.currency))
        ):
            notes.append(
                f"The attached receipt reads {Money(facts.total, read_currency)}; "
                f"the total typed is {Money(expense.amount, expense.currency)}."
            )
        state.update(_read_state(facts))
    elif error:
        notes.append(f"The attached receipt could not be read: {error}")
    session.flush()
    warning = duplicate_warning(session, expense)
    state["warnings"] = ([warning] if warning else []) + notes
    expense.ocr = state
    expense.ocr_attempts += 1
    expense.status = transition(expense.status, Move.READ).after
    audit.record(
        session,
        actor="system",
        action="expense.read",
        entity="expense",
        entity_id=expense.id,
        before=before,
        after=audit.expense_snapshot(expense),
        detail=error,
    )


def _apply_tax_reading(expense: Expense, facts: ReceiptFacts) -> None:
    """Keep the receipt's net, tax and rate as read (workflows.tax.tax_facts), and its item lines,
    when they are in the expense's currency (a typed total in another currency keeps none)."""
    currency = expense.currency
    read_currency = (facts.currency or currency or "").upper()
    if not is_currency(currency) or read_currency != currency:
        return
    found = tax_facts(facts.subtotal, facts.tax, facts.total, currency, facts.tax_rate)
    expense.net_amount, expense.tax_amount, expense.tax_rate = found.net, found.tax, found.rate
    expense.line_items = [{"text": text, "amount": str(amount)} for text, amount in facts.items] or None


def duplicate_warning(session: Session, expense: Expense) -> str | None:
    """The card's warning when the employee claimed this receipt before: another of their
    expenses has the same merchant, date and total, or its photo looks the same."""
    if expense.amount is None:
        return None
    stmt = select(Expense).where(
        Expense.employee_id == expense.employee_id,
        Expense.id != expense.id,
        Expense.status != Status.DISCARDED,
        Expense.amount == expense.amount,
        Expense.spent_on == expense.spent_on,
        Expense.merchant_key == expense.merchant_key,
    )
    other = session.scalars(stmt.order_by(Expense.id).limit(1)).first()
    if other is not None:
        return same_total_warning(other.id, started=other.created_at, submitted=other.submitted_at)
    if expense.receipt is not None and expense.receipt.phash:
        rows = session.execute(
            select(Expense.id, Expense.created_at, ReceiptFile.phash)
            .join(ReceiptFile, Expense.receipt_id == ReceiptFile.id)
            .where(
                Expense.employee_id == expense.employee_id,
                Expense.id != expense.id,
                Expense.status != Status.DISCARDED,
                ReceiptFile.phash.is_not(None),
            )
            .order_by(Expense.id.desc())
            .limit(500)
        ).all()
        for other_id, created, phash in rows:
            if phash and same_photo(hamming(phash, expense.receipt.phash)):
                return same_photo_warning(other_id, sent=created)
    return None


def _match_customer(
    session: Session, customers: CustomerIndex, texts: list[str], employee_id: str
) -> MatchResult | None:
    if len(customers) == 0:
        return None
    learned = learned_aliases(session)
    prior = recent_customers(session, employee_id)
    return customers.match(*[t for t in texts if t], limit=5, extra_aliases=learned or None, prior=prior)


def _customer_rows(session: Session, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(select(Customer.id).where(Customer.id.in_(ids))))


def unread_before(factory: Factory, older_than: dt.timedelta) -> list[int]:
    """Expenses still in reading that were created longer than ``older_than`` ago."""
    with factory() as session:
        return list(
            session.scalars(
                select(Expense.id).where(
                    Expense.status == Status.READING, Expense.created_at < utcnow() - older_than
                )
            )
        )


def still_reading(factory: Factory, expense_ids: Collection[int]) -> list[int]:
    """Those of ``expense_ids`` that are still in reading, in order."""
    if not expense_ids:
        return []
    with factory() as session:
        return list(
            session.scalars(
                select(Expense.id)
                .where(Expense.id.in_(list(expense_ids)), Expense.status == Status.READING)
                .order_by(Expense.id)
            )
        )
