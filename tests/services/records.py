"""What a use case left behind: its audit events and its card messages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEvent, OutboxMessage


def actions(db: sessionmaker[Session], expense_id: int) -> list[tuple[str, str]]:
    """(actor, action) of the expense's audit events, oldest first."""
    with db() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "expense", AuditEvent.entity_id == str(expense_id))
            .order_by(AuditEvent.id)
        )
        return [(row.actor, row.action) for row in rows]


def cards(db: sessionmaker[Session], expense_id: int) -> list[str]:
    """The dedup keys of the card messages waiting in the outbox for the expense."""
    with db() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "card").order_by(OutboxMessage.id)
        )
        return [row.dedup_key for row in rows if row.payload.get("expense_id") == expense_id]
