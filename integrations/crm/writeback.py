"""Log an approved expense on its customer's CRM record, exactly once.

HubSpot gets a note associated with the company (and the expense's deal and project), Salesforce a
completed Task whose ``WhatId`` is the account (or opportunity); both carry the amount, currency,
merchant, date and a receipt reference (and the deal's and project's names).

Exactly once: a ``crm_writebacks`` row (unique per expense and CRM) records the outcome. Each
attempt first claims the row by bumping ``attempts`` with a compare-and-set, so two workers
never call the CRM for the same expense at once. Every entry carries a marker
(``EXP00000042``); when an earlier attempt may have reached the CRM before failing, the
marker is looked up first and the entry is not created twice. Failures stay ``pending`` with
the error, and are retried until ``max_attempts``, then ``failed``. While a worker is calling
the CRM the row is ``sending``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from integrations.crm.base import CrmConnector, CrmError, ExpenseEntry
from storage.db import transaction
from storage.models import CrmWriteback, Customer, Expense, ReceiptFile

MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=10)
SENDING_SINCE = "sending since "
LOGGABLE_STATUSES = frozenset({"approved", "paid"})


@dataclass(frozen=True)
class WritebackResult:
    expense_id: int
    source: str | None
    status: str  # done | pending | failed | skipped
    remote_id: str | None = None
    message: str = ""


def marker(expense_id: int) -> str:
    return f"EXP{expense_id:08d}"


def _entry(expense: Expense, receipt: ReceiptFile | None) -> ExpenseEntry:
    mark = marker(expense.id)
    amount = f"{expense.approved_amount or expense.amount} {expense.currency or ''}".strip()
    merchant = expense.merchant or "expense"
    if receipt is not None:
        receipt_ref = f"receipt #{receipt.id} ({receipt.filename or 'file'}, sha256 {receipt.sha256[:12]})"
    elif expense.slack_file_id:
        receipt_ref = f"Slack file {expense.slack_file_id}"
    else:
        receipt_ref = None
    lines = [
        f"Amount: {amount}",
        f"Merchant: {merchant}",
        f"Date: {expense.spent_on.isoformat() if expense.spent_on else 'unknown'}",
    ]
    if expense.category:
        lines.append(f"Category: {expense.category}")
    if expense.employee_email:
        lines.append(f"Employee: {expense.employee_email}")
    if expense.note:
        lines.append(f"Note: {expense.note}")
    lines.append(f"Receipt: {receipt_ref or 'none'}")
    lines.append(f"Reference: {mark}")
    return ExpenseEntry(
        expense_id=expense.id,
        marker=mark,
        subject=f"Expense {amount} at {merchant} [{mark}]",
        body="\n".join(lines),
        amount=expense.approved_amount or expense.amount,
        currency=expense.currency,
        spent_on=expense.spent_on,
        receipt_ref=receipt_ref,
        occurred_at=expense.approved_at or dt.datetime.now(dt.UTC),
    )


def _by_source(connectors: Mapping[str, CrmConnector] | Iterable[CrmConnector]) -> dict[str, CrmConnector]:
    if isinstance(connectors, Mapping):
        return dict(connectors)
    return {c.source: c for c in connectors}


def writeback_expense(
    factory: sessionmaker[Session],
    expense_id: int,
    connectors: Mapping[str, CrmConnector] | Iterable[CrmConnector],
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> WritebackResult:
    """Log one approved expense on its customer in the customer's CRM (once, whatever happens)."""
    by_source = _by_source(connectors)
    with factory() as session:
        expense = session.get(Expense, expense_id)
        if expense is None:
            return WritebackResult(expense_id, None, "skipped", message="no such expense")
        customer = session.get(Customer, expense.customer_id) if expense.customer_id else None
        if customer is None:
            return WritebackResult(expense_id, None, "skipped", message="no customer on this expense")
        source = customer.source
        if expense.status not in LOGGABLE_STATUSES:
            return WritebackResult(expense_id, source, "skipped", message=f"expense is {expense.status}")
        connector = by_source.get(source)
        if connector is None:
            return WritebackResult(
                expense_id, source, "skipped", message=f"no {source} connection for this customer"
            )
        receipt = session.get(ReceiptFile, expense.receipt_id) if expense.receipt_id else None
        entry = _entry(expense, receipt)
        deal = expense.deal
        if deal is not None and deal.source == source and not deal.archived:
            entry = dataclasses.replace(entry, deal_id=deal.external_id)
            entry = dataclasses.replace(
                entry, body=entry.body.replace("\nReference:", f"\nDeal: {deal.name}\nReference:")
            )
        link = expense.project_link
        project = link.crm_project if link is not None else None
        if project is not None and project.source == source and not project.archived:
            entry = dataclasses.replace(entry, project_id=project.external_id)
            entry = dataclasses.replace(
                entry, body=entry.body.replace("\nReference:", f"\nProject: {project.name}\nReference:")
            )
        company_id = customer.external_id

    row = _claim(factory, expense_id, source, max_attempts)
    if isinstance(row, WritebackResult):
        return row
    row_id, earlier_attempts = row
    try:
        remote_id = connector.find_entry(company_id, entry) if earlier_attempts else None
        if remote_id is None:
            remote_id = connector.log_entry(company_id, entry)
        associate = getattr(connector, "associate_project", None)
        if entry.project_id and associate is not None:
            associate(remote_id, entry.project_id)  # repeated on a retry: harmless
    except (CrmError, httpx.HTTPError) as exc:
        message = str(exc) or type(exc).__name__
        status = "failed" if earlier_attempts + 1 >= max_attempts else "pending"
        with transaction(factory) as session:
            session.execute(
                update(CrmWriteback)
                .where(CrmWriteback.id == row_id)
                .values(status=status, last_error=message)
            )
        return WritebackResult(expense_id, source, status, message=message)
    with transaction(factory) as session:
        session.execute(
            update(CrmWriteback)
            .where(CrmWriteback.id == row_id)
            .values(status="done", remote_id=remote_id, last_error=None)
        )
    return WritebackResult(expense_id, source, "done", remote_id=remote_id)


def _lease_expired(row: CrmWriteback, now: dt.datetime) -> bool:
    """A ``sending`` row whose worker stopped without recording the outcome."""
    text = (row.last_error or "").removeprefix(SENDING_SINCE)
    try:
        since = dt.datetime.fromisoformat(text)
    except ValueError:
        return True
    return now - since > LEASE


def _claim(
    factory: sessionmaker[Session], expense_id: int, source: str, max_attempts: int
) -> tuple[int, int] | WritebackResult:
    """Own the next attempt: returns (row id, attempts before this one) or why not to try.

    The row goes to ``sending`` (with the time in ``last_error``) for as long as the CRM call
    runs; a second worker backs off, unless that lease is older than :data:`LEASE`.
    """
    now = dt.datetime.now(dt.UTC)
    lease = {"status": "sending", "last_error": SENDING_SINCE + now.isoformat()}
    for _ in range(3):
        with transaction(factory) as session:
            row = session.scalar(
                select(CrmWriteback).where(
                    CrmWriteback.expense_id == expense_id, CrmWriteback.source == source
                )
            )
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(CrmWriteback(expense_id=expense_id, source=source, attempts=1, **lease))
                except IntegrityError:
                    continue  # created by someone else meanwhile: read it again
                created = session.scalar(
                    select(CrmWriteback.id).where(
                        CrmWriteback.expense_id == expense_id, CrmWriteback.source == source
                    )
                )
                assert created is not None
                return created, 0
            if row.status == "done":
                return WritebackResult(
                    expense_id, source, "done", remote_id=row.remote_id, message="already logged"
                )
            if row.status == "failed" or row.attempts >= max_attempts:
                return WritebackResult(expense_id, source, "failed", message=row.last_error or "gave up")
            if row.status == "sending" and not _lease_expired(row, now):
                return WritebackResult(
                    expense_id, source, "pending", message="being logged by another worker"
                )
            row_id, attempts, status = row.id, row.attempts, row.status
            claimed = session.execute(
                update(CrmWriteback)
                .where(
                    CrmWriteback.id == row_id,
                    CrmWriteback.attempts == attempts,
                    CrmWriteback.status == status,
                )
                .values(attempts=attempts + 1, **lease)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) == 1:
                return row_id, attempts
        return WritebackResult(expense_id, source, "pending", message="being logged by another worker")
    return WritebackResult(expense_id, source, "pending", message="could not claim the write-back")


def retry_pending(
    factory: sessionmaker[Session],
    connectors: Mapping[str, CrmConnector] | Iterable[CrmConnector],
    *,
    limit: int = 100,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[WritebackResult]:
    """Try again every write-back still pending (run periodically)."""
    by_source = _by_source(connectors)
    with factory() as session:
        pending = session.scalars(
            select(CrmWriteback.expense_id)
            .where(CrmWriteback.status.in_(["pending", "sending"]), CrmWriteback.source.in_(list(by_source)))
            .order_by(CrmWriteback.id)
            .limit(limit)
        ).all()
    return [
        writeback_expense(factory, expense_id, by_source, max_attempts=max_attempts) for expense_id in pending
    ]
