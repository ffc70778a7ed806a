"""``transactions match``: load statement lines, receipts and payout items, decide with
:mod:`workflows.card_matching`, and store the links (unless a dry run).

Side effects of a stored decision, each audited:

* a card charge **matched** to an approved expense marks it paid by company card (it is never
  put in a payout batch: :func:`card_paid_clause` keeps it out);
* a transfer **reconciled** with payout items marks their approved expenses paid and tells
  each employee once (the outbox DM ``paid:<batch>:<employee>``, the same one finance's "Mark
  paid" button sends, so nobody hears it twice); a batch whose expenses are all paid is paid.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, exists, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import audit, outbox
from storage.db import transaction
from storage.exports import load_batch
from storage.fx import looking_up_for, visible_to
from storage.models import (
    AuditEvent,
    Expense,
    FxRate,
    OutboxMessage,
    PayoutBatch,
    SlackUser,
    StatementAccount,
    StatementLine,
    utcnow,
)
from workflows import card_matching as cm
from workflows.directory import Directory, is_email, normalise_email
from workflows.expenses import Status, expense_ref
from workflows.exports import sepa_plan
from workflows.fx import MissingRate, convert
from workflows.money import Money, MoneyError, minor_units
from workflows.policy import Policy

MATCHER = "matcher"


@dataclass(frozen=True)
class MatchRow:
    """One statement line's outcome, as ``transactions match --json`` prints it."""

    line_id: int
    transaction_id: str
    account: str
    date: str
    amount: str
    currency: str
    description: str
    status: str
    expense: str | None
    batch: int | None
    score: float
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "account": self.account,
            "date": self.date,
            "amount": self.amount,
            "currency": self.currency,
            "description": self.description,
            "status": self.status,
            "expense": self.expense,
            "batch": self.batch,
            "score": self.score,
            "reason": self.reason,
        }


def card_paid_clause() -> ColumnElement[bool]:
    """True for an expense paid with a company card (a matched card charge): never reimbursed."""
    return exists().where(
        StatementLine.expense_id == Expense.id, StatementLine.status == cm.MATCHED, StatementLine.amount < 0
    )


@functools.lru_cache(maxsize=512)
def _exponent(currency: str) -> Decimal:
    try:
        return Decimal(1).scaleb(-minor_units(currency))
    except MoneyError:
        return Decimal("0.01")


def amount_text(amount: Decimal, currency: str) -> str:
    """The amount with its currency's decimals: ``-12.50``, ``-1500`` (JPY)."""
    return str(amount.quantize(_exponent(currency)))


def _rates(session: Session) -> Callable[[str, str, dt.date], Decimal | None]:
    """Every rate the workspace in scope sees, in memory; the newest on or before the day, at most
    7 days old, the workspace's own before the shared one (as ``storage.fx.rate_lookup``)."""
    table: dict[tuple[str, str], list[tuple[dt.date, Decimal]]] = defaultdict(list)
    own: dict[tuple[str, str], list[tuple[dt.date, Decimal]]] = defaultdict(list)
    stmt = select(FxRate.base, FxRate.quote, FxRate.day, FxRate.rate, FxRate.team_id).where(
        visible_to(looking_up_for(None))
    )
    for base, quote, day, rate, owner in session.execute(stmt):
        (table if owner is None else own)[(base, quote)].append((day, rate))
    for rows in [*table.values(), *own.values()]:
        rows.sort()
    cache: dict[tuple[str, str, dt.date], Decimal | None] = {}

    def lookup(base: str, quote: str, day: dt.date) -> Decimal | None:
        key = (base.upper(), quote.upper(), day)
        if key not in cache:
            found = None
            for rows in (own.get(key[:2], []), table.get(key[:2], [])):
                for when, rate in reversed(rows):
                    if when <= day:
                        found = rate if (day - when).days <= 7 else None
                        break
                if found is not None:
                    break
            cache[key] = found
        return cache[key]

    return lookup


def receipt_rule(policy: Policy, rates: Callable[[str, str, dt.date], Decimal | None]) -> cm.ReceiptRule:
    """Whether the policy requires a receipt for an amount (policy-wide threshold, company currency)."""

    def required(amount: Decimal, currency: str, day: dt.date) -> bool | None:
        try:
            converted = convert(Money(amount, currency), policy.company_currency, day, rates)
        except MissingRate:
            return None
        except MoneyError:
            return True
        return converted.amount > policy.receipt_required_above

    return required


def _payout_items(
    session: Session, directory: Directory
) -> tuple[list[cm.PayoutItem], dict[int, tuple[Decimal, str]]]:
    ibans = {p.email: p.iban for p in directory}
    items: list[cm.PayoutItem] = []
    totals: dict[int, tuple[Decimal, str]] = {}
    for batch_id in session.scalars(select(PayoutBatch.id).order_by(PayoutBatch.id)):
        _batch, data = load_batch(session, batch_id)
        if not data.lines:
            continue
        plan = sepa_plan(data, ibans)
        for transfer in plan.transfers:
            lines = [ln for ln in data.lines if ln.ref in transfer.refs]
            email = (lines[0].employee_email or lines[0].employee_id) if lines else transfer.employee_id
            items.append(
                cm.PayoutItem(
                    batch_id=batch_id,
                    employee=email,
                    payee=transfer.payee,
                    amount=transfer.amount,
                    currency="EUR",
                    iban=transfer.iban,
                    end_to_end_id=transfer.end_to_end_id,
                    expense_ids=tuple(ln.expense_id for ln in lines),
                )
            )
        if plan.transfers:
            totals[batch_id] = (plan.total, "EUR")
        rest: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for line, _why in plan.left_out:
            rest[(line.employee_email or line.employee_id, line.currency)].append(line)
        for (email, currency), lines in rest.items():
            items.append(
                cm.PayoutItem(
                    batch_id=batch_id,
                    employee=email,
                    payee=lines[0].payee,
                    amount=sum((ln.amount for ln in lines), Decimal(0)),
                    currency=currency,
                    iban=ibans.get(email),
                    expense_ids=tuple(ln.expense_id for ln in lines),
                )
            )
    return items, totals


def _receipts(session: Session) -> list[cm.Receipt]:
    rows = session.execute(
        select(
            Expense.id,
            Expense.employee_email,
            SlackUser.email,
            Expense.merchant,
            Expense.spent_on,
            Expense.amount,
            Expense.currency,
            Expense.ocr,
        )
        .outerjoin(SlackUser, SlackUser.user_id == Expense.employee_id)
        .where(Expense.status != Status.DISCARDED, Expense.amount.is_not(None))
    ).all()
    receipts = []
    for exp_id, email, slack_email, merchant, spent_on, amount, currency, ocr in rows:
        who = email or slack_email
        last4 = (ocr or {}).get("card_last4") if isinstance(ocr, dict) else None
        receipts.append(
            cm.Receipt(
                id=exp_id,
                employee=normalise_email(who) if who else None,
                merchant=merchant,
                spent_on=spent_on,
                amount=amount,
                currency=currency,
                card_last4=str(last4) if last4 else None,
            )
        )
    return receipts


_LINE_COLUMNS = (
    "id",
    "transaction_id",
    "account",
    "booked_on",
    "amount",
    "currency",
    "description",
    "card_last4",
    "counterparty",
    "counterparty_iban",
    "end_to_end_id",
    "original_amount",
    "original_currency",
    "status",
    "employee_email",
    "expense_id",
    "batch_id",
    "score",
    "reason",
    "decided_by",
    "not_these",
)


def _lines(session: Session, directory: Directory) -> list[tuple[Any, cm.Line]]:
    """Every stored line (its columns, read without ORM objects: 30,000 lines load in a blink)."""
    kinds = dict(session.execute(select(StatementAccount.name, StatementAccount.kind)).tuples().all())
    out = []
    columns = [getattr(StatementLine, name) for name in _LINE_COLUMNS]
    for row in session.execute(select(*columns).order_by(StatementLine.id)):
        holder = directory.card_holder(row.card_last4)
        employee = holder.email if holder else None
        if employee is None and is_email(row.account) and row.account in directory:
            employee = normalise_email(row.account)
        is_card = bool(row.card_last4) or kinds.get(row.account) == "card" or employee is not None
        is_bank = not is_card and (
            kinds.get(row.account) == "bank" or bool(row.counterparty_iban or row.end_to_end_id)
        )
        if row.status == cm.RECONCILED:
            employee = row.employee_email
        out.append(
            (
                row,
                cm.Line(
                    id=row.id,
                    booked_on=row.booked_on,
                    amount=Decimal(amount_text(row.amount, row.currency)),
                    currency=row.currency,
                    is_bank=is_bank,
                    description=row.description,
                    card_last4=row.card_last4,
                    employee=employee,
                    is_card=is_card,
                    original_amount=row.original_amount,
                    original_currency=row.original_currency,
                    counterparty=row.counterparty,
                    counterparty_iban=row.counterparty_iban,
                    end_to_end_id=row.end_to_end_id,
                    status=row.status,
                    expense_id=row.expense_id,
                    batch_id=row.batch_id,
                    decided_by=row.decided_by,
                    not_these=frozenset(row.not_these or ()),
                ),
            )
        )
    return out


def run_match(
    factory: sessionmaker[Session],
    directory: Directory,
    policy: Policy,
    *,
    dry_run: bool = False,
    actor: str = "cli",
    remind_after_days: int | None = None,
    weekly_digest: bool = False,
    today: dt.date | None = None,
) -> list[MatchRow]:
    """Decide every stored statement line; store the decisions unless ``dry_run``.

    ``remind_after_days``: a card holder is sent one DM for each charge still without its
    required receipt that many days after it was booked (None: no reminders). ``weekly_digest``:
    each card holder with charges missing a receipt gets one DM a week listing them all (the
    first run of each ISO week sends it).
    """
    with transaction(factory) as session:
        pairs = _lines(session, directory)
        rates = _rates(session)
        sticky = [line for _, line in pairs if line.sticky]
        taken = {line.expense_id for line in sticky if line.expense_id is not None and line.amount < 0}
        # A line of an account that does not say what it is (a CSV without card numbers) is tried
        # both ways: a payout transfer when one fits, else a card charge.
        card_lines = [line for _, line in pairs if not line.sticky and not line.is_bank]
        bank_lines = [line for _, line in pairs if not line.sticky and not line.is_card]
        decisions: dict[int, cm.Decision] = {}
        if card_lines:
            for card_d in cm.match_cards(
                card_lines,
                _receipts(session),
                rates=rates,
                receipt_required=receipt_rule(policy, rates),
                taken=taken,
            ):
                decisions[card_d.line_id] = card_d
        if bank_lines:
            items, totals = _payout_items(session, directory)
            done_batches = {
                line.batch_id for line in sticky if line.status == cm.RECONCILED and line.employee is None
            }
            done = {
                (line.batch_id, line.employee)
                for line in sticky
                if line.status == cm.RECONCILED and line.batch_id is not None and line.employee
            }
            items = [i for i in items if i.batch_id not in done_batches]
            totals = {
                b: t for b, t in totals.items() if b not in done_batches and not any(k[0] == b for k in done)
            }
            either = {line.id for line in bank_lines if not line.is_bank}
            for bank_d in cm.match_payouts(bank_lines, items, totals, done=done):  # type: ignore[arg-type]
                if bank_d.line_id not in either or bank_d.status in (cm.RECONCILED, cm.SUGGESTED):
                    decisions[bank_d.line_id] = bank_d
        rows = []
        now = utcnow()
        counts: dict[str, int] = defaultdict(int)
        changes: list[dict[str, Any]] = []
        settled: list[tuple[Any, cm.Decision]] = []
        offered: list[tuple[Any, cm.Decision]] = []
        missing: list[tuple[Any, cm.Line]] = []
        for row, line in pairs:
            d = decisions.get(line.id)
            if d is None:  # kept from before
                status, expense_id, batch_id = row.status, row.expense_id, row.batch_id
                score, reason = row.score or 0.0, row.reason or ""
            else:
                status, expense_id, batch_id, score, reason = (
                    d.status,
                    d.expense_id,
                    d.batch_id,
                    d.score,
                    d.reason,
                )
                if (status, expense_id, batch_id, reason) != (
                    row.status,
                    row.expense_id,
                    row.batch_id,
                    row.reason,
                ):
                    employee = d.items[0].employee if len(d.items) == 1 else None
                    if d.status != cm.RECONCILED:
                        employee = line.employee
                    changes.append(
                        {
                            "b_id": row.id,
                            "status": status,
                            "expense_id": expense_id,
                            "batch_id": batch_id,
                            "score": score,
                            "reason": reason,
                            "employee_email": employee,
                            "decided_by": MATCHER,
                            "decided_at": now,
                        }
                    )
                    if status in cm.FINAL:
                        settled.append((row, d))
                    elif (
                        status == cm.SUGGESTED
                        and d.expense_id is not None
                        and row.amount < 0
                        and line.is_card
                    ):
                        offered.append((row, d))
            counts[status] += 1
            if status == cm.MISSING_RECEIPT and line.employee:
                missing.append((row, line))
            rows.append(
                MatchRow(
                    line_id=row.id,
                    transaction_id=row.transaction_id,
                    account=row.account,
                    date=row.booked_on.isoformat(),
                    amount=amount_text(row.amount, row.currency),
                    currency=row.currency,
                    description=row.description,
                    status=status,
                    expense=expense_ref(expense_id) if expense_id is not None else None,
                    batch=batch_id,
                    score=round(float(score), 3),
                    reason=reason,
                )
            )
        if dry_run:
            session.rollback()
            return rows
        if changes:
            from sqlalchemy import bindparam

            stmt = (
                update(StatementLine)
                .where(StatementLine.id == bindparam("b_id"))
                .values(
                    status=bindparam("status"),
                    expense_id=bindparam("expense_id"),
                    batch_id=bindparam("batch_id"),
                    score=bindparam("score"),
                    reason=bindparam("reason"),
                    employee_email=bindparam("employee_email"),
                    decided_by=bindparam("decided_by"),
                    decided_at=bindparam("decided_at"),
                )
            )
            session.connection().execute(stmt, changes)
        _settle_all(session, settled, actor)
        _offer(session, [(row, d) for row, d in offered])
        if remind_after_days is not None:
            last_day = (today or dt.date.today()) - dt.timedelta(days=remind_after_days)
            _remind(session, [(row, line) for row, line in missing if row.booked_on <= last_day], policy)
        if weekly_digest:
            _weekly_digest(session, missing, today or dt.date.today())
        audit.record(
            session,
            actor=actor,
            action="statement.matched",
            entity="statement_lines",
            entity_id="all",
            after={"changed": len(changes), **counts},
            detail="transactions match",
        )
        return rows


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _settle_all(session: Session, settled: list[tuple[Any, cm.Decision]], actor: str) -> None:
    """Audit the new links and pay what they pay (see the module docstring), in bulk."""
    now = utcnow()
    events: list[dict[str, Any]] = []
    for row, d in settled:
        before, after = _changed(
            {"status": row.status, "expense_id": row.expense_id, "batch_id": row.batch_id},
            {"status": d.status, "expense_id": d.expense_id, "batch_id": d.batch_id},
        )
        events.append(
            {
                "at": now,
                "actor": actor,
                "action": f"statement_line.{d.status}",
                "entity": "statement_line",
                "entity_id": str(row.id),
                "before": before,
                "after": after,
                "detail": d.reason[:500],
            }
        )
    wanted = {
        d.expense_id for row, d in settled if d.status == cm.MATCHED and d.expense_id and row.amount < 0
    }
    wanted |= {
        e for _, d in settled if d.status == cm.RECONCILED for item in d.items for e in item.expense_ids
    }
    expenses: dict[int, _Payable] = {}
    ordered = sorted(i for i in wanted if i is not None)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start : start + 900]
        query = select(
            Expense.id,
            Expense.version,
            Expense.ocr,
            Expense.employee_id,
            Expense.currency,
            Expense.amount,
            Expense.approved_amount,
            Expense.payout_batch_id,
        )
        query = query.where(Expense.id.in_(chunk), Expense.status == Status.APPROVED)
        expenses.update({r.id: _Payable(*r) for r in session.execute(query)})
    paid: list[_Payable] = []
    told: list[tuple[int, list[_Payable]]] = []
    batches: set[int] = set()
    updates: list[dict[str, Any]] = []

    def pay(expense: _Payable, detail: str, action: str) -> None:
        state = dict(expense.ocr or {})
        state.pop("status_facts", None)  # the status line of an approval or payout: replaced
        state["status_detail"] = detail
        updates.append(
            {
                "b_id": expense.id,
                "b_version": expense.version,
                "new_version": expense.version + 1,
                "b_ocr": state,
            }
        )
        events.append(
            {
                "at": now,
                "actor": actor,
                "action": action,
                "entity": "expense",
                "entity_id": str(expense.id),
                "before": {"status": Status.APPROVED.value},
                "after": {"status": Status.PAID.value},
                "detail": detail,
            }
        )
        paid.append(expense)

    for row, d in settled:
        if d.status == cm.MATCHED and d.expense_id is not None and row.amount < 0:
            expense = expenses.pop(d.expense_id, None)
            if expense is not None and expense.payout_batch_id is None:
                pay(
                    expense,
                    f"Paid with the company card ({row.description}, {row.booked_on}).",
                    "expense.paid_by_card",
                )
        if d.status == cm.RECONCILED:
            for item in d.items:
                batches.add(item.batch_id)
                item_paid = []
                for expense_id in item.expense_ids:
                    expense = expenses.pop(expense_id, None)
                    if expense is not None:
                        pay(
                            expense,
                            f"Paid in batch #{item.batch_id} (bank statement {row.booked_on}).",
                            "expense.paid",
                        )
                        item_paid.append(expense)
                if item_paid:
                    told.append((item.batch_id, item_paid))
    if updates:
        from sqlalchemy import bindparam

        table = cast(Table, Expense.__table__)
        stmt = (
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.version == bindparam("b_version"),
                table.c.status == Status.APPROVED.value,
            )
            .values(
                status=Status.PAID.value,
                paid_at=now,
                updated_at=now,
                ocr=bindparam("b_ocr"),
                version=bindparam("new_version"),
            )
        )
        session.connection().execute(stmt, updates)
    if events:
        session.execute(insert(cast(Table, AuditEvent.__table__)), events)
    messages: list[tuple[str, dict[str, Any], str]] = [
        ("card", {"expense_id": e.id}, f"card:{e.id}:v{e.version + 1}") for e in paid
    ]
    for batch_id, items in told:
        total = amount_text(
            sum((e.approved_amount or e.amount or Decimal(0) for e in items), Decimal(0)),
            items[0].currency or "EUR",
        )
        refs = ", ".join(expense_ref(e.id) for e in items)
        text = f":moneybag: You have been paid {total} {items[0].currency} for {refs}."
        messages.append(
            ("dm", {"user_id": items[0].employee_id, "text": text}, f"paid:{batch_id}:{items[0].employee_id}")
        )
    _outbox_many(session, messages, now)
    for batch_id in sorted(batches):
        _close_batch(session, batch_id, actor)


@dataclass(frozen=True)
class _Payable:
    """What paying an approved expense needs to know of it."""

    id: int
    version: int
    ocr: dict[str, Any] | None
    employee_id: str
    currency: str | None
    amount: Decimal | None
    approved_amount: Decimal | None
    payout_batch_id: int | None


def _outbox_many(session: Session, messages: list[tuple[str, dict[str, Any], str]], now: dt.datetime) -> None:
    """Queue many outbox messages at once; a key already queued is left alone (as ``outbox.add``)."""
    if not messages:
        return
    rows = [
        {
            "dedup_key": key,
            "kind": kind,
            "payload": payload,
            "created_at": now,
            "not_before": now,
            "attempts": 0,
        }
        for kind, payload, key in messages
    ]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(cast(Table, OutboxMessage.__table__)).on_conflict_do_nothing(), rows)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(cast(Table, OutboxMessage.__table__)).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - other databases
        for kind, payload, key in messages:
            outbox.add(session, kind, payload, dedup_key=key)


def _close_batch(session: Session, batch_id: int, actor: str) -> None:
    unpaid = session.scalar(
        select(Expense.id).where(Expense.payout_batch_id == batch_id, Expense.status != Status.PAID).limit(1)
    )
    if unpaid is not None:
        return
    done = session.execute(
        update(PayoutBatch)
        .where(and_(PayoutBatch.id == batch_id, PayoutBatch.status == "open"))
        .values(status="paid", paid_at=utcnow(), paid_by="bank-statement")
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) == 1:
        audit.record(
            session,
            actor=actor,
            action="payout.batch_paid",
            entity="payout_batch",
            entity_id=batch_id,
            before={"status": "open"},
            after={"status": "paid"},
            detail="reconciled from a bank statement",
        )
        outbox.add(session, "digest", {"batch_id": batch_id}, dedup_key=f"digest:{batch_id}:paid")


# --- near matches offered in Slack ----------------------------------------------------------------

CONFIRM_ACTION = "txn_confirm"
REJECT_ACTION = "txn_reject"


def suggestion_blocks(
    line_id: int, expense_id: int, charge_text: str, receipt_text: str, reason: str
) -> list[dict[str, Any]]:
    """The message offering a near match in the receipt's thread: the differences, Confirm / Not this one."""
    value = f"{line_id}:{expense_id}"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f":credit_card: Is this card charge the one of {expense_ref(expense_id)}?\n*Charge:* {charge_text}\n"
                    f"*Receipt:* {receipt_text}\n*Why I am not sure:* {reason.removeprefix('near match: ')}"
                ),
            },
        },
        {
            "type": "actions",
            "block_id": f"txn:{value}",
            "elements": [
                {
                    "type": "button",
                    "action_id": CONFIRM_ACTION,
                    "style": "primary",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Confirm"},
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "value": value,
                    "text": {"type": "plain_text", "text": "Not this one"},
                },
            ],
        },
    ]


def _offer(session: Session, offered: list[tuple[Any, cm.Decision]]) -> None:
    """Queue, once per line and receipt, the near-match question in the receipt card's thread."""
    if not offered:
        return
    ids = sorted({d.expense_id for _, d in offered if d.expense_id is not None})
    expenses: dict[int, Any] = {}
    for start in range(0, len(ids), 900):
        query = select(
            Expense.id,
            Expense.employee_id,
            Expense.merchant,
            Expense.spent_on,
            Expense.amount,
            Expense.currency,
            Expense.card_channel,
            Expense.card_ts,
        )
        expenses.update(
            {r.id: r for r in session.execute(query.where(Expense.id.in_(ids[start : start + 900])))}
        )
    messages: list[tuple[str, dict[str, Any], str]] = []
    for row, d in offered:
        exp = expenses.get(d.expense_id or 0)
        if exp is None:
            continue
        charge_text = f"{row.description}, {row.booked_on.isoformat()}, {amount_text(-row.amount, row.currency)} {row.currency}"
        receipt_text = (
            f"{exp.merchant or 'unknown merchant'}, {exp.spent_on.isoformat() if exp.spent_on else 'no date'}, "
            f"{amount_text(exp.amount, exp.currency) if exp.amount is not None else '?'} {exp.currency or ''}"
        )
        blocks = suggestion_blocks(row.id, exp.id, charge_text, receipt_text, d.reason)
        text = f"Is the card charge {charge_text} the one of {expense_ref(exp.id)}?"
        key = f"txn_suggest:{row.id}:{exp.id}"
        if exp.card_channel and exp.card_ts:
            messages.append(
                (
                    "channel_message",
                    {"channel": exp.card_channel, "thread_ts": exp.card_ts, "text": text, "blocks": blocks},
                    key,
                )
            )
        else:
            messages.append(("dm", {"user_id": exp.employee_id, "text": text, "blocks": blocks}, key))
    _outbox_many(session, messages, utcnow())


def decide_suggestion(
    factory: sessionmaker[Session],
    line_id: int,
    expense_id: int,
    *,
    confirm: bool,
    user_id: str,
    may_decide_for_others: bool,
) -> tuple[bool, str]:
    """A person's answer to a near match: Confirm links it, Not this one never offers that receipt again.

    Only the receipt's owner (or finance) may answer. Returns (done, message for the person).
    """
    with transaction(factory) as session:
        line = session.get(StatementLine, line_id)
        expense = session.get(Expense, expense_id)
        if line is None or expense is None:
            return False, "This card charge or receipt is gone; nothing was changed."
        if expense.employee_id != user_id and not may_decide_for_others:
            return False, f"Only the owner of {expense_ref(expense_id)} (or finance) can answer this."
        if line.status != cm.SUGGESTED or line.expense_id != expense_id:
            now_text = f"{line.status}" + (f" to {expense_ref(line.expense_id)}" if line.expense_id else "")
            return False, f"This was already settled (the charge is {now_text}); nothing was changed."
        if confirm:
            decision = cm.Decision(
                line.id, cm.MATCHED, 1.0, f"confirmed by <@{user_id}>", expense_id=expense_id
            )
            _settle_all(session, [(line, decision)], user_id)
            line.status, line.score, line.reason = cm.MATCHED, 1.0, decision.reason
            line.decided_by, line.decided_at = user_id[:64], utcnow()
            return True, (
                f":white_check_mark: Linked: the card charge {line.description} of "
                f"{line.booked_on.isoformat()} is {expense_ref(expense_id)}'s."
            )
        audit.record(
            session,
            actor=user_id,
            action="statement_line.not_this_one",
            entity="statement_line",
            entity_id=line.id,
            before={"status": line.status, "expense_id": expense_id},
            after={"status": cm.UNMATCHED, "expense_id": None},
        )
        line.not_these = sorted({*(line.not_these or []), expense_id})
        line.status, line.expense_id, line.score = cm.UNMATCHED, None, 0.0
        line.reason = f"not {expense_ref(expense_id)}, said <@{user_id}>"
        line.decided_by, line.decided_at = user_id[:64], utcnow()
        return True, (
            f"Noted: {expense_ref(expense_id)} is not the receipt of the card charge "
            f"{line.description} of {line.booked_on.isoformat()}; I will not offer it again."
        )


NO_RECEIPT_ACTION = "txn_no_receipt"


def reminder_blocks(line_id: int, text: str) -> list[dict[str, Any]]:
    """The missing-receipt reminder: its text and a **No receipt…** button (a reason is asked)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"txn_missing:{line_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": NO_RECEIPT_ACTION,
                    "value": str(line_id),
                    "text": {"type": "plain_text", "text": "No receipt…"},
                },
            ],
        },
    ]


def _remind(session: Session, missing: list[tuple[Any, cm.Line]], policy: Policy) -> None:
    """One DM per card charge still without the receipt the policy requires (sent once)."""
    messages: list[tuple[str, dict[str, Any], str]] = []
    for row, line in missing:
        card = f" ending {row.card_last4}" if row.card_last4 else ""
        text = (
            f":receipt: Your company card{card} was charged {amount_text(-row.amount, row.currency)} {row.currency} "
            f"at {row.description} on {row.booked_on.isoformat()}, and I have no receipt for it. The expense "
            f"policy needs one above {policy.money(policy.receipt_required_above)}: send me a photo or PDF of it "
            "here and I will link it to the charge. No receipt at all? Say why with *No receipt…* "
            f"(allowed up to {policy.no_receipt_limit()})."
        )
        payload = {"email": line.employee, "text": text, "blocks": reminder_blocks(row.id, text)}
        messages.append(("dm", payload, f"missing_receipt:{row.id}"))
    _outbox_many(session, messages, utcnow())


@dataclass(frozen=True)
class NoReceiptOutcome:
    done: bool
    message: str


def _company_amount(session: Session, line: StatementLine, policy: Policy) -> Money | str:
    """The charge in the company currency, or why it cannot be converted."""
    charge = Money(-line.amount, line.currency)
    try:
        return convert(charge, policy.company_currency, line.booked_on, _rates(session))
    except MissingRate as exc:
        return f"I cannot tell whether the policy allows it without a receipt. {exc}"
    except MoneyError as exc:
        return f"I cannot read this charge's amount ({exc})."


def no_receipt_precheck(
    factory: sessionmaker[Session], line_id: int, *, email: str | None, privileged: bool, policy: Policy
) -> str | None:
    """Why ``email`` may not mark the charge "no receipt" whatever the reason, or None (asked first)."""
    with factory() as session:
        line = session.get(StatementLine, line_id)
        return _no_receipt_problem(
            session, line, "a reason given", email=email, privileged=privileged, policy=policy
        )


def _no_receipt_problem(
    session: Session,
    line: StatementLine | None,
    reason: str,
    *,
    email: str | None,
    privileged: bool,
    policy: Policy,
) -> str | None:
    if line is None or line.amount >= 0:
        return "This card charge is gone; nothing was changed."
    owner = line.employee_email
    if not privileged and (not email or owner is None or normalise_email(email) != owner):
        return "Only the card holder (or finance) can say this charge has no receipt."
    amount = _company_amount(session, line, policy)
    if isinstance(amount, str):
        return amount
    expense = expense_ref(line.expense_id) if line.expense_id is not None else None
    return cm.no_receipt_refusal(
        line.status, expense, reason, amount, None if privileged else policy.no_receipt_limit()
    )


def declare_no_receipt(
    factory: sessionmaker[Session],
    line_id: int,
    reason: str,
    *,
    actor: str,
    email: str | None,
    privileged: bool,
    policy: Policy,
    via: str | None = None,
) -> NoReceiptOutcome:
    """Mark a card charge as having no receipt, with the person's reason; the policy decides.

    The card holder may do it for a charge up to :meth:`Policy.no_receipt_limit` (in the company
    currency, at the day's rate); finance and admins (``privileged``) for any amount. The line
    becomes ``no_receipt`` (kept by later match runs, no more reminders), audited as
    ``statement_line.no_receipt`` with the reason.
    """
    reason = " ".join(reason.split())
    with transaction(factory) as session:
        line = session.get(StatementLine, line_id, with_for_update=True)
        problem = _no_receipt_problem(
            session, line, reason, email=email, privileged=privileged, policy=policy
        )
        if problem is not None or line is None:
            return NoReceiptOutcome(False, problem or "This card charge is gone; nothing was changed.")
        charge = f"{line.description} of {line.booked_on.isoformat()} ({amount_text(-line.amount, line.currency)} {line.currency})"
        before = {"status": line.status, "reason": line.reason}
        line.status, line.expense_id, line.score = cm.NO_RECEIPT, None, 0.0
        line.reason = f"no receipt: {reason}"
        line.decided_by, line.decided_at = actor[:64], utcnow()
        audit.record(
            session,
            actor=actor,
            action="statement_line.no_receipt",
            entity="statement_line",
            entity_id=line.id,
            before=before,
            after={"status": cm.NO_RECEIPT, "reason": reason, "card_holder": line.employee_email},
            detail=via,
        )
        return NoReceiptOutcome(
            True,
            f":memo: Noted: the card charge {charge} has no receipt ({reason}). "
            "Finance sees your reason; I will not ask for it again.",
        )


def find_line(session: Session, transaction_id: str, account: str | None = None) -> list[int]:
    """The ids of the stored lines with this transaction id (in ``account`` when given)."""
    query = select(StatementLine.id).where(StatementLine.transaction_id == transaction_id)
    if account is not None:
        query = query.where(StatementLine.account == account)
    return list(session.scalars(query.order_by(StatementLine.id)))


# --- App Home -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeLine:
    date: str
    description: str
    amount: str
    currency: str
    status: str
    expense: str | None


@dataclass(frozen=True)
class HomeSummary:
    """What the App Home shows of statements: my open card charges; finance's open items."""

    mine: tuple[HomeLine, ...]
    counts: dict[str, int]  # finance: lines per status (empty for others)
    unreconciled_batches: tuple[int, ...]  # finance: open payout batches no bank line reconciled


def home_summary(session: Session, email: str | None, *, finance: bool) -> HomeSummary:
    mine: list[HomeLine] = []
    if email:
        rows = session.execute(
            select(
                StatementLine.booked_on,
                StatementLine.description,
                StatementLine.amount,
                StatementLine.currency,
                StatementLine.status,
                StatementLine.expense_id,
            )
            .where(
                StatementLine.employee_email == normalise_email(email),
                StatementLine.status.in_((cm.MISSING_RECEIPT, cm.SUGGESTED)),
            )
            .order_by(StatementLine.booked_on.desc())
            .limit(20)
        ).all()
        mine = [
            HomeLine(
                day.isoformat(),
                text,
                amount_text(-amount, cur),
                cur,
                status,
                expense_ref(exp) if exp is not None else None,
            )
            for day, text, amount, cur, status, exp in rows
        ]
    counts: dict[str, int] = {}
    batches: tuple[int, ...] = ()
    if finance:
        counts = dict(
            session.execute(select(StatementLine.status, func.count()).group_by(StatementLine.status))
            .tuples()
            .all()
        )
        reconciled = select(StatementLine.batch_id).where(
            StatementLine.status == cm.RECONCILED, StatementLine.batch_id.is_not(None)
        )
        batches = tuple(
            session.scalars(
                select(PayoutBatch.id)
                .where(PayoutBatch.status == "open", PayoutBatch.id.not_in(reconciled))
                .order_by(PayoutBatch.id)
            )
        )
    return HomeSummary(tuple(mine), counts, batches)


def _weekly_digest(session: Session, missing: list[tuple[Any, cm.Line]], today: dt.date) -> None:
    """One DM per card holder and ISO week listing every charge still missing its receipt."""
    per_person: dict[str, list[Any]] = defaultdict(list)
    for row, line in missing:
        if line.employee:
            per_person[line.employee].append(row)
    year, week, _ = today.isocalendar()
    messages: list[tuple[str, dict[str, Any], str]] = []
    for email, rows in sorted(per_person.items()):
        rows.sort(key=lambda r: (r.booked_on, r.id))
        listed = "\n".join(
            f"• {r.booked_on.isoformat()} · {r.description} · "
            f"{amount_text(-r.amount, r.currency)} {r.currency}"
            for r in rows[:30]
        )
        more = f"\n…and {len(rows) - 30} more" if len(rows) > 30 else ""
        text = (
            f":receipt: This week's card charges still without a receipt ({len(rows)}):\n{listed}{more}\n"
            "Send me the photos here and I will link them."
        )
        messages.append(("dm", {"email": email, "text": text}, f"missing_digest:{email}:{year}-W{week:02d}"))
    _outbox_many(session, messages, utcnow())
