"""The audit log: one append-only row per state change (actor, what, when, before, after)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.models import AuditEvent, Expense

_EXPENSE_FIELDS = (
    "status",
    "merchant",
    "spent_on",
    "amount",
    "currency",
    "approved_amount",
    "category",
    "customer_id",
    "note",
    "round",
    "current_step",
    "payout_batch_id",
    "distance",
    "reimburse_currency",
    "reimburse_amount",
    "fx_rate",
    "fx_rate_day",
    "fx_rate_source",
    "net_amount",
    "tax_amount",
    "tax_rate",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal values, amounts compared as numbers ("42" is "42.0000", as the database returns it)."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        try:
            return Decimal(a) == Decimal(b)
        except ArithmeticError:
            return False
    return False


def expense_snapshot(expense: Expense) -> dict[str, Any]:
    return {name: _plain(getattr(expense, name)) for name in _EXPENSE_FIELDS}


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> AuditEvent:
    if before is not None and after is not None:
        changed = {k for k in after if not _same(before.get(k), after.get(k))}
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    event = AuditEvent(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        detail=detail,
    )
    session.add(event)
    return event


def history(session: Session, entity: str, entity_id: int | str) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))


def allow_redaction(session: Session) -> None:
    """Let this transaction rewrite audit events: the privacy erasure's pseudonymisation only.

    On PostgreSQL the trail is append-only (a trigger, migration 0009); this lifts it for the
    caller's transaction alone (``SET LOCAL``). Nothing can delete events.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL expensebot.audit_redaction = 'on'"))
