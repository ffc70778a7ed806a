"""Finance: payout batches (the digest), Mark paid, exports and the figures finance reads.

An expense is claimed for a batch by one conditional UPDATE (``payout_batch_id IS NULL``) and a
batch is marked paid by another (``status = 'open'``), so concurrent digests and clicks never
put an expense in two batches or pay a batch twice. The employees are told with ``notice`` rows
that carry the facts (amounts, references); ``bot/blocks/approvals.py`` words them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.approvals import with_status
from storage import audit, outbox
from storage.db import transaction
from storage.exports import Debtor, ExportFile, build_export, ibans_from_directory, record_export
from storage.models import Expense, PayoutBatch, utcnow
from storage.reconcile import card_paid_clause
from storage.reports import Report, ReportError, bar_chart_png, spend_report
from workflows.directory import Directory
from workflows.expenses import Move, Status, expense_ref, transition
from workflows.exports import ExportError, export_format

# Paid in the reimbursement currency at the rate kept at submission when the claim was converted
# (docs/currency.md), else in the claim's own currency.
CONVERTED = Expense.fx_rate.is_not(None) & Expense.reimburse_amount.is_not(None)
AMOUNT = case(
    (CONVERTED, Expense.reimburse_amount), else_=func.coalesce(Expense.approved_amount, Expense.amount, 0)
)
PAY_CURRENCY = case((CONVERTED, Expense.reimburse_currency), else_=func.coalesce(Expense.currency, "?"))
REFS_SHOWN = 10  # expense references listed per payee


@dataclass(frozen=True)
class PayeeTotal:
    """What one employee is owed in one currency."""

    employee_id: str
    currency: str
    amount: Decimal
    count: int
    refs: tuple[str, ...]  # the first REFS_SHOWN expense references


@dataclass(frozen=True)
class Summary:
    lines: tuple[PayeeTotal, ...]
    totals: dict[str, Decimal]
    counts: dict[str, int]
    oldest: tuple[int, str, dt.datetime] | None  # (expense id, employee, approved at)


def summary(session: Session, where: ColumnElement[bool]) -> Summary:
    """Who is owed what per currency, aggregated in SQL (a few rows per payee, whatever the size)."""
    currency = PAY_CURRENCY
    groups = session.execute(
        select(Expense.employee_id, currency, func.sum(AMOUNT), func.count())
        .where(where)
        .group_by(Expense.employee_id, currency)
        .order_by(Expense.employee_id, currency)
    ).all()
    ranked = (
        select(
            Expense.id,
            Expense.employee_id,
            currency.label("cur"),
            func.row_number()
            .over(partition_by=(Expense.employee_id, currency), order_by=Expense.id)
            .label("n"),
        )
        .where(where)
        .subquery()
    )
    refs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for exp_id, emp, cur in session.execute(
        select(ranked.c.id, ranked.c.employee_id, ranked.c.cur)
        .where(ranked.c.n <= REFS_SHOWN)
        .order_by(ranked.c.id)
    ):
        refs[(emp, cur)].append(expense_ref(exp_id))
    oldest_row = session.execute(
        select(Expense.id, Expense.employee_id, Expense.approved_at)
        .where(where, Expense.approved_at.is_not(None))
        .order_by(Expense.approved_at, Expense.id)
        .limit(1)
    ).first()
    lines = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for emp, cur, amount, count in groups:
        value = Decimal(str(amount))
        lines.append(
            PayeeTotal(
                employee_id=emp, currency=cur, amount=value, count=int(count), refs=tuple(refs[(emp, cur)])
            )
        )
        totals[cur] += value
        counts[cur] += int(count)
    oldest = (oldest_row[0], oldest_row[1], oldest_row[2]) if oldest_row and oldest_row[2] else None
    return Summary(tuple(lines), dict(totals), dict(counts), oldest)


def in_batch(batch_id: int) -> ColumnElement[bool]:
    return Expense.payout_batch_id == batch_id


def awaiting_clause() -> ColumnElement[bool]:
    """Approved, in no batch yet, and not paid with a company card (never reimbursed)."""
    return and_(Expense.status == Status.APPROVED, Expense.payout_batch_id.is_(None), ~card_paid_clause())


@dataclass(frozen=True)
class BatchState:
    """A payout batch as the digest shows it."""

    batch_id: int
    summary: Summary
    paid_by: str | None
    paid_at: dt.datetime | None
    messages: tuple[tuple[str, str], ...]  # (channel, ts) of its digest messages


def batch_state(db: sessionmaker[Session], batch_id: int) -> BatchState:
    """Raises LookupError when the batch is gone."""
    with db() as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            raise LookupError(f"payout batch {batch_id} is gone")
        return BatchState(
            batch.id,
            summary(session, in_batch(batch.id)),
            batch.paid_by,
            batch.paid_at,
            tuple((str(c), str(t)) for c, t in batch.messages or []),
        )


def save_digest_messages(db: sessionmaker[Session], batch_id: int, posted: list[tuple[str, str]]) -> None:
    """Where the batch's digest was posted (to update it in place later)."""
    with transaction(db) as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is not None:
            batch.messages = [[channel, ts] for channel, ts in posted]


def claim_batch(session: Session, actor: str) -> PayoutBatch | None:
    """Put every approved, unbatched expense in a new payout batch (in the caller's transaction).

    The expenses are claimed by one conditional UPDATE (``payout_batch_id IS NULL``), so an
    expense is never in two batches, however many digests run at once. Returns None (and
    writes nothing) when nothing waits.
    """
    batch = PayoutBatch(created_by=actor, totals={}, messages=[])
    session.add(batch)
    session.flush()
    claimed = session.execute(
        update(Expense)
        .where(awaiting_clause())
        .values(payout_batch_id=batch.id)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        session.rollback()
        return None
    totals = summary(session, in_batch(batch.id)).totals
    batch.totals = {c: str(a) for c, a in totals.items()}
    ids = list(session.scalars(select(Expense.id).where(in_batch(batch.id)).order_by(Expense.id)))
    audit.record(
        session,
        actor=actor,
        action="payout.batch_created",
        entity="payout_batch",
        entity_id=batch.id,
        after={"expenses": ids, "totals": batch.totals},
    )
    outbox.add(session, "digest", {"batch_id": batch.id}, dedup_key=f"digest:{batch.id}")
    outbox.add(session, "digest_files", {"batch_id": batch.id}, dedup_key=f"digest_files:{batch.id}")
    return batch


@dataclass(frozen=True)
class BatchResult:
    batch_id: int | None  # None: nothing waits, or a dry run
    summary: Summary  # what is (or would be) in the batch; empty when nothing waits


def create_batch(db: sessionmaker[Session], actor: str, *, dry_run: bool = False) -> BatchResult:
    """Put every approved, unbatched expense in a new payout batch and queue its digest (or, with
    ``dry_run``, only say what it would hold)."""
    with transaction(db) as session:
        if dry_run:
            return BatchResult(None, summary(session, awaiting_clause()))
        batch = claim_batch(session, actor)
        if batch is None:
            return BatchResult(None, Summary((), {}, {}, None))
        return BatchResult(batch.id, summary(session, in_batch(batch.id)))


class PaidRefusal(StrEnum):
    NOT_FINANCE = "not_finance"
    NO_BATCH = "no_batch"
    ALREADY_PAID = "already_paid"


@dataclass(frozen=True)
class MarkPaidResult:
    batch_id: int
    refused: PaidRefusal | None = None
    people: int = 0  # employees told they were paid
    paid_by: str | None = None  # ALREADY_PAID: who marked it, and when
    paid_at: dt.datetime | None = None


def may_pay(directory: Directory, email: str | None) -> bool:
    """Finance and admins mark batches paid and export them."""
    return bool(email) and (directory.is_finance(email or "") or directory.is_admin(email or ""))


def mark_paid(
    db: sessionmaker[Session], directory: Directory, batch_id: int, user_id: str, email: str | None
) -> MarkPaidResult:
    """Mark a batch paid (once), its expenses paid, and queue a notice to each employee."""
    if not may_pay(directory, email):
        return MarkPaidResult(batch_id, PaidRefusal.NOT_FINANCE)
    with transaction(db) as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            return MarkPaidResult(batch_id, PaidRefusal.NO_BATCH)
        now = utcnow()
        claimed = session.execute(
            update(PayoutBatch)
            .where(PayoutBatch.id == batch_id, PayoutBatch.status == "open")
            .values(status="paid", paid_at=now, paid_by=user_id)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            session.refresh(batch)
            return MarkPaidResult(
                batch_id, PaidRefusal.ALREADY_PAID, paid_by=batch.paid_by, paid_at=batch.paid_at
            )
        expenses = list(session.scalars(select(Expense).where(Expense.payout_batch_id == batch_id)))
        per_employee: dict[str, list[Expense]] = defaultdict(list)
        for exp in expenses:
            before = audit.expense_snapshot(exp)
            exp.status = transition(exp.status, Move.PAY, ref=expense_ref(exp.id)).after
            exp.paid_at = now
            exp.ocr = with_status(exp.ocr or {}, {"event": "paid", "batch": batch_id})
            audit.record(
                session,
                actor=user_id,
                action="expense.paid",
                entity="expense",
                entity_id=exp.id,
                before=before,
                after=audit.expense_snapshot(exp),
                detail=f"batch #{batch_id}",
            )
            per_employee[exp.employee_id].append(exp)
        session.flush()
        for exp in expenses:
            outbox.add(session, "card", {"expense_id": exp.id}, dedup_key=f"card:{exp.id}:v{exp.version}")
        for employee_id, items in per_employee.items():
            outbox.add(
                session,
                "notice",
                {
                    "user_id": employee_id,
                    "event": "paid",
                    "batch": batch_id,
                    "amounts": {c: str(a) for c, a in paid_amounts(items).items()},
                    "refs": [expense_ref(e.id) for e in items],
                },
                dedup_key=f"paid:{batch_id}:{employee_id}",
            )
        audit.record(
            session,
            actor=user_id,
            action="payout.batch_paid",
            entity="payout_batch",
            entity_id=batch_id,
            before={"status": "open"},
            after={"status": "paid"},
        )
        outbox.add(session, "digest", {"batch_id": batch_id}, dedup_key=f"digest:{batch_id}:paid")
        return MarkPaidResult(batch_id, people=len(per_employee))


def paid_amounts(items: list[Expense]) -> dict[str, Decimal]:
    """What the expenses pay per currency: the converted amount kept at submission, else the claim."""
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for exp in items:
        if exp.fx_rate is not None and exp.reimburse_currency and exp.reimburse_amount is not None:
            by_currency[exp.reimburse_currency] += exp.reimburse_amount
        else:
            by_currency[exp.currency or "?"] += exp.approved_amount or exp.amount or Decimal(0)
    return dict(by_currency)


def make_export(
    db: sessionmaker[Session],
    directory: Directory,
    debtor: Debtor | None,
    batch_id: int,
    fmt: str,
    actor: str,
) -> ExportFile:
    """Build, record and audit an export of ``batch_id`` (raises ExportError with a message).

    ``debtor``: the account payment orders (SEPA) are paid from, when one is configured.
    """
    pays = export_format(fmt).pays
    if pays and debtor is None:
        raise ExportError(
            "SEPA files need the paying account: set EXPENSEBOT_SEPA_NAME and EXPENSEBOT_SEPA_IBAN "
            "(and EXPENSEBOT_SEPA_BIC) for the app."
        )
    ibans = ibans_from_directory(directory) if pays else None
    with transaction(db) as session:
        result = build_export(session, batch_id, fmt, ibans=ibans, debtor=debtor if pays else None)
        record_export(session, result, actor)
        return result


@dataclass(frozen=True)
class PeriodChart:
    """The period's spend chart, or why there is none; worded for people by the caller (the bot,
    in the company's language)."""

    png: bytes | None  # None: nothing to chart, or no rates (``problem`` says which)
    start: dt.date
    end: dt.date
    currency: str
    problem: str | None = None  # why the spend could not be reported (a missing exchange rate)

    @property
    def caption(self) -> str:
        """In English (logs, the CLI)."""
        if self.problem is not None:
            return f"No spend chart for {self.start} to {self.end}: {self.problem}"
        if self.png is None:
            return f"No approved spend between {self.start} and {self.end} to chart."
        return f"Approved spend {self.start} to {self.end} by category and customer ({self.currency})."


def period_chart(db: sessionmaker[Session], batch_id: int, currency: str) -> PeriodChart:
    """The period's spend by category and by customer as a PNG, with a caption.

    The period runs from the previous batch (or 30 days before) to this batch's creation day,
    in ``currency`` (the company's). Without the exchange rates it needs, the caption says why.
    """
    with db() as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            raise LookupError(f"payout batch {batch_id} is gone")
        end = batch.created_at.date()
        previous = session.scalar(select(func.max(PayoutBatch.created_at)).where(PayoutBatch.id < batch_id))
        start = previous.date() if previous else end - dt.timedelta(days=30)
        try:
            by_category = spend_report(session, "category", start, end, currency)
            by_customer = spend_report(session, "customer", start, end, currency, top_merchants=0)
        except ReportError as exc:
            return PeriodChart(None, start, end, currency, problem=str(exc))
    if not by_category.rows:
        return PeriodChart(None, start, end, currency)
    png = bar_chart_png(
        [
            (f"By category ({currency})", [(r.key, r.total) for r in by_category.rows[:12]]),
            (f"By customer, top 12 ({currency})", [(r.key, r.total) for r in by_customer.rows[:12]]),
        ],
        title=f"Approved spend {start} to {end}: {by_category.money(by_category.total)}",
    )
    return PeriodChart(png, start, end, currency)


@dataclass(frozen=True)
class FinanceOverview:
    """The App Home's finance figures: what waits for payout, the open batches, this month's spend."""

    waiting: Summary
    open_batches: tuple[int, ...]
    month: Report | None
    spend_error: str | None  # why there is no month report (a missing exchange rate)


def finance_overview(db: sessionmaker[Session], currency: str, today: dt.date) -> FinanceOverview:
    with db() as session:
        waiting = summary(session, awaiting_clause())
        open_ids = tuple(
            session.scalars(
                select(PayoutBatch.id).where(PayoutBatch.status == "open").order_by(PayoutBatch.id)
            )
        )
        try:
            month = spend_report(session, "category", today.replace(day=1), today, currency, top_merchants=0)
            return FinanceOverview(waiting, open_ids, month, None)
        except ReportError as exc:
            return FinanceOverview(waiting, open_ids, None, str(exc))
