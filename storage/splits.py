"""Storing the parts of a split receipt (see workflows.splits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import Expense, ExpenseSplit
from workflows.money import Money
from workflows.splits import SplitPart


def snapshot(expense: Expense) -> list[dict[str, Any]]:
    """The parts as plain values, for the audit log."""
    return [
        {"amount": str(s.amount), "category": s.category, "customer_id": s.customer_id, "project": s.project}
        for s in expense.splits
    ]


def replace_parts(session: Session, expense: Expense, parts: Sequence[SplitPart]) -> None:
    """The expense's parts become ``parts`` (none: the receipt is not split)."""
    session.execute(delete(ExpenseSplit).where(ExpenseSplit.expense_id == expense.id))
    for position, part in enumerate(parts):
        session.add(
            ExpenseSplit(
                expense_id=expense.id,
                position=position,
                amount=part.amount.amount,
                category=part.category,
                customer_id=int(part.customer) if part.customer else None,
                project=part.project,
            )
        )
    session.flush()
    session.expire(expense, ["splits"])


def parts_of(expense: Expense) -> list[SplitPart]:
    if not expense.splits or not expense.currency:
        return []
    return [
        SplitPart(
            amount=Money(s.amount, expense.currency),
            category=s.category,
            customer=str(s.customer_id) if s.customer_id is not None else None,
            project=s.project,
        )
        for s in expense.splits
    ]
