"""The audit log: one append-only row per state change (actor, what, when, before, after)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, Expense

_EXPENSE_FIELDS = (
    "status", "merchant", "spent_on", "amount", "currency", "approved_amount", "category",
    "customer_id", "note", "round", "current_step", "payout_batch_id",
    "reimburse_currency", "reimburse_amount", "fx_rate", "fx_rate_day", "fx_rate_source",
)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    return value


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
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    event = AuditEvent(
        actor=actor, action=action, entity=entity, entity_id=str(entity_id), before=before, after=after,
        detail=detail,
    )  # fmt: skip
    session.add(event)
    return event


def history(session: Session, entity: str, entity_id: int | str) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))
