"""Finance: payout batches (the digest), Mark paid, and the employees told they were paid."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import identity
from bot.blocks.common import format_money
from bot.blocks.digest import DigestView, PayeeLine
from bot.context import AppContext
from bot.delivery import deliver_pending
from storage import audit, outbox
from storage.db import transaction
from storage.models import Expense, PayoutBatch, utcnow
from workflows.expenses import Move, Status, expense_ref, transition

log = logging.getLogger(__name__)


def _lines(expenses: list[Expense]) -> tuple[tuple[PayeeLine, ...], dict[str, Decimal]]:
    owed: dict[tuple[str, str], list[Expense]] = defaultdict(list)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for exp in expenses:
        currency = exp.currency or "?"
        owed[(exp.employee_id, currency)].append(exp)
        totals[currency] += exp.approved_amount or exp.amount or Decimal(0)
    lines = tuple(
        PayeeLine(employee_id=emp, currency=cur, amount=sum(((e.approved_amount or e.amount or Decimal(0)) for e in items), Decimal(0)),
                  count=len(items), refs=tuple(expense_ref(e.id) for e in items))
        for (emp, cur), items in sorted(owed.items())
    )  # fmt: skip
    return lines, dict(totals)


def digest_view(session: Session, batch: PayoutBatch) -> DigestView:
    expenses = list(
        session.scalars(select(Expense).where(Expense.payout_batch_id == batch.id).order_by(Expense.id))
    )
    lines, totals = _lines(expenses)
    oldest = min((e.approved_at for e in expenses if e.approved_at), default=None)
    return DigestView(batch_id=batch.id, lines=lines, totals=totals, oldest_approved=oldest,
                      paid_by=batch.paid_by, paid_at=batch.paid_at)  # fmt: skip


@dataclass(frozen=True)
class DigestResult:
    batch_id: int | None
    text: str  # a plain-text rendering for the CLI


def _awaiting(session: Session) -> list[Expense]:
    stmt = select(Expense).where(Expense.status == Status.APPROVED, Expense.payout_batch_id.is_(None))
    return list(session.scalars(stmt.order_by(Expense.employee_id, Expense.id)))


def render_text(lines: tuple[PayeeLine, ...], totals: dict[str, Decimal], title: str) -> str:
    out = [title]
    for line in lines:
        out.append(
            f"  {line.employee_id:<12} {format_money(line.amount, line.currency):>18}  ({', '.join(line.refs)})"
        )
    out.append("  totals: " + (", ".join(format_money(a, c) for c, a in sorted(totals.items())) or "nothing"))
    return "\n".join(out)


def claim_batch(session: Session, actor: str) -> PayoutBatch | None:
    """Put every approved, unbatched expense in a new payout batch (in the caller's transaction).

    Each expense is claimed with a conditional UPDATE (``payout_batch_id IS NULL``), so an
    expense is never in two batches, however many digests run at once. Returns None when
    nothing waits or another batch claimed some of the expenses first (then nothing is written).
    """
    expenses = _awaiting(session)
    if not expenses:
        return None
    _, totals = _lines(expenses)
    batch = PayoutBatch(created_by=actor, totals={c: str(a) for c, a in totals.items()}, messages=[])
    session.add(batch)
    session.flush()
    claimed = session.execute(
        update(Expense)
        .where(Expense.id.in_([e.id for e in expenses]), Expense.payout_batch_id.is_(None))
        .values(payout_batch_id=batch.id)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != len(expenses):  # another digest ran at the same moment
        session.rollback()
        return None
    audit.record(session, actor=actor, action="payout.batch_created", entity="payout_batch", entity_id=batch.id,
                 after={"expenses": [e.id for e in expenses], "totals": batch.totals})  # fmt: skip
    outbox.add(session, "digest", {"batch_id": batch.id}, dedup_key=f"digest:{batch.id}")
    return batch


def create_batch(ctx: AppContext, actor: str, *, dry_run: bool = False) -> DigestResult:
    """Put every approved, unbatched expense in a new payout batch and queue the digest."""
    with transaction(ctx.db) as session:
        expenses = _awaiting(session)
        lines, totals = _lines(expenses)
        if not expenses:
            return DigestResult(None, "Nothing is waiting for payout.")
        if dry_run:
            session.rollback()
            return DigestResult(
                None, render_text(lines, totals, f"Would create a payout batch of {len(expenses)} expenses:")
            )
        batch = claim_batch(session, actor)
        if batch is None:
            return DigestResult(None, "Another digest is being prepared right now; nothing was done.")
        return DigestResult(batch.id, render_text(lines, totals, f"Payout batch #{batch.id}:"))


async def post_digest(ctx: AppContext, actor: str = "schedule", *, dry_run: bool = False) -> DigestResult:
    result = await asyncio.to_thread(create_batch, ctx, actor, dry_run=dry_run)
    if result.batch_id is not None:
        await deliver_pending(ctx)
    return result


def _mark_paid(ctx: AppContext, batch_id: int, user_id: str, email: str | None) -> str:
    directory = ctx.directory
    if not email or not (directory.is_finance(email) or directory.is_admin(email)):
        return "Only finance can mark payouts as paid."
    with transaction(ctx.db) as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            return f"Payout batch #{batch_id} does not exist."
        now = utcnow()
        claimed = session.execute(
            update(PayoutBatch)
            .where(PayoutBatch.id == batch_id, PayoutBatch.status == "open")
            .values(status="paid", paid_at=now, paid_by=user_id)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            session.refresh(batch)
            when = f" on {batch.paid_at:%d %b at %H:%M} UTC" if batch.paid_at else ""
            return (
                f"Batch #{batch_id} was already marked paid by <@{batch.paid_by}>{when}; nothing was changed."
            )
        expenses = list(session.scalars(select(Expense).where(Expense.payout_batch_id == batch_id)))
        per_employee: dict[str, list[Expense]] = defaultdict(list)
        for exp in expenses:
            before = audit.expense_snapshot(exp)
            exp.status = transition(exp.status, Move.PAY, ref=expense_ref(exp.id)).after
            exp.paid_at = now
            state = dict(exp.ocr or {})
            state["status_detail"] = f"Paid in batch #{batch_id}."
            exp.ocr = state
            audit.record(session, actor=user_id, action="expense.paid", entity="expense", entity_id=exp.id,
                         before=before, after=audit.expense_snapshot(exp), detail=f"batch #{batch_id}")  # fmt: skip
            per_employee[exp.employee_id].append(exp)
        session.flush()
        for exp in expenses:
            outbox.add(session, "card", {"expense_id": exp.id}, dedup_key=f"card:{exp.id}:v{exp.version}")
        for employee_id, items in per_employee.items():
            by_currency: dict[str, Decimal] = defaultdict(Decimal)
            for exp in items:
                by_currency[exp.currency or "?"] += exp.approved_amount or exp.amount or Decimal(0)
            total = " and ".join(format_money(a, c) for c, a in sorted(by_currency.items()))
            refs = ", ".join(expense_ref(e.id) for e in items)
            outbox.add(session, "dm", {"user_id": employee_id,
                                       "text": f":moneybag: You have been paid {total} for {refs}."},
                       dedup_key=f"paid:{batch_id}:{employee_id}")  # fmt: skip
        audit.record(session, actor=user_id, action="payout.batch_paid", entity="payout_batch", entity_id=batch_id,
                     before={"status": "open"}, after={"status": "paid"})  # fmt: skip
        outbox.add(session, "digest", {"batch_id": batch_id}, dedup_key=f"digest:{batch_id}:paid")
        return f"Batch #{batch_id} is marked paid; {len(per_employee)} people were told."


async def mark_paid(ctx: AppContext, batch_id: int, user_id: str) -> str:
    email = await identity.email_of(ctx, user_id)
    message = await asyncio.to_thread(_mark_paid, ctx, batch_id, user_id, email)
    await deliver_pending(ctx)
    return message


def open_batches(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).select_from(PayoutBatch).where(PayoutBatch.status == "open")) or 0
    )


def due_slot(now: dt.datetime, cron: str, tz_name: str) -> str | None:
    """The schedule slot that has come due in the last minute (``None`` when none has)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    local = now.astimezone(ZoneInfo(tz_name))
    prev = croniter(cron, local).get_prev(dt.datetime)
    if (local - prev).total_seconds() < 60:
        return str(prev.isoformat())
    return None
