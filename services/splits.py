"""“Split”: one receipt shared out across categories, customers and projects.

The shares are checked by :func:`workflows.splits.split` (they add up to the cent); no parts
removes the split. The change is audited and the card is queued for an update (a ``card`` outbox
row). A split the employee may not make is answered with a :class:`SplitRefusal`, parts that do
not add up with :class:`PartsInvalid`, a category the policy lacks with :class:`UnknownCategory`;
the Slack edge words them (``bot.blocks.split``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit, outbox
from storage.db import retry_on_conflict, transaction
from storage.models import AuditEvent, Expense
from storage.splits import replace_parts, snapshot
from workflows.expenses import EDITABLE, Status
from workflows.money import Money
from workflows.splits import PartSpec, SplitError, SplitPart, split

Factory = sessionmaker[Session]


class SplitRefusalKind(StrEnum):
    GONE = "gone"  # the expense no longer exists
    NOT_OWNER = "not_owner"  # only ``owner`` may split it
    NOT_NOW = "not_now"  # its ``status`` no longer allows it
    NO_TOTAL = "no_total"  # there is no total (or currency) to split yet


@dataclass(frozen=True)
class SplitRefusal:
    kind: SplitRefusalKind
    expense_id: int
    owner: str | None = None
    status: Status | None = None


@dataclass(frozen=True)
class PartsInvalid:
    """The parts do not add up: ``message`` is :class:`workflows.splits.SplitError`'s text, which
    names the parts ("Part 2: ...") in the order they were given."""

    message: str


@dataclass(frozen=True)
class UnknownCategory:
    category: str


@dataclass(frozen=True)
class SplitSaved:
    expense_id: int
    parts: int  # 0: the split was removed


def split_refusal(expense: Expense | None, expense_id: int, user_id: str) -> SplitRefusal | None:
    """Why ``user_id`` may not split ``expense`` (None: they may)."""
    if expense is None:
        return SplitRefusal(SplitRefusalKind.GONE, expense_id)
    if expense.employee_id != user_id:
        return SplitRefusal(SplitRefusalKind.NOT_OWNER, expense_id, owner=expense.employee_id)
    if Status(expense.status) not in EDITABLE or expense.status == Status.READING:
        return SplitRefusal(SplitRefusalKind.NOT_NOW, expense_id, status=Status(expense.status))
    if expense.amount is None or not expense.currency:
        return SplitRefusal(SplitRefusalKind.NO_TOTAL, expense_id)
    return None


def save_split(
    db: Factory, categories: Collection[str], expense_id: int, user_id: str, specs: Sequence[PartSpec]
) -> SplitSaved | SplitRefusal | PartsInvalid | UnknownCategory:
    """``user_id`` splits ``expense_id`` into ``specs`` (none: the split is removed);
    ``categories``: the policy's."""
    return retry_on_conflict(_save_split, db, categories, expense_id, user_id, specs)


def _save_split(
    db: Factory, categories: Collection[str], expense_id: int, user_id: str, specs: Sequence[PartSpec]
) -> SplitSaved | SplitRefusal | PartsInvalid | UnknownCategory:
    with transaction(db) as session:
        expense = session.get(Expense, expense_id)
        refusal = split_refusal(expense, expense_id, user_id)
        if refusal is not None:
            return refusal
        assert expense is not None and expense.amount is not None and expense.currency
        total = Money(expense.amount, expense.currency)
        parts: list[SplitPart] = []
        if specs:
            try:
                parts = split(total, list(specs))
            except SplitError as exc:
                return PartsInvalid(str(exc))
        for part in parts:
            if part.category and part.category not in categories:
                return UnknownCategory(part.category)
        before = {"splits": snapshot(expense)}
        replace_parts(session, expense, parts)
        audit.record(
            session,
            actor=user_id,
            action="expense.split",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after={"splits": snapshot(expense)},
            detail=f"{len(parts)} parts" if parts else "split removed",
        )
        outbox.add(
            session,
            "card",
            {"expense_id": expense.id},
            dedup_key=f"card:{expense.id}:split:{split_count(session, expense.id)}",
        )
        return SplitSaved(expense.id, len(parts))


def split_count(session: Session, expense_id: int) -> int:
    """How often the split of ``expense_id`` changed (a number that grows with every change, for
    the card message's dedup key)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity == "expense",
                AuditEvent.entity_id == str(expense_id),
                AuditEvent.action == "expense.split",
            )
        )
        or 0
    )
